// RedisStreamsEventBus: the EventBus of a cluster. Every node appends its events to one Redis
// Stream (XADD with MAXLEN ~, so the stream stays bounded) and reads the others' back, so a
// subscriber on any node sees the events of every node; aggregators share the stream's work
// through a consumer group (see ClusterAggregator).
//
// Publish never waits for Redis, because the media path calls it: the event goes at once to the
// local subscribers (exactly as on InProcessEventBus) and into a bounded queue that a writer
// thread drains in pipelined XADD batches. When the queue is full its OLDEST event is dropped and
// counted, like a Subscription's. When Redis is down, local delivery goes on, the queue buffers up
// to its bound, failures are counted, and the writer retries with exponential backoff; queued
// events flow once Redis is back (an event in a batch whose reply was lost may be written twice:
// delivery to the stream is at least once).
//
// A reader thread, on a dedicated connection, follows the stream with XREAD BLOCK from the last
// id it saw (at start: the stream's last entry, so history is not replayed) and delivers the
// entries of OTHER nodes to the local subscribers; a node's own entries are skipped, since they
// were delivered when published. Entries carry the origin node id (field "node").
//
// Metrics: voxgate_events_published_total, voxgate_events_dropped_total (queue overflow),
// voxgate_events_failed_total (events in a write that failed; a retried event counts each time),
// voxgate_events_received_remote_total.
//
// Thread-safe. Stop() (also run by the destructor) flushes what is queued while Redis answers,
// then joins the threads; subscriptions may outlive the bus.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "analytics/event_bus.h"
#include "analytics/in_process_event_bus.h"
#include "common/config_node.h"
#include "common/redis_client.h"
#include "common/result.h"
#include "metrics/registry.h"

namespace voxgate::analytics {

struct RedisEventBusConfig {
  std::string stream_key = "voxgate:events";  // the Redis Stream every node appends to
  int64_t maxlen = 100000;  // approximate bound on the stream's entries (XADD MAXLEN ~), >= 1
  std::string node_id;      // this node's id in every entry; required (serve: its node id)
  std::string group = "voxgate-aggregator";  // consumer group of the cluster aggregators
  int block_ms = 1000;         // longest a blocking XREAD/XREADGROUP waits, ms (also Stop latency)
  int queue_capacity = 10000;  // events waiting for the writer; beyond, the oldest drop
  int batch_size = 256;        // events per pipelined XADD batch
  int backoff_min_ms = 100;    // first wait after a Redis failure; doubles up to backoff_max_ms
  int backoff_max_ms = 5000;

  Status Validate() const;
  std::string ToString() const;
  /// The "events" section: stream_key, maxlen, node_id, group, block_ms, queue_capacity,
  /// batch_size, backoff_min_ms, backoff_max_ms.
  Status Load(const ConfigNode& node);
};

/// One entry of the stream, decoded.
struct StreamEvent {
  std::string id;       // the stream entry id ("1700000000000-0")
  std::string node_id;  // the node that published it
  Event event;

  /// Event::ToJson() with "id" and "node_id" added: what `voxgate events tail` prints.
  nlohmann::json ToJson() const;
};

class RedisStreamsEventBus final : public EventBus,
                                   public std::enable_shared_from_this<RedisStreamsEventBus> {
 public:
  /// Validates `config` and starts the writer and reader threads. Redis need not be up: the bus
  /// works locally and connects when it can. `client` is shared with others (pooled commands);
  /// the reader opens its own connection (same options) for blocking reads. `registry`: null for
  /// the default.
  static Result<std::shared_ptr<RedisStreamsEventBus>> Create(
      const RedisEventBusConfig& config, std::shared_ptr<RedisClient> client,
      std::shared_ptr<metrics::Registry> registry);
  ~RedisStreamsEventBus() override;
  RedisStreamsEventBus(const RedisStreamsEventBus&) = delete;
  RedisStreamsEventBus& operator=(const RedisStreamsEventBus&) = delete;

  void Publish(const Event& event) override;
  /// Receives local events and, from the stream, the other nodes' events.
  std::shared_ptr<Subscription> Subscribe(std::string type_prefix, size_t capacity) override;

  /// A view of this bus whose Publish is this bus's and whose subscriptions receive only this
  /// node's own events: for consumers that must act once per event in the cluster (webhooks),
  /// which every node runs for its own events. Keeps the bus alive.
  std::shared_ptr<EventBus> LocalOnly();

  /// Writes what is queued (for at most about block_ms more while Redis answers), then stops
  /// the threads. Later Publish calls still reach local subscribers. Idempotent.
  void Stop();

  const RedisEventBusConfig& config() const { return config_; }
  uint64_t published() const { return published_.load(); }  // Publish calls
  uint64_t written() const { return written_.load(); }      // events XADDed
  uint64_t dropped() const { return dropped_.load(); }
  uint64_t failed() const { return failed_.load(); }
  uint64_t received_remote() const { return received_remote_.load(); }
  /// Events waiting for the writer.
  size_t queued() const;
  /// The reader knows where to follow the stream from: entries added from now on reach the
  /// local subscribers. False until Redis first answered.
  bool reading() const { return reading_.load(); }

  /// The XADD arguments of `event` from `node_id` (fields node, type, session, time_ms, data).
  static std::vector<std::string> XAddArgs(const RedisEventBusConfig& config,
                                           const std::string& node_id, const Event& event);
  /// Decodes an XREAD/XREADGROUP/XRANGE reply (for XREAD: the entries of every stream in it).
  /// Malformed or deleted entries are skipped, their ids appended to *malformed_ids (may be null:
  /// a consumer group still acknowledges them); never throws.
  static std::vector<StreamEvent> ParseEntries(const RedisReply& reply,
                                               std::vector<std::string>* malformed_ids = nullptr);
  /// Stream ids ("<ms>-<seq>") in numeric order ("9-0" before "10-0").
  static bool IdLess(const std::string& a, const std::string& b);
  /// The id of the stream's newest entry, "0-0" when it is empty or absent.
  static Result<std::string> LastId(RedisClient& client, const std::string& stream_key);

 private:
  class LocalView;
  RedisStreamsEventBus(const RedisEventBusConfig& config, std::shared_ptr<RedisClient> client,
                       std::unique_ptr<RedisClient> reader_client,
                       std::shared_ptr<metrics::Registry> registry);
  void WriterLoop();
  void ReaderLoop();
  // Waits up to `ms` unless Stop() is called; false once stopping.
  bool SleepUnlessStopped(int ms);

  const RedisEventBusConfig config_;
  const std::shared_ptr<RedisClient> client_;
  const std::unique_ptr<RedisClient> reader_client_;  // one connection, for XREAD BLOCK
  const std::shared_ptr<metrics::Registry> registry_;
  InProcessEventBus all_;    // local and remote events
  InProcessEventBus local_;  // local events only (LocalOnly())

  mutable std::mutex mu_;
  std::condition_variable cv_;       // wakes the writer (events queued, stop)
  std::condition_variable stop_cv_;  // wakes backoff sleeps (stop)
  std::deque<Event> queue_;          // GUARDED_BY(mu_)
  bool stopping_ = false;            // GUARDED_BY(mu_)
  bool stopped_ = false;             // GUARDED_BY(mu_); Stop() ran

  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> received_remote_{0};
  std::atomic<bool> reading_{false};
  metrics::Counter* published_metric_ = nullptr;
  metrics::Counter* dropped_metric_ = nullptr;
  metrics::Counter* failed_metric_ = nullptr;
  metrics::Counter* received_remote_metric_ = nullptr;

  std::thread writer_;
  std::thread reader_;
};

}  // namespace voxgate::analytics
