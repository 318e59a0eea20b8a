// ClusterAggregator: statistics of the whole cluster over a sliding window, from the events every
// node appends to the Redis stream (see RedisStreamsEventBus): verifications per minute, reject
// rate, mean MOS of the sessions' QoS windows, enrollments, sessions started, active nodes.
//
// It reads the stream through a consumer group (XGROUP CREATE ... MKSTREAM, XREADGROUP, XACK), so
// several aggregators (one per node, say) share the entries: each entry is counted by one of them,
// and every aggregator's Snapshot covers the share it consumed. Entries a crashed or stuck
// consumer left pending for claim_idle_ms are taken over with XAUTOCLAIM, and an aggregator that
// restarts first re-reads its own pending entries, so no entry is lost (an entry may be counted
// twice if a consumer dies between counting and acknowledging it).
//
// Statistics use the event's own time (time_ms, the publishing node's wall clock), so late
// entries land in the slot they belong to and entries older than the window are ignored.
//
// Thread-safe: Observe and Snapshot may be called from any thread; Stop() from any thread but
// the consumer's.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "analytics/event.h"
#include "analytics/redis_streams_event_bus.h"
#include "analytics/sliding_window.h"
#include "common/config_node.h"
#include "common/redis_client.h"
#include "common/result.h"
#include "metrics/registry.h"

namespace voxgate::analytics {

struct ClusterAggregatorConfig {
  double window_s = 60.0;        // span of the statistics, seconds (1..86400)
  int buckets = 60;              // time slots of the window: expiry granularity window_s/buckets
  double node_timeout_s = 30.0;  // a node is active while its latest event is this recent, s
  std::string consumer;          // name in the consumer group; empty: the bus's node_id
  int batch_size = 100;          // entries per XREADGROUP / XAUTOCLAIM
  int claim_idle_ms = 30000;     // entries pending on a consumer this long are taken over, ms
  int claim_interval_ms = 5000;  // how often to look for such entries, ms

  Status Validate() const;
  std::string ToString() const;
  /// The "events.aggregator" section: the keys above.
  Status Load(const ConfigNode& node);
};

class ClusterAggregator {
 public:
  /// Statistics only, fed through Observe (no Redis).
  explicit ClusterAggregator(const ClusterAggregatorConfig& config);
  /// Validates both configs and starts the consumer thread on `bus.stream_key`, group
  /// `bus.group`, with a connection of its own (`redis` with a timeout above bus.block_ms).
  /// Redis need not be up: the thread creates the group and reads once it answers.
  static Result<std::unique_ptr<ClusterAggregator>> Start(
      const ClusterAggregatorConfig& config, const RedisEventBusConfig& bus,
      const RedisClientOptions& redis, std::shared_ptr<metrics::Registry> registry);
  ~ClusterAggregator();
  ClusterAggregator(const ClusterAggregator&) = delete;
  ClusterAggregator& operator=(const ClusterAggregator&) = delete;

  /// Stops the consumer thread (within about block_ms). Idempotent.
  void Stop();

  /// Counts one event published by `node_id`.
  void Observe(const std::string& node_id, const Event& event);

  /// The statistics of the window ending at `now_ms` (Unix ms):
  /// {"window_s","time_ms","events","sessions_started","decisions":{"verified",...},
  ///  "verifications","verifications_per_min","reject_rate","identifications",
  ///  "identifications_per_min","enrollments","mos":{"mean","min","max","samples"},
  ///  "active_nodes","nodes":{id:{"last_event_ms","events","active"}},"consumed","claimed"}.
  /// Rates are counts in the window divided by its length; reject_rate is rejected / (verified +
  /// rejected); null where there is nothing to divide.
  nlohmann::json Snapshot(int64_t now_ms) const;
  /// Snapshot at the wall clock now.
  nlohmann::json Snapshot() const;

  /// Stream entries this aggregator consumed and acknowledged (own reads and claims).
  uint64_t consumed() const { return consumed_.load(); }
  /// Of those, entries taken over from another consumer.
  uint64_t claimed() const { return claimed_.load(); }
  const ClusterAggregatorConfig& config() const { return config_; }

  /// The decision outcomes counted apart ("verified", "rejected", "identified", "unknown",
  /// "inconclusive"); any other outcome counts as "other".
  static constexpr const char* kOutcomes[] = {"verified", "rejected",     "identified",
                                              "unknown",  "inconclusive", "other"};

 private:
  static constexpr size_t kNumOutcomes = std::size(kOutcomes);
  struct NodeState {
    int64_t last_event_ms = 0;
    uint64_t events = 0;
  };

  void ConsumeLoop();
  // Observes and acknowledges one XREADGROUP/XAUTOCLAIM batch; the number of entries.
  Result<size_t> Consume(const RedisReply& entries, bool claimed);
  bool SleepUnlessStopped(int ms);

  const ClusterAggregatorConfig config_;
  RedisEventBusConfig bus_;
  std::unique_ptr<RedisClient> client_;

  mutable std::mutex mu_;
  SlidingWindow events_;                    // GUARDED_BY(mu_)
  SlidingWindow sessions_;                  // GUARDED_BY(mu_)
  SlidingWindow enrollments_;               // GUARDED_BY(mu_)
  SlidingWindow mos_;                       // GUARDED_BY(mu_)
  std::vector<SlidingWindow> decisions_;    // GUARDED_BY(mu_); one per kOutcomes
  std::map<std::string, NodeState> nodes_;  // GUARDED_BY(mu_)

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // GUARDED_BY(stop_mu_)
  std::atomic<uint64_t> consumed_{0};
  std::atomic<uint64_t> claimed_{0};
  std::shared_ptr<metrics::Registry> registry_;  // keeps consumed_metric_ alive
  metrics::Counter* consumed_metric_ = nullptr;
  std::thread thread_;
};

}  // namespace voxgate::analytics
