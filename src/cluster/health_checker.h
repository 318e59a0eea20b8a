// HealthChecker: keeps a LoadBalancer's view of which nodes are healthy.
//
// Active: every interval_ms each node gets GET <path> on a fresh connection with a short timeout;
// failures_to_eject consecutive failures (connection error, timeout, non-2xx) take it out of
// rotation. Passive: the proxy reports each forwarded request; errors_to_eject consecutive
// errors (connection failures, 5xx) eject the node at once, without waiting for a check. An
// ejected node comes back after successes_to_readmit consecutive good active checks (never on
// passive results alone: it receives no traffic while out).
//
// Thread-safe. Start() runs the checks on a thread of its own (Boost.Asio, one coroutine per
// check, so one slow node never delays the others); Stop() or the destructor joins it.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "cluster/load_balancer.h"
#include "common/config_node.h"
#include "common/status.h"
#include "metrics/registry.h"

namespace voxgate::cluster {

struct HealthCheckConfig {
  int interval_ms = 1000;        // active check period per node, ms
  int timeout_ms = 500;          // connect + request + response of one check, ms
  std::string path = "/health";  // GET this; any 2xx is healthy
  int failures_to_eject = 2;     // consecutive failed active checks before ejection
  int errors_to_eject = 3;       // consecutive failed proxied requests before ejection
  int successes_to_readmit = 2;  // consecutive good active checks before re-admission

  Status Validate() const;
  std::string ToString() const;
  Status Load(const ConfigNode& node);
};

class HealthChecker {
 public:
  /// `registry` (may be null) gets voxgate_gateway_health_checks_total{result} and
  /// voxgate_gateway_ejections_total{reason}.
  HealthChecker(HealthCheckConfig config, std::shared_ptr<LoadBalancer> balancer,
                std::shared_ptr<metrics::Registry> registry = nullptr);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  /// Validates the config and starts the check thread (first round at once).
  Status Start();
  /// Joins the check thread. Idempotent.
  void Stop();

  /// Passive result of one proxied request: `ok` false for a connection failure or a 5xx.
  void ReportResult(std::string_view node_id, bool ok);

  /// Completed active checks so far (all nodes), e.g. to wait for a round in tests.
  uint64_t checks_done() const { return checks_done_.load(); }
  const HealthCheckConfig& config() const { return config_; }

 private:
  struct Counts {
    int failures = 0;        // consecutive failed active checks
    int passive_errors = 0;  // consecutive failed proxied requests
    int successes = 0;       // consecutive good active checks
    bool in_flight = false;  // an active check is running
  };
  struct Runner;
  void OnCheck(const std::string& node_id, bool ok);

  const HealthCheckConfig config_;
  const std::shared_ptr<LoadBalancer> balancer_;
  const std::shared_ptr<metrics::Registry> registry_;
  std::mutex mu_;
  std::map<std::string, Counts, std::less<>> counts_;  // GUARDED_BY(mu_)
  std::atomic<uint64_t> checks_done_{0};
  std::unique_ptr<Runner> runner_;
};

}  // namespace voxgate::cluster
