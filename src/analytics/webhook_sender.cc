#include "analytics/webhook_sender.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdlib>

namespace voxgate::analytics {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct WebhookSender::Outcome {
  int status = 0;     // HTTP status; 0 when there was no answer
  std::string error;  // transport error when status is 0
};

namespace {

// Largest answer body read (and ignored): a receiver has nothing to tell us beyond its status.
constexpr size_t kMaxResponseBodyBytes = size_t{64} * 1024;
constexpr std::chrono::milliseconds kMaxBackoff{30000};

// Parses http://host[:port][/path][?query] (fragment dropped). Credentials in the URL are
// refused: they would end up in logs and configs; signing is the way to authenticate.
bool ParseHttpUrl(std::string_view url, std::string* host, std::string* port, std::string* target,
                  std::string* error) {
  constexpr std::string_view kScheme = "http://";
  auto lower_prefix = [&](std::string_view prefix) {
    if (url.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(url[i])) != prefix[i]) return false;
    }
    return true;
  };
  if (lower_prefix("https://")) {
    *error = "https is not supported (use http://, e.g. through a local TLS proxy)";
    return false;
  }
  if (!lower_prefix(kScheme)) {
    *error = "must start with http://";
    return false;
  }
  std::string_view rest = url.substr(kScheme.size());
  rest = rest.substr(0, rest.find('#'));
  const size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  std::string path =
      authority_end == std::string_view::npos ? "/" : std::string(rest.substr(authority_end));
  if (path.front() == '?') path.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) {
    *error = "credentials in the URL are not supported (use secret_env signing)";
    return false;
  }
  std::string_view host_part = authority;
  std::string_view port_part;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      *error = "unterminated [IPv6] host";
      return false;
    }
    host_part = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        *error = "bad characters after [IPv6] host";
        return false;
      }
      port_part = after.substr(1);
    }
  } else if (const size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host_part = authority.substr(0, colon);
    port_part = authority.substr(colon + 1);
  }
  if (host_part.empty()) {
    *error = "no host";
    return false;
  }
  int port_number = 80;
  if (!port_part.empty()) {
    if (port_part.size() > 5 || !std::all_of(port_part.begin(), port_part.end(),
                                             [](char c) { return c >= '0' && c <= '9'; })) {
      *error = "bad port";
      return false;
    }
    port_number = std::stoi(std::string(port_part));
    if (port_number < 1 || port_number > 65535) {
      *error = "port out of range";
      return false;
    }
  }
  *host = std::string(host_part);
  *port = std::to_string(port_number);
  *target = std::move(path);
  return true;
}

std::string Redacted(const std::string& host, const std::string& port) {
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("http://{}{}{}:{}", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

// The longest prefix shared by all the wanted types: the one bus subscription covers them all
// without delivering an event twice when the prefixes overlap; Wanted() filters the rest.
std::string CommonPrefix(const std::vector<std::string>& types) {
  if (types.empty()) return "";
  std::string prefix = types.front();
  for (const std::string& t : types) {
    size_t n = 0;
    while (n < prefix.size() && n < t.size() && prefix[n] == t[n]) ++n;
    prefix.resize(n);
  }
  return prefix;
}

std::shared_ptr<metrics::Registry> OrDefault(std::shared_ptr<metrics::Registry> r) {
  if (r) return r;
  return std::shared_ptr<metrics::Registry>(&metrics::Registry::Default(),
                                            [](metrics::Registry*) {});
}

bool Retryable(int status) {
  return status == 0 || status == 408 || status == 429 || status >= 500;
}

}  // namespace

Status WebhookConfig::Validate() const {
  for (const std::string& url : urls) {
    std::string host, port, target, error;
    if (!ParseHttpUrl(url, &host, &port, &target, &error)) {
      // The URL itself is not echoed: its path may hold a token.
      return InvalidArgumentError("webhooks.urls: an entry is not a usable URL: " + error);
    }
  }
  if (timeout_ms < 1 || timeout_ms > 600000) {
    return InvalidArgumentError("webhooks.timeout_ms must be in [1, 600000]");
  }
  if (max_retries < 0 || max_retries > 20) {
    return InvalidArgumentError("webhooks.max_retries must be in [0, 20]");
  }
  if (retry_backoff_ms < 0 || retry_backoff_ms > 600000) {
    return InvalidArgumentError("webhooks.retry_backoff_ms must be in [0, 600000]");
  }
  if (queue_capacity < 1 || queue_capacity > 1000000) {
    return InvalidArgumentError("webhooks.queue_capacity must be in [1, 1000000]");
  }
  return Status::Ok();
}

std::string WebhookConfig::ToString() const {
  std::vector<std::string> shown;
  for (const std::string& url : urls) {
    std::string host, port, target, error;
    shown.push_back(ParseHttpUrl(url, &host, &port, &target, &error)
                        ? Redacted(host, port) + (target == "/" ? "/" : "/***")
                        : "<invalid>");
  }
  return fmt::format(
      "WebhookConfig{{urls=[{}], event_types=[{}], timeout_ms={}, max_retries={}, "
      "retry_backoff_ms={}, queue_capacity={}, secret_env={}}}",
      fmt::join(shown, ", "), fmt::join(event_types, ", "), timeout_ms, max_retries,
      retry_backoff_ms, queue_capacity, secret_env.empty() ? "\"\"" : secret_env);
}

Status WebhookConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("urls", &urls));
  VOXGATE_RETURN_IF_ERROR(node.Get("event_types", &event_types));
  VOXGATE_RETURN_IF_ERROR(node.Get("timeout_ms", &timeout_ms));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_retries", &max_retries));
  VOXGATE_RETURN_IF_ERROR(node.Get("retry_backoff_ms", &retry_backoff_ms));
  auto capacity = static_cast<int64_t>(queue_capacity);
  VOXGATE_RETURN_IF_ERROR(node.Get("queue_capacity", &capacity));
  if (capacity < 1) return InvalidArgumentError("webhooks.queue_capacity must be >= 1");
  queue_capacity = static_cast<size_t>(capacity);
  VOXGATE_RETURN_IF_ERROR(node.Get("secret_env", &secret_env));
  return Status::Ok();
}

std::string WebhookSender::HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
           &mac_len) == nullptr) {
    return "";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size_t{mac_len} * 2);
  for (unsigned int i = 0; i < mac_len; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0xf]);
  }
  return hex;
}

Result<std::unique_ptr<WebhookSender>> WebhookSender::Create(
    WebhookConfig config, const std::shared_ptr<EventBus>& bus,
    std::shared_ptr<metrics::Registry> registry) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  if (bus == nullptr) return InvalidArgumentError("webhooks: no event bus");
  std::vector<Endpoint> endpoints;
  for (const std::string& url : config.urls) {
    Endpoint e;
    std::string error;
    ParseHttpUrl(url, &e.host, &e.port, &e.target, &error);  // validated above
    e.redacted = Redacted(e.host, e.port);
    endpoints.push_back(std::move(e));
  }
  std::string secret;
  if (!config.secret_env.empty()) {
    // Read once, at start-up, before the worker exists.
    const char* value = std::getenv(config.secret_env.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (value == nullptr || *value == '\0') {
      return InvalidArgumentError("webhooks.secret_env names " + config.secret_env +
                                  ", which is not set");
    }
    secret = value;
  }
  auto subscription = bus->Subscribe(CommonPrefix(config.event_types), config.queue_capacity);
  return std::unique_ptr<WebhookSender>(
      new WebhookSender(std::move(config), std::move(endpoints), std::move(secret),
                        std::move(subscription), OrDefault(std::move(registry))));
}

WebhookSender::WebhookSender(WebhookConfig config, std::vector<Endpoint> endpoints,
                             std::string secret, std::shared_ptr<Subscription> subscription,
                             std::shared_ptr<metrics::Registry> registry)
    : config_(std::move(config)),
      endpoints_(std::move(endpoints)),
      secret_(std::move(secret)),
      subscription_(std::move(subscription)),
      registry_(std::move(registry)),
      delivered_counter_(registry_
                             ->CounterFamily("voxgate_webhook_deliveries_total",
                                             "Webhook POSTs by outcome (delivered, failed).",
                                             {"outcome"})
                             .WithLabels({"delivered"})),
      failed_counter_(registry_
                          ->CounterFamily("voxgate_webhook_deliveries_total",
                                          "Webhook POSTs by outcome (delivered, failed).",
                                          {"outcome"})
                          .WithLabels({"failed"})),
      retries_counter_(
          registry_->GetCounter("voxgate_webhook_retries_total", "Webhook POSTs retried.")),
      dropped_counter_(
          registry_->GetCounter("voxgate_webhook_events_dropped_total",
                                "Events dropped unsent because the webhook queue was full.")) {
  worker_ = std::thread([this] { Run(); });
}

WebhookSender::~WebhookSender() { Stop(); }

void WebhookSender::Stop() {
  std::lock_guard join_lock(join_mu_);
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  subscription_->Cancel();  // wakes the worker's WaitFor
  if (worker_.joinable()) worker_.join();
}

uint64_t WebhookSender::dropped() const { return subscription_->dropped(); }

void WebhookSender::ExportDropped() {
  const uint64_t now = subscription_->dropped();
  if (now > dropped_exported_) {
    dropped_counter_.Increment(static_cast<double>(now - dropped_exported_));
    dropped_exported_ = now;
  }
}

bool WebhookSender::Wanted(const std::string& type) const {
  if (config_.event_types.empty()) return true;
  return std::any_of(
      config_.event_types.begin(), config_.event_types.end(),
      [&](const std::string& prefix) { return EventBus::TypeMatches(prefix, type); });
}

bool WebhookSender::Stopping() {
  std::lock_guard lock(stop_mu_);
  return stopping_;
}

bool WebhookSender::Sleep(std::chrono::milliseconds delay) {
  std::unique_lock lock(stop_mu_);
  return !stop_cv_.wait_for(lock, delay, [&] { return stopping_; });
}

void WebhookSender::Run() {
  while (true) {
    Event event;
    const bool got = subscription_->WaitFor(&event, std::chrono::milliseconds(500));
    ExportDropped();
    if (Stopping()) return;
    if (!got || !Wanted(event.type)) continue;
    // Invalid UTF-8 from outside input must not throw: replace it.
    const std::string body =
        event.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    for (const Endpoint& endpoint : endpoints_) {
      if (Stopping()) return;
      Deliver(endpoint, body, event.type);
    }
  }
}

void WebhookSender::Deliver(const Endpoint& endpoint, const std::string& body,
                            const std::string& type) {
  std::chrono::milliseconds backoff(config_.retry_backoff_ms);
  for (int attempt = 0;; ++attempt) {
    const Outcome outcome = Post(endpoint, body, type);
    if (outcome.status >= 200 && outcome.status < 300) {
      ++delivered_;
      delivered_counter_.Increment();
      return;
    }
    const std::string why =
        outcome.status != 0 ? fmt::format("HTTP {}", outcome.status) : outcome.error;
    if (!Retryable(outcome.status) || attempt >= config_.max_retries) {
      spdlog::warn("webhook {} to {} failed after {} attempt(s): {}", type, endpoint.redacted,
                   attempt + 1, why);
      ++failed_;
      failed_counter_.Increment();
      return;
    }
    spdlog::debug("webhook {} to {}: {}; retrying in {} ms", type, endpoint.redacted, why,
                  backoff.count());
    if (!Sleep(backoff)) {
      ++failed_;  // stopping: this one will not be sent
      failed_counter_.Increment();
      return;
    }
    ++retries_;
    retries_counter_.Increment();
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

WebhookSender::Outcome WebhookSender::Post(const Endpoint& endpoint, const std::string& body,
                                           const std::string& type) const {
  // One deadline for the whole exchange. The operations are asynchronous only so that they can
  // time out; this thread runs them to completion one after the other.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.timeout_ms);
  net::io_context ioc;
  beast::error_code ec;

  tcp::resolver resolver(ioc);
  tcp::resolver::results_type addresses;
  resolver.async_resolve(endpoint.host, endpoint.port,
                         [&](beast::error_code e, tcp::resolver::results_type r) {
                           ec = e;
                           addresses = std::move(r);
                         });
  ioc.run_until(deadline);
  if (!ioc.stopped()) {
    resolver.cancel();
    ioc.restart();
    ioc.run();
    return {0, "timed out resolving the host"};
  }
  if (ec) return {0, "resolving the host: " + ec.message()};

  beast::tcp_stream stream(ioc);
  stream.expires_at(deadline);
  auto run = [&] {
    ioc.restart();
    ioc.run();
  };
  stream.async_connect(addresses, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
  run();
  if (ec) return {0, "connecting: " + ec.message()};

  http::request<http::string_body> request{http::verb::post, endpoint.target, 11};
  request.set(http::field::host,
              endpoint.port == "80" ? endpoint.host : endpoint.host + ":" + endpoint.port);
  request.set(http::field::user_agent, "voxgate/" VOXGATE_VERSION);
  request.set(http::field::content_type, "application/json");
  request.set("X-Voxgate-Event", type);
  if (!secret_.empty()) {
    request.set("X-Voxgate-Signature", "sha256=" + HmacSha256Hex(secret_, body));
  }
  request.keep_alive(false);
  request.body() = body;
  request.prepare_payload();
  http::async_write(stream, request, [&](beast::error_code e, size_t) { ec = e; });
  run();
  if (ec) return {0, "sending: " + ec.message()};

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBodyBytes);
  http::async_read(stream, buffer, parser, [&](beast::error_code e, size_t) { ec = e; });
  run();
  // The status line is all we need; a body that is cut short or too long does not matter.
  if (!parser.is_header_done()) return {0, "reading the answer: " + ec.message()};
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return {static_cast<int>(parser.get().result_int()), ""};
}

}  // namespace voxgate::analytics
