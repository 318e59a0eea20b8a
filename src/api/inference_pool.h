// InferencePool: a fixed set of worker threads with a bounded queue, for the slow part of a
// request (decoding, feature extraction, model inference). Bounded on purpose: when the queue is
// full TrySubmit refuses at once and the caller answers 503 with Retry-After, so overload reaches
// the client instead of growing latency and memory without limit.
//
// Thread-safe. Tasks must not throw (an exception is caught, logged and counted). Metrics (with
// label pool=<name>): voxgate_inference_queue_depth, voxgate_inference_busy_workers,
// voxgate_inference_tasks_total{outcome=done|failed|rejected},
// voxgate_inference_queue_wait_seconds, voxgate_inference_task_seconds.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/responder.h"
#include "common/config_node.h"
#include "common/status.h"
#include "metrics/registry.h"

namespace voxgate::api {

struct InferencePoolConfig {
  int threads = 2;          // workers; inference is CPU-bound, so about the number of cores
  int queue_capacity = 32;  // tasks waiting for a worker; beyond this TrySubmit refuses
  int retry_after_s = 1;    // Retry-After sent with the 503 when the queue is full, seconds

  Status Validate() const;
  std::string ToString() const;
  /// Reads threads, queue_capacity, retry_after_s.
  Status Load(const ConfigNode& node);
};

class InferencePool {
 public:
  using Task = std::function<void()>;

  /// Starts the workers. `registry`: where the pool's metrics go (null: Registry::Default()).
  explicit InferencePool(InferencePoolConfig config,
                         std::shared_ptr<metrics::Registry> registry = nullptr,
                         std::string name = "inference");
  /// Shutdown(30 s) if not already shut down.
  ~InferencePool();
  InferencePool(const InferencePool&) = delete;
  InferencePool& operator=(const InferencePool&) = delete;

  /// Queues `task`; false (task not run) when the queue is full or the pool is shut down.
  bool TrySubmit(Task task);

  /// Stops taking tasks, lets the workers finish the running and queued ones for up to
  /// `drain_timeout`, drops (destroys without running) what is still queued after that, and joins
  /// the workers (a running task is always waited for). Idempotent.
  void Shutdown(std::chrono::milliseconds drain_timeout = std::chrono::seconds(30));

  size_t queue_depth() const;
  int busy_workers() const;
  const InferencePoolConfig& config() const { return config_; }

 private:
  struct Item {
    Task task;
    std::chrono::steady_clock::time_point queued_at;
  };
  void WorkerLoop();

  const InferencePoolConfig config_;
  std::shared_ptr<metrics::Registry> registry_;
  metrics::Gauge& queue_depth_gauge_;
  metrics::Gauge& busy_gauge_;
  metrics::Counter& done_;
  metrics::Counter& failed_;
  metrics::Counter& rejected_;
  metrics::Histogram& wait_s_;
  metrics::Histogram& run_s_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // workers wait for tasks
  std::condition_variable drain_cv_;  // Shutdown waits for an empty queue
  std::deque<Item> queue_;            // guarded by mu_
  bool accepting_ = true;             // guarded by mu_
  bool stop_ = false;                 // guarded by mu_: workers exit when set and queue empty
  int busy_ = 0;                      // guarded by mu_
  bool joined_ = false;               // guarded by shutdown_mu_
  std::mutex shutdown_mu_;
  std::vector<std::thread> workers_;
};

/// Runs `work` with the responder on a pool worker. When the pool refuses (queue full or shut
/// down) answers 503 unavailable with Retry-After: config().retry_after_s instead. Use from a
/// handler: `SubmitOrReject(pool, std::move(responder), [](Responder r) { ... r.Send(...); });`
void SubmitOrReject(InferencePool& pool, Responder responder, std::function<void(Responder)> work);

}  // namespace voxgate::api
