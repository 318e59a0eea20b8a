#include "cluster/gateway_proxy.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "metrics/histogram.h"

namespace voxgate::cluster {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// ---- config ------------------------------------------------------------------------------------

Status GatewayConfig::Validate() const {
  if (host.empty()) return InvalidArgumentError("gateway.host must not be empty");
  if (port < 0 || port > 65535) return InvalidArgumentError("gateway.port must be in [0, 65535]");
  if (io_threads < 1 || io_threads > 256) {
    return InvalidArgumentError("gateway.io_threads must be in [1, 256]");
  }
  VOXGATE_RETURN_IF_ERROR(ParseStrategy(strategy).status());
  if (max_body_bytes < 0) return InvalidArgumentError("gateway.max_body_bytes must be >= 0");
  if (max_response_bytes < 1) {
    return InvalidArgumentError("gateway.max_response_bytes must be >= 1");
  }
  if (client_timeout_s < 1) return InvalidArgumentError("gateway.client_timeout_s must be >= 1");
  if (connect_timeout_ms < 1) {
    return InvalidArgumentError("gateway.connect_timeout_ms must be >= 1");
  }
  if (request_timeout_ms < 1) {
    return InvalidArgumentError("gateway.request_timeout_ms must be >= 1");
  }
  if (max_attempts < 1 || max_attempts > 16) {
    return InvalidArgumentError("gateway.max_attempts must be in [1, 16]");
  }
  if (max_idle_per_node < 0) return InvalidArgumentError("gateway.max_idle_per_node must be >= 0");
  if (idle_timeout_ms < 1) return InvalidArgumentError("gateway.idle_timeout_ms must be >= 1");
  if (refresh_interval_ms < 10) {
    return InvalidArgumentError("gateway.refresh_interval_ms must be >= 10");
  }
  return health.Validate().WithContext("gateway");
}

std::string GatewayConfig::ToString() const {
  return fmt::format(
      "GatewayConfig{{host={}, port={}, io_threads={}, strategy={}, max_body_bytes={}, "
      "max_response_bytes={}, client_timeout_s={}, connect_timeout_ms={}, request_timeout_ms={}, "
      "max_attempts={}, max_idle_per_node={}, idle_timeout_ms={}, refresh_interval_ms={}, "
      "health={}}}",
      host, port, io_threads, strategy, max_body_bytes, max_response_bytes, client_timeout_s,
      connect_timeout_ms, request_timeout_ms, max_attempts, max_idle_per_node, idle_timeout_ms,
      refresh_interval_ms, health.ToString());
}

Status GatewayConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("host", &host));
  VOXGATE_RETURN_IF_ERROR(node.Get("port", &port));
  VOXGATE_RETURN_IF_ERROR(node.Get("io_threads", &io_threads));
  VOXGATE_RETURN_IF_ERROR(node.Get("strategy", &strategy));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_body_bytes", &max_body_bytes));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_response_bytes", &max_response_bytes));
  VOXGATE_RETURN_IF_ERROR(node.Get("client_timeout_s", &client_timeout_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("connect_timeout_ms", &connect_timeout_ms));
  VOXGATE_RETURN_IF_ERROR(node.Get("request_timeout_ms", &request_timeout_ms));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_attempts", &max_attempts));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_idle_per_node", &max_idle_per_node));
  VOXGATE_RETURN_IF_ERROR(node.Get("idle_timeout_ms", &idle_timeout_ms));
  VOXGATE_RETURN_IF_ERROR(node.Get("refresh_interval_ms", &refresh_interval_ms));
  return health.Load(node.Child("health"));
}

// Beast reads at most the free space of its buffer, and a parser moving the body out keeps that
// small: without room reserved, a 70 KB answer took some 140 reads of 512 bytes.
constexpr size_t kReadChunk = 64 * 1024;

bool IsIdempotentMethod(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS" || method == "TRACE";
}

// ---- implementation
// ------------------------------------------------------------------------------

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Hop-by-hop fields (RFC 9110 section 7.6.1) belong to one connection and are never forwarded.
bool IsHopByHop(http::field f, std::string_view name) {
  switch (f) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_authenticate:
    case http::field::proxy_authorization:
    case http::field::proxy_connection:
    case http::field::te:
    case http::field::trailer:
    case http::field::transfer_encoding:
    case http::field::upgrade:
    case http::field::content_length:  // recomputed for the body actually sent
      return true;
    default:
      return beast::iequals(name, "Keep-Alive");
  }
}

std::string ErrorBody(std::string_view code, std::string_view message) {
  return json{{"error", {{"code", code}, {"message", message}}}}.dump();
}

Response JsonResponse(unsigned version, http::status status, std::string body) {
  Response res(status, version);
  res.set(http::field::content_type, "application/json");
  res.set(http::field::server, "voxgate-gateway");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// True when the peer has closed (or reset) an idle pooled connection: reading without waiting
// gives EOF or an error instead of "would block".
bool PeerClosed(tcp::socket& s) {
  char byte;
  const ssize_t n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
  return true;  // unsolicited bytes on an idle HTTP connection: do not trust it
}

}  // namespace

struct GatewayProxy::Core : std::enable_shared_from_this<GatewayProxy::Core> {
  struct Idle {
    std::unique_ptr<beast::tcp_stream> stream;
    Clock::time_point since;
  };

  Core(const GatewayConfig& c, std::shared_ptr<metrics::Registry> r,
       std::shared_ptr<LoadBalancer> b, std::shared_ptr<HealthChecker> h)
      : config(c),
        registry(std::move(r)),
        balancer(std::move(b)),
        health(std::move(h)),
        io(c.io_threads),
        acceptor(io),
        requests(registry->CounterFamily("voxgate_gateway_requests_total",
                                         "Requests answered by the gateway, by node and status",
                                         {"node", "code"})),
        upstream_errors(registry->CounterFamily(
            "voxgate_gateway_upstream_errors_total",
            "Forwarding attempts that failed (connection error, timeout, 502/503/504)", {"node"})),
        retries(registry->GetCounter("voxgate_gateway_retries_total",
                                     "Requests sent again to another node")),
        no_node(registry->GetCounter("voxgate_gateway_no_healthy_node_total",
                                     "Requests answered 503 because no healthy node was left")),
        websockets(registry->GetCounter("voxgate_gateway_websockets_total",
                                        "WebSocket connections spliced through to a node")),
        duration(registry->GetHistogram("voxgate_gateway_request_duration_seconds",
                                        "Time from request read to response ready, seconds",
                                        metrics::DefaultLatencyBucketsS())),
        healthy_nodes(registry->GetGauge("voxgate_gateway_healthy_nodes", "Nodes in rotation")),
        known_nodes(registry->GetGauge("voxgate_gateway_nodes", "Nodes known to the gateway")) {}

  const GatewayConfig config;
  const std::shared_ptr<metrics::Registry> registry;
  const std::shared_ptr<LoadBalancer> balancer;
  const std::shared_ptr<HealthChecker> health;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};

  std::mutex pool_mu;
  std::map<std::string, std::deque<Idle>> pool;  // GUARDED_BY(pool_mu), by "host:port"

  // The node refresh runs on a thread of its own: a Redis round trip must not block I/O threads.
  std::mutex refresh_mu;
  std::condition_variable refresh_cv;
  bool refresh_stop = false;  // GUARDED_BY(refresh_mu)
  std::thread refresher;

  metrics::Family<metrics::Counter>& requests;
  metrics::Family<metrics::Counter>& upstream_errors;
  metrics::Counter& retries;
  metrics::Counter& no_node;
  metrics::Counter& websockets;
  metrics::Histogram& duration;
  metrics::Gauge& healthy_nodes;
  metrics::Gauge& known_nodes;

  // The node count, and each node's upstream-error series, at 0 from the start (rates and alerts
  // need a series before the first error).
  void SetKnownNodes(const std::vector<NodeInfo>& nodes) {
    known_nodes.Set(static_cast<double>(nodes.size()));
    for (const auto& n : nodes) upstream_errors.WithLabels({n.node_id});
  }

  // ---- upstream connection pool ----

  std::unique_ptr<beast::tcp_stream> TakeIdle(const std::string& address) {
    std::lock_guard lock(pool_mu);
    auto it = pool.find(address);
    if (it == pool.end()) return nullptr;
    const auto now = Clock::now();
    while (!it->second.empty()) {
      Idle idle = std::move(it->second.back());  // most recently used first: warmest
      it->second.pop_back();
      if (now - idle.since > std::chrono::milliseconds(config.idle_timeout_ms)) continue;
      if (PeerClosed(idle.stream->socket())) continue;
      return std::move(idle.stream);
    }
    return nullptr;
  }

  void PutIdle(const std::string& address, std::unique_ptr<beast::tcp_stream> stream) {
    if (stopping.load()) return;
    std::lock_guard lock(pool_mu);
    auto& q = pool[address];
    if (static_cast<int>(q.size()) >= config.max_idle_per_node) return;
    q.push_back({std::move(stream), Clock::now()});
  }

  void DropPool(const std::string& address) {
    std::lock_guard lock(pool_mu);
    pool.erase(address);
  }

  // ---- forwarding ----

  struct Attempt {
    std::optional<Response> response;
    bool sent = false;  // the whole request was written to the node
    std::string error;  // transport error when no response
  };

  asio::awaitable<Attempt> Forward(const NodeInfo& node, const Request& in,
                                   const std::string& client_ip) {
    Attempt a;
    const std::string address = node.Address();
    auto stream = TakeIdle(address);
    beast::error_code ec;
    if (!stream) {
      stream = std::make_unique<beast::tcp_stream>(io);
      stream->expires_after(std::chrono::milliseconds(config.connect_timeout_ms));
      tcp::resolver resolver(io);
      auto endpoints = co_await resolver.async_resolve(
          node.host, std::to_string(node.port), asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) {
        co_await stream->async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec) {
        // A node that refuses connections has no usable pooled ones either.
        DropPool(address);
        a.error = "connect: " + ec.message();
        co_return a;
      }
      stream->socket().set_option(tcp::no_delay(true), ec);
    }

    Request out(in.method(), in.target(), 11);
    if (in.method() == http::verb::unknown) out.method_string(in.method_string());
    for (const auto& f : in) {
      if (IsHopByHop(f.name(), f.name_string())) continue;
      if (beast::iequals(f.name_string(), "X-Forwarded-For")) continue;  // rebuilt below
      out.insert(f.name_string(), f.value());
    }
    std::string xff;
    if (auto it = in.find("X-Forwarded-For"); it != in.end()) {
      xff = std::string(it->value()) + ", ";
    }
    out.set("X-Forwarded-For", xff + client_ip);
    if (in.find("X-Forwarded-Proto") == in.end()) out.set("X-Forwarded-Proto", "http");
    if (auto it = in.find(http::field::host);
        it != in.end() && in.find("X-Forwarded-Host") == in.end()) {
      out.set("X-Forwarded-Host", it->value());
    }
    out.set(http::field::host, address);
    out.body() = in.body();
    out.keep_alive(true);
    out.prepare_payload();

    stream->expires_after(std::chrono::milliseconds(config.request_timeout_ms));
    co_await http::async_write(*stream, out, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      a.error = "write: " + ec.message();
      co_return a;
    }
    a.sent = true;
    beast::flat_buffer buffer;
    buffer.reserve(kReadChunk);
    http::response_parser<http::string_body> parser;
    parser.body_limit(static_cast<uint64_t>(config.max_response_bytes));
    if (in.method() == http::verb::head) parser.skip(true);
    co_await http::async_read(*stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      a.error = "read: " + ec.message();
      co_return a;
    }
    Response res = parser.release();
    // Reuse the connection unless the node closes it (or sent bytes beyond the response).
    if (res.keep_alive() && buffer.size() == 0) {
      stream->expires_never();
      PutIdle(address, std::move(stream));
    }
    a.response = std::move(res);
    co_return a;
  }

  static bool RetryableStatus(unsigned status) {
    return status == 502 || status == 503 || status == 504;
  }

  asio::awaitable<Response> Proxy(const Request& req, const std::string& client_ip) {
    const bool idempotent = IsIdempotentMethod(req.method_string());
    std::vector<std::string> tried;
    std::optional<Response> last;  // a 502/503/504 kept in case no other node can do better
    std::string last_node, last_error;
    for (int attempt = 0; attempt < config.max_attempts; ++attempt) {
      auto node = balancer->Pick(tried);
      if (!node) break;
      if (attempt > 0) retries.Increment();
      tried.push_back(node->node_id);
      const auto t0 = Clock::now();
      Attempt a = co_await Forward(*node, req, client_ip);
      const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      if (!a.response) {
        balancer->Finish(node->node_id, false, -1);
        health->ReportResult(node->node_id, false);
        upstream_errors.WithLabels({node->node_id}).Increment();
        last_error = a.error;
        last_node = node->node_id;
        spdlog::debug("gateway: {} {} on {} failed: {}", req.method_string(), req.target(),
                      node->node_id, a.error);
        if (a.sent && !idempotent) {
          // The node may have acted on it: sending it again could do it twice.
          Response res = JsonResponse(
              req.version(), http::status::bad_gateway,
              ErrorBody("bad_gateway", fmt::format("node {} failed after the request was sent: {}",
                                                   node->node_id, a.error)));
          res.set("X-Voxgate-Node", node->node_id);
          co_return res;
        }
        continue;
      }
      const unsigned status = a.response->result_int();
      const bool ok = status < 500;
      balancer->Finish(node->node_id, ok, seconds);
      health->ReportResult(node->node_id, ok);
      if (RetryableStatus(status)) {
        upstream_errors.WithLabels({node->node_id}).Increment();
        if (idempotent) {
          last = std::move(a.response);
          last_node = node->node_id;
          continue;
        }
      }
      Response res = std::move(*a.response);
      res.set("X-Voxgate-Node", node->node_id);
      co_return res;
    }
    if (last) {
      last->set("X-Voxgate-Node", last_node);
      co_return std::move(*last);
    }
    no_node.Increment();
    const std::string why = tried.empty()
                                ? std::string("no healthy node")
                                : fmt::format("no healthy node answered ({} tried; last: {} {})",
                                              tried.size(), last_node, last_error);
    Response res = JsonResponse(req.version(), http::status::service_unavailable,
                                ErrorBody("unavailable", why));
    res.set(http::field::retry_after, "1");
    co_return res;
  }

  Response Own(const Request& req, std::string_view path) {
    if (path == "/metrics") {
      Response res(http::status::ok, req.version());
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = registry->RenderText();
      res.prepare_payload();
      return res;
    }
    json nodes = json::array();
    for (const auto& n : balancer->Snapshot()) nodes.push_back(n.ToJson());
    const size_t healthy = balancer->healthy_count();
    return JsonResponse(req.version(),
                        healthy > 0 ? http::status::ok : http::status::service_unavailable,
                        json{{"status", healthy > 0 ? "ok" : "unavailable"},
                             {"role", "gateway"},
                             {"strategy", config.strategy},
                             {"healthy_nodes", healthy},
                             {"nodes", nodes}}
                            .dump());
  }

  // ---- WebSocket upgrades ----

  // Copies bytes from `from` to `to` until either side closes, then half-closes `to`.
  static asio::awaitable<void> Pump(beast::tcp_stream& from, beast::tcp_stream& to) {
    std::vector<char> chunk(kReadChunk);
    beast::error_code ec;
    for (;;) {
      const size_t n = co_await from.async_read_some(asio::buffer(chunk),
                                                     asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      co_await asio::async_write(to, asio::buffer(chunk.data(), n),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    to.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // A WebSocket upgrade (the console's live audio, any client's stream): the upgrade goes to one
  // node as it came (with X-Forwarded-For), and when the node switches protocols the two
  // connections are spliced for the socket's lifetime. Not retried: the first node picked
  // answers, as for a POST. Returns the status the client got.
  asio::awaitable<unsigned> Tunnel(beast::tcp_stream& client, beast::flat_buffer& client_buffer,
                                   Request req, const std::string& client_ip) {
    beast::error_code ec;
    auto node = balancer->Pick();
    auto fail = [&](http::status status, std::string message) -> asio::awaitable<unsigned> {
      auto res = JsonResponse(req.version(), status, ErrorBody("unavailable", message));
      res.keep_alive(false);
      co_await http::async_write(client, res, asio::redirect_error(asio::use_awaitable, ec));
      co_return static_cast<unsigned>(status);
    };
    if (!node) {
      no_node.Increment();
      co_return co_await fail(http::status::service_unavailable, "no healthy node");
    }
    const auto t0 = Clock::now();
    beast::tcp_stream upstream(io);
    upstream.expires_after(std::chrono::milliseconds(config.connect_timeout_ms));
    tcp::resolver resolver(io);
    auto endpoints = co_await resolver.async_resolve(node->host, std::to_string(node->port),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (!ec)
      co_await upstream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      balancer->Finish(node->node_id, false, -1);
      health->ReportResult(node->node_id, false);
      upstream_errors.WithLabels({node->node_id}).Increment();
      co_return co_await fail(http::status::bad_gateway,
                              fmt::format("node {}: connect: {}", node->node_id, ec.message()));
    }
    std::string xff;
    if (auto it = req.find("X-Forwarded-For"); it != req.end())
      xff = std::string(it->value()) + ", ";
    req.set("X-Forwarded-For", xff + client_ip);
    if (req.find("X-Forwarded-Proto") == req.end()) req.set("X-Forwarded-Proto", "http");
    upstream.expires_after(std::chrono::milliseconds(config.request_timeout_ms));
    co_await http::async_write(upstream, req, asio::redirect_error(asio::use_awaitable, ec));
    beast::flat_buffer upstream_buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    if (!ec) {
      co_await http::async_read(upstream, upstream_buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
      balancer->Finish(node->node_id, false, -1);
      upstream_errors.WithLabels({node->node_id}).Increment();
      co_return co_await fail(http::status::bad_gateway,
                              fmt::format("node {}: {}", node->node_id, ec.message()));
    }
    Response res = parser.release();
    res.set("X-Voxgate-Node", node->node_id);
    const unsigned status = res.result_int();
    if (status != 101) res.keep_alive(false);
    co_await http::async_write(client, res, asio::redirect_error(asio::use_awaitable, ec));
    if (status == 101 && !ec) {
      client.expires_never();
      upstream.expires_never();
      // Whatever either side sent right behind the handshake goes first.
      if (client_buffer.size() > 0) {
        co_await asio::async_write(upstream, client_buffer.data(),
                                   asio::redirect_error(asio::use_awaitable, ec));
        client_buffer.consume(client_buffer.size());
      }
      if (!ec && upstream_buffer.size() > 0) {
        co_await asio::async_write(client, upstream_buffer.data(),
                                   asio::redirect_error(asio::use_awaitable, ec));
      }
      if (!ec) {
        using namespace asio::experimental::awaitable_operators;
        websockets.Increment();
        co_await (Pump(client, upstream) && Pump(upstream, client));
      }
    }
    balancer->Finish(node->node_id, status < 500,
                     std::chrono::duration<double>(Clock::now() - t0).count());
    co_return status;
  }

  // ---- client side ----

  asio::awaitable<void> Session(tcp::socket socket) {
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    const std::string client_ip = ec ? std::string("unknown") : remote.address().to_string();
    socket.set_option(tcp::no_delay(true), ec);
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    buffer.reserve(kReadChunk);
    while (!stopping.load()) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(static_cast<uint64_t>(config.max_body_bytes));
      parser.header_limit(64 * 1024);
      stream.expires_after(std::chrono::seconds(config.client_timeout_s));
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::body_limit) {
        auto res = JsonResponse(11, http::status::payload_too_large,
                                ErrorBody("too_large", "the request body is over the limit"));
        res.keep_alive(false);
        co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        break;
      }
      if (ec) {
        if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
            ec != asio::error::eof && ec != asio::error::connection_reset &&
            ec != asio::error::operation_aborted && buffer.size() > 0) {
          auto res = JsonResponse(11, http::status::bad_request,
                                  ErrorBody("invalid_argument", "malformed HTTP request"));
          res.keep_alive(false);
          co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        }
        break;
      }
      const auto t0 = Clock::now();
      Request req = parser.release();
      const std::string_view target(req.target().data(), req.target().size());
      const std::string_view path = target.substr(0, target.find('?'));
      Response res;
      std::string node_label = "gateway";
      if (beast::websocket::is_upgrade(req)) {
        stream.expires_never();
        const unsigned status = co_await Tunnel(stream, buffer, std::move(req), client_ip);
        requests.WithLabels({"websocket", std::to_string(status)}).Increment();
        break;  // a spliced or refused upgrade ends the client connection
      }
      if ((path == "/health" || path == "/metrics") &&
          (req.method() == http::verb::get || req.method() == http::verb::head)) {
        res = Own(req, path);
      } else {
        // Timeouts of forwarding are the node's, not the client's.
        stream.expires_never();
        res = co_await Proxy(req, client_ip);
        if (auto it = res.find("X-Voxgate-Node"); it != res.end())
          node_label = it->value();
        else
          node_label = "none";
      }
      // Copy the node's answer minus its connection-level fields.
      Response client_res(res.result(), req.version());
      for (const auto& f : res) {
        if (IsHopByHop(f.name(), f.name_string())) continue;
        client_res.insert(f.name_string(), f.value());
      }
      const bool head = req.method() == http::verb::head;
      if (head) {
        if (auto it = res.find(http::field::content_length); it != res.end()) {
          client_res.set(http::field::content_length, it->value());
        }
      } else {
        client_res.body() = std::move(res.body());
        client_res.prepare_payload();
      }
      client_res.keep_alive(req.keep_alive() && !stopping.load());
      requests.WithLabels({node_label, std::to_string(client_res.result_int())}).Increment();
      duration.Observe(std::chrono::duration<double>(Clock::now() - t0).count());
      stream.expires_after(std::chrono::seconds(config.client_timeout_s));
      if (head) {
        http::response_serializer<http::string_body> sr(client_res);
        sr.split(true);
        co_await http::async_write_header(stream, sr,
                                          asio::redirect_error(asio::use_awaitable, ec));
      } else {
        co_await http::async_write(stream, client_res,
                                   asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec || !client_res.keep_alive()) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  asio::awaitable<void> Accept() {
    while (!stopping.load()) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(
          asio::make_strand(io), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || stopping.load()) co_return;
        continue;  // e.g. EMFILE: keep serving the connections we have
      }
      auto executor = socket.get_executor();
      asio::co_spawn(executor, Session(std::move(socket)), asio::detached);
    }
  }
};

GatewayProxy::GatewayProxy(GatewayConfig config, std::shared_ptr<metrics::Registry> registry,
                           Strategy strategy)
    : config_(std::move(config)),
      registry_(std::move(registry)),
      balancer_(std::make_shared<LoadBalancer>(strategy)),
      health_(std::make_shared<HealthChecker>(config_.health, balancer_, registry_)) {}

Result<std::unique_ptr<GatewayProxy>> GatewayProxy::Create(
    GatewayConfig config, std::shared_ptr<metrics::Registry> registry) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  VOXGATE_ASSIGN_OR_RETURN(Strategy strategy, ParseStrategy(config.strategy));
  if (!registry) registry = std::make_shared<metrics::Registry>();
  return std::unique_ptr<GatewayProxy>(
      new GatewayProxy(std::move(config), std::move(registry), strategy));
}

GatewayProxy::~GatewayProxy() { Stop(); }

void GatewayProxy::SetNodes(const std::vector<NodeInfo>& nodes) {
  balancer_->SetNodes(nodes);
  if (core_) {
    core_->SetKnownNodes(nodes);
    core_->healthy_nodes.Set(static_cast<double>(balancer_->healthy_count()));
  }
}

void GatewayProxy::SetNodeSource(NodeSource source) { source_ = std::move(source); }

Status GatewayProxy::Start() {
  if (core_) return InvalidArgumentError("gateway already started");
  auto core = std::make_shared<Core>(config_, registry_, balancer_, health_);
  beast::error_code ec;
  const auto address = asio::ip::make_address(config_.host, ec);
  if (ec) return InvalidArgumentError("gateway.host is not an IP address: " + config_.host);
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(config_.port));
  core->acceptor.open(endpoint.protocol(), ec);
  if (!ec) core->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) core->acceptor.bind(endpoint, ec);
  if (!ec) core->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return UnavailableError(
        fmt::format("cannot listen on {}:{}: {}", config_.host, config_.port, ec.message()));
  }
  if (source_) {
    auto nodes = source_();
    if (nodes.ok()) {
      balancer_->SetNodes(*nodes);
    } else {
      spdlog::warn("gateway: cannot list nodes yet: {}", nodes.status().ToString());
    }
  }
  core->SetKnownNodes(balancer_->Snapshot());
  core->healthy_nodes.Set(static_cast<double>(balancer_->healthy_count()));
  VOXGATE_RETURN_IF_ERROR(health_->Start());
  asio::co_spawn(core->io, core->Accept(), asio::detached);
  for (int i = 0; i < config_.io_threads; ++i) {
    core->threads.emplace_back([c = core.get()] { c->io.run(); });
  }
  core->refresher = std::thread([this, c = core.get()] {
    std::unique_lock lock(c->refresh_mu);
    while (!c->refresh_stop) {
      c->refresh_cv.wait_for(lock, std::chrono::milliseconds(config_.refresh_interval_ms));
      if (c->refresh_stop) break;
      if (source_) {
        lock.unlock();
        auto nodes = source_();
        if (nodes.ok()) {
          balancer_->SetNodes(*nodes);
        } else {
          spdlog::warn("gateway: node refresh failed (keeping the last list): {}",
                       nodes.status().ToString());
        }
        lock.lock();
      }
      c->SetKnownNodes(balancer_->Snapshot());
      c->healthy_nodes.Set(static_cast<double>(balancer_->healthy_count()));
    }
  });
  core_ = std::move(core);
  return Status::Ok();
}

void GatewayProxy::Stop() {
  if (!core_) return;
  {
    std::lock_guard lock(core_->refresh_mu);
    core_->refresh_stop = true;
  }
  core_->refresh_cv.notify_all();
  if (core_->refresher.joinable()) core_->refresher.join();
  health_->Stop();
  core_->stopping = true;
  beast::error_code ec;
  core_->acceptor.close(ec);
  core_->io.stop();
  for (auto& t : core_->threads) {
    if (t.joinable()) t.join();
  }
  {
    std::lock_guard lock(core_->pool_mu);
    core_->pool.clear();
  }
  core_.reset();
}

uint16_t GatewayProxy::port() const {
  if (!core_) return 0;
  beast::error_code ec;
  const auto ep = core_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

}  // namespace voxgate::cluster
