// GatewayProxy: the HTTP/1.1 front door of a cluster (`voxgate gateway`). Every request except
// the gateway's own GET /health and GET /metrics is forwarded (method, target, headers such as
// X-API-Key, body) to a node the LoadBalancer picks among the healthy ones; the answer goes back
// with X-Voxgate-Node naming the node, and the node sees X-Forwarded-For/-Proto/-Host.
//
// WebSocket upgrades (GET /api/v1/stream and the console's live audio) go to one node as they came
// and, once it switches protocols, the client and node connections are spliced until either
// closes (voxgate_gateway_websockets_total). The console itself is served by the nodes, through
// the gateway like any GET.
//
// Failures: an idempotent request (GET, HEAD, PUT, DELETE, OPTIONS) whose node cannot be reached
// or answers 502/503/504 is retried on another node, up to max_attempts nodes; a non-idempotent
// one (POST, PATCH) is retried only when it never reached a node (connect failed), never after it
// was sent. No healthy node: 503 with the JSON error body of the API. Each result feeds the
// HealthChecker (passive ejection) and the balancer's counters.
//
// Connections to nodes are kept alive and pooled per node address (at most max_idle_per_node
// idle ones, dropped after idle_timeout_ms or when the node closed them).
//
// The node list comes from SetNodes (static --node list) and/or a NodeSource polled every
// refresh_interval_ms (the Redis registry); a source error keeps the last list.
//
// Threads: io_threads run the server (one coroutine per client connection); the health checker
// and the node refresh have a thread each. Thread-safe: SetNodes and the accessors may be called
// from any thread; Start/Stop from one controlling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/health_checker.h"
#include "cluster/load_balancer.h"
#include "common/config_node.h"
#include "common/result.h"
#include "metrics/registry.h"

namespace voxgate::cluster {

struct GatewayConfig {
  std::string host = "0.0.0.0";  // listen address
  int port = 8090;               // listen port; 0: any free port
  int io_threads = 2;
  std::string strategy = "round_robin";   // see load_balancer.h
  int64_t max_body_bytes = 20 << 20;      // request bodies above this get 413, bytes
  int64_t max_response_bytes = 64 << 20;  // node responses above this give 502, bytes
  int client_timeout_s = 30;        // reading a request / keeping an idle client connection, s
  int connect_timeout_ms = 1000;    // connecting to a node, ms
  int request_timeout_ms = 120000;  // a node's whole answer, ms (identify can take seconds)
  int max_attempts = 3;             // nodes tried for one idempotent request
  int max_idle_per_node = 64;       // pooled keep-alive connections per node
  int idle_timeout_ms = 10000;      // pooled connections unused this long are closed, ms
  int refresh_interval_ms = 1000;   // NodeSource poll period, ms
  HealthCheckConfig health;

  Status Validate() const;
  std::string ToString() const;
  Status Load(const ConfigNode& node);
};

class GatewayProxy {
 public:
  /// Fetches the current node list (blocking is fine: it runs on the refresh thread).
  using NodeSource = std::function<Result<std::vector<NodeInfo>>()>;

  /// Validates the config. `registry` (null: a private one) receives the gateway metrics and is
  /// what GET /metrics renders.
  static Result<std::unique_ptr<GatewayProxy>> Create(
      GatewayConfig config, std::shared_ptr<metrics::Registry> registry = nullptr);
  ~GatewayProxy();
  GatewayProxy(const GatewayProxy&) = delete;
  GatewayProxy& operator=(const GatewayProxy&) = delete;

  /// Replaces the node list (counters and health of nodes that stay are kept).
  void SetNodes(const std::vector<NodeInfo>& nodes);
  /// Polls `source` every refresh_interval_ms once started; the first poll happens in Start().
  /// Only before Start.
  void SetNodeSource(NodeSource source);

  /// Binds, listens and starts the I/O threads, the health checker and the refresh. kUnavailable
  /// naming host:port when it cannot listen.
  Status Start();
  /// Stops accepting, closes connections, joins every thread. Idempotent.
  void Stop();

  /// The bound port (the ephemeral one when config.port is 0); 0 before Start.
  uint16_t port() const;
  LoadBalancer& balancer() { return *balancer_; }
  HealthChecker& health() { return *health_; }
  metrics::Registry& registry() { return *registry_; }
  const GatewayConfig& config() const { return config_; }

  struct Core;  // implementation detail

 private:
  GatewayProxy(GatewayConfig config, std::shared_ptr<metrics::Registry> registry,
               Strategy strategy);

  const GatewayConfig config_;
  const std::shared_ptr<metrics::Registry> registry_;
  const std::shared_ptr<LoadBalancer> balancer_;
  const std::shared_ptr<HealthChecker> health_;
  NodeSource source_;
  std::shared_ptr<Core> core_;
};

/// True for the methods a proxy may safely send twice: GET, HEAD, PUT, DELETE, OPTIONS (and
/// TRACE); RFC 9110 section 9.2.2.
bool IsIdempotentMethod(std::string_view method);

}  // namespace voxgate::cluster
