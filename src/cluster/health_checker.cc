#include "cluster/health_checker.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace voxgate::cluster {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

Status HealthCheckConfig::Validate() const {
  if (interval_ms < 10 || interval_ms > 3600000) {
    return InvalidArgumentError("health.interval_ms must be in [10, 3600000]");
  }
  if (timeout_ms < 1 || timeout_ms > 600000) {
    return InvalidArgumentError("health.timeout_ms must be in [1, 600000]");
  }
  if (path.empty() || path[0] != '/') return InvalidArgumentError("health.path must start with /");
  if (failures_to_eject < 1) return InvalidArgumentError("health.failures_to_eject must be >= 1");
  if (errors_to_eject < 1) return InvalidArgumentError("health.errors_to_eject must be >= 1");
  if (successes_to_readmit < 1) {
    return InvalidArgumentError("health.successes_to_readmit must be >= 1");
  }
  return Status::Ok();
}

std::string HealthCheckConfig::ToString() const {
  return fmt::format(
      "HealthCheckConfig{{interval_ms={}, timeout_ms={}, path={}, failures_to_eject={}, "
      "errors_to_eject={}, successes_to_readmit={}}}",
      interval_ms, timeout_ms, path, failures_to_eject, errors_to_eject, successes_to_readmit);
}

Status HealthCheckConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("interval_ms", &interval_ms));
  VOXGATE_RETURN_IF_ERROR(node.Get("timeout_ms", &timeout_ms));
  VOXGATE_RETURN_IF_ERROR(node.Get("path", &path));
  VOXGATE_RETURN_IF_ERROR(node.Get("failures_to_eject", &failures_to_eject));
  VOXGATE_RETURN_IF_ERROR(node.Get("errors_to_eject", &errors_to_eject));
  VOXGATE_RETURN_IF_ERROR(node.Get("successes_to_readmit", &successes_to_readmit));
  return Status::Ok();
}

namespace {

// One GET on a fresh connection; true for a 2xx within the timeout.
asio::awaitable<bool> Probe(std::string host, int port, std::string path, int timeout_ms) {
  auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream stream(executor);
  beast::error_code ec;
  stream.expires_after(std::chrono::milliseconds(timeout_ms));
  tcp::resolver resolver(executor);
  auto endpoints = co_await resolver.async_resolve(host, std::to_string(port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  http::request<http::empty_body> req(http::verb::get, path, 11);
  req.set(http::field::host, fmt::format("{}:{}", host, port));
  req.set(http::field::user_agent, "voxgate-gateway-health");
  req.keep_alive(false);
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  const unsigned status = parser.get().result_int();
  co_return status >= 200 && status < 300;
}

}  // namespace

struct HealthChecker::Runner {
  asio::io_context io{1};
  std::thread thread;
};

HealthChecker::HealthChecker(HealthCheckConfig config, std::shared_ptr<LoadBalancer> balancer,
                             std::shared_ptr<metrics::Registry> registry)
    : config_(std::move(config)), balancer_(std::move(balancer)), registry_(std::move(registry)) {
  if (registry_) {  // both reasons exist at 0 from the start, so rates and alerts see a series
    auto& ejections = registry_->CounterFamily("voxgate_gateway_ejections_total",
                                               "Nodes taken out of rotation", {"reason"});
    for (const char* reason : {"health_check", "requests"}) ejections.WithLabels({reason});
  }
}

HealthChecker::~HealthChecker() { Stop(); }

Status HealthChecker::Start() {
  VOXGATE_RETURN_IF_ERROR(config_.Validate());
  if (runner_) return InvalidArgumentError("health checker already started");
  runner_ = std::make_unique<Runner>();
  asio::co_spawn(
      runner_->io,
      [this]() -> asio::awaitable<void> {
        auto executor = co_await asio::this_coro::executor;
        asio::steady_timer timer(executor);
        while (true) {
          for (const NodeInfo& node : balancer_->Snapshot()) {
            {
              std::lock_guard lock(mu_);
              Counts& c = counts_[node.node_id];
              if (c.in_flight) continue;  // the previous check of this node is still running
              c.in_flight = true;
            }
            asio::co_spawn(
                executor,
                [this, node]() -> asio::awaitable<void> {
                  const bool ok =
                      co_await Probe(node.host, node.port, config_.path, config_.timeout_ms);
                  OnCheck(node.node_id, ok);
                },
                asio::detached);
          }
          timer.expires_after(std::chrono::milliseconds(config_.interval_ms));
          beast::error_code ec;
          co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (ec) co_return;
        }
      },
      asio::detached);
  runner_->thread = std::thread([r = runner_.get()] { r->io.run(); });
  return Status::Ok();
}

void HealthChecker::Stop() {
  if (!runner_) return;
  runner_->io.stop();
  if (runner_->thread.joinable()) runner_->thread.join();
  runner_.reset();
}

void HealthChecker::OnCheck(const std::string& node_id, bool ok) {
  bool eject = false, readmit = false;
  {
    std::lock_guard lock(mu_);
    Counts& c = counts_[node_id];
    c.in_flight = false;
    if (ok) {
      c.failures = 0;
      ++c.successes;
    } else {
      c.successes = 0;
      ++c.failures;
    }
    // Decide against the balancer's current view (passive ejections happen elsewhere).
    const auto nodes = balancer_->Snapshot();
    bool healthy = true, known = false;
    for (const auto& n : nodes) {
      if (n.node_id == node_id) {
        healthy = n.is_healthy;
        known = true;
      }
    }
    if (!known) {
      counts_.erase(node_id);
    } else if (healthy && !ok && c.failures >= config_.failures_to_eject) {
      eject = true;
    } else if (!healthy && ok && c.successes >= config_.successes_to_readmit) {
      readmit = true;
      c.passive_errors = 0;
    }
  }
  checks_done_.fetch_add(1);
  const int64_t now_ms = UnixNowMs();
  if (registry_) {
    registry_
        ->CounterFamily("voxgate_gateway_health_checks_total", "Active health checks by result",
                        {"result"})
        .WithLabels({ok ? "ok" : "failed"})
        .Increment();
  }
  if (eject) {
    balancer_->SetHealthy(node_id, false, now_ms);
    spdlog::warn("node {} ejected: {} failed health checks", node_id, config_.failures_to_eject);
    if (registry_) {
      registry_
          ->CounterFamily("voxgate_gateway_ejections_total", "Nodes taken out of rotation",
                          {"reason"})
          .WithLabels({"health_check"})
          .Increment();
    }
  } else if (readmit) {
    balancer_->SetHealthy(node_id, true, now_ms);
    spdlog::info("node {} re-admitted after {} good health checks", node_id,
                 config_.successes_to_readmit);
  } else {
    balancer_->RecordCheck(node_id, now_ms);
  }
}

void HealthChecker::ReportResult(std::string_view node_id, bool ok) {
  bool eject = false;
  {
    std::lock_guard lock(mu_);
    auto it = counts_.find(node_id);
    if (it == counts_.end()) it = counts_.emplace(std::string(node_id), Counts{}).first;
    Counts& c = it->second;
    if (ok) {
      c.passive_errors = 0;
      return;
    }
    c.successes = 0;
    if (++c.passive_errors >= config_.errors_to_eject) {
      eject = true;
      c.passive_errors = 0;
    }
  }
  if (!eject) return;
  // Only a node still in rotation counts as an ejection.
  for (const auto& n : balancer_->Snapshot()) {
    if (n.node_id != node_id || !n.is_healthy) continue;
    balancer_->SetHealthy(node_id, false);
    spdlog::warn("node {} ejected: {} failed requests in a row", node_id, config_.errors_to_eject);
    if (registry_) {
      registry_
          ->CounterFamily("voxgate_gateway_ejections_total", "Nodes taken out of rotation",
                          {"reason"})
          .WithLabels({"requests"})
          .Increment();
    }
  }
}

}  // namespace voxgate::cluster
