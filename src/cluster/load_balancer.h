// LoadBalancer: picks the node for the next request among the healthy ones, by one of five
// strategies, and keeps the per-node counters the strategies and the cluster view need (in-flight
// requests, totals, errors, response-time EWMA).
//
//   round_robin           healthy nodes in turn, in the order of SetNodes
//   random                uniformly at random
//   least_connections     fewest in-flight requests (ties: in turn)
//   weighted_round_robin  smooth weighted round robin as in nginx: weights 5,1,1 give
//                         a a b a c a a, never a burst of one node
//   least_response_time   smallest EWMA response time x (in-flight + 1) (ties: in turn); a node
//                         without a measurement yet counts as 0 s, so new nodes get tried
//
// Usage: Pick() (counts the request in flight) ... Finish(node_id, ok, seconds). Pick can skip
// nodes already tried for this request (retries). Thread-safe: one mutex; Pick is O(nodes).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/node_info.h"
#include "common/result.h"

namespace voxgate::cluster {

enum class Strategy {
  kRoundRobin,
  kRandom,
  kLeastConnections,
  kWeightedRoundRobin,
  kLeastResponseTime,
};

/// "round_robin", "random", "least_connections", "weighted_round_robin", "least_response_time".
std::string_view StrategyName(Strategy strategy);
/// The inverse of StrategyName; kInvalidArgument listing the names otherwise.
Result<Strategy> ParseStrategy(std::string_view name);

class LoadBalancer {
 public:
  /// `seed` drives the random strategy (fixed in tests; 0: from std::random_device).
  explicit LoadBalancer(Strategy strategy, uint64_t seed = 0);
  LoadBalancer(const LoadBalancer&) = delete;
  LoadBalancer& operator=(const LoadBalancer&) = delete;

  /// Replaces the node set. Counters and health of nodes that stay (same node_id) are kept, so a
  /// periodic refresh from the registry does not reset them; new nodes start healthy unless
  /// `is_healthy` is false; the other fields (host, port, weight, metadata) are taken as given, and
  /// the counters (in flight, totals, errors, response time) start at zero: they are the
  /// balancer's own, never the node's self-reported figures.
  void SetNodes(const std::vector<NodeInfo>& nodes);
  /// Adds or updates one node (same rules as SetNodes for a node that stays).
  void Upsert(const NodeInfo& node);
  /// Marks a node in or out of rotation (health checker); `checked_at_ms` > 0 records the Unix
  /// time of the check that decided it. False for an unknown id.
  bool SetHealthy(std::string_view node_id, bool healthy, int64_t checked_at_ms = 0);

  /// Records the Unix time (ms) of a health check that did not change the verdict.
  void RecordCheck(std::string_view node_id, int64_t checked_at_ms);

  /// The node for the next request, skipping unhealthy nodes and the ids in `exclude`; counts it
  /// in flight. nullopt when no node qualifies.
  std::optional<NodeInfo> Pick(const std::vector<std::string>& exclude = {});
  /// Ends a request started by Pick: `ok` false counts an error; `seconds` (>= 0) feeds the mean
  /// and the EWMA (pass a negative value when there was no response to time).
  void Finish(std::string_view node_id, bool ok, double seconds);

  /// Every node with its counters, in SetNodes order.
  std::vector<NodeInfo> Snapshot() const;
  size_t healthy_count() const;
  Strategy strategy() const { return strategy_; }

  /// Weight of the newest sample in the response-time EWMA.
  static constexpr double kEwmaAlpha = 0.3;

 private:
  struct Entry {
    NodeInfo info;
    int64_t current_weight = 0;  // smooth WRR state
    double ewma_s = 0.0;
    bool has_ewma = false;
    double total_time_s = 0.0;
    int64_t timed_requests = 0;
  };
  static Entry NewEntry(const NodeInfo& node);  // counters start at zero
  Entry* Find(std::string_view node_id);
  void Merge(const NodeInfo& node, Entry* existing);

  const Strategy strategy_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // GUARDED_BY(mu_)
  uint64_t cursor_ = 0;         // GUARDED_BY(mu_): round-robin position and tie-breaking
  std::mt19937_64 rng_;         // GUARDED_BY(mu_)
};

}  // namespace voxgate::cluster
