// HttpServer: HTTP/1.1 (optionally over TLS) on Boost.Beast, with keep-alive, body and header
// limits, slow-client timeouts, API-key auth, per-caller rate limits, metrics, access logs and a
// graceful shutdown. Generic: the service adds its routes (Route) and health checks (health()).
//
// Threads: config.io_threads threads run one io_context; each connection is a strand, so one
// connection's work is serial while connections run in parallel. Handlers run on those threads
// and may answer later from any thread (see responder.h); slow work belongs on an InferencePool.
//
// Request pipeline: parse (limits, timeouts) -> route (404 / 405 with Allow / 400 for bad path
// parameters) -> auth for non-public routes (401 missing or bad key, 403 client key on an admin
// route) -> rate limit (429 + Retry-After) -> handler. Errors are JSON (http_error.h).
//
// Built-in public routes: GET /health, GET /ready, GET /metrics.
//
// Thread-safety: add routes and health checks before Start(); Start, Shutdown and the destructor
// are called from one controlling thread; port(), registry(), health() are safe afterwards.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "api/api_key_manager.h"
#include "api/health_registry.h"
#include "api/http_metrics.h"
#include "api/http_server_config.h"
#include "api/rate_limiter.h"
#include "api/router.h"
#include "common/status.h"
#include "metrics/registry.h"

namespace spdlog {
class logger;
}

namespace voxgate::api {

struct HttpServerOptions {
  /// Where HTTP metrics go and what GET /metrics renders (share it with the rest of the process).
  /// Null: a registry of the server's own.
  std::shared_ptr<metrics::Registry> registry;
  /// The API keys. Required when config.auth_enabled; unused otherwise.
  std::shared_ptr<ApiKeyManager> keys;
  /// Access log destination. Null: bare JSON lines on stdout.
  std::shared_ptr<spdlog::logger> access_logger;
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerConfig config, HttpServerOptions options = {});
  /// Shutdown(0): in-flight requests are cut off. Call Shutdown with a drain time first to finish
  /// them.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Adds a route (see router.h). Only before Start().
  Status Route(Method method, std::string_view pattern, Access access, Handler handler,
               RouteOptions options = {});
  /// Adds a WebSocket endpoint: GET `pattern` with an Upgrade goes through auth and the rate limit
  /// like any route, then `factory` makes the handler; a plain GET gets 426 Upgrade Required.
  Status WebSocketRoute(std::string_view pattern, Access access, WebSocketFactory factory,
                        WebSocketOptions options = {});
  /// The routes, e.g. to describe them in an OpenAPI document.
  const Router& router() const;
  /// Health and readiness checks behind /health and /ready.
  HealthRegistry& health();
  metrics::Registry& registry();
  const HttpServerConfig& config() const;
  /// Request counters and the last minute's rate and latency.
  const HttpMetrics& http_metrics() const;

  /// Validates the config, loads the TLS certificate, binds and listens, starts the I/O threads.
  /// kUnavailable naming host:port when it cannot listen (e.g. the port is in use),
  /// kInvalidArgument for a bad config or unreadable TLS files. Logs loudly when auth is off.
  Status Start();
  /// The bound port (the ephemeral one when config.port is 0); 0 before Start.
  uint16_t port() const;
  bool tls() const;
  size_t open_connections() const;
  /// Requests answered so far, 5xx answers among them, mean response time.
  HttpMetrics::Totals request_totals() const;

  /// Graceful stop: stops accepting (new connections are refused), closes idle keep-alive
  /// connections, lets in-flight requests finish and answers them with "Connection: close" for
  /// up to `drain_timeout`, then closes what is left and joins the I/O threads. Responses
  /// completed after that are dropped. Idempotent. Call it from the controlling thread (e.g. on
  /// SIGTERM), never from a handler or an I/O thread.
  void Shutdown(std::chrono::milliseconds drain_timeout = std::chrono::seconds(10));

  struct Core;  // implementation detail (public so the connection classes can name it)

 private:
  struct Threads;
  std::shared_ptr<Core> core_;  // shared with connections, which may outlive the server object
  std::unique_ptr<Threads> threads_;
  bool started_ = false;
  bool shut_down_ = false;
  uint16_t port_ = 0;
};

}  // namespace voxgate::api
