// MediaWorkerPool: the threads that run live sessions' pipelines. Each attached task is pumped by
// one worker every tick (10 ms by default) or sooner when its producer calls Wake(); a task drains
// whatever its transport queued since the last pump. Sessions are spread over the workers by
// count, so one slow session delays only the sessions that share its worker.
//
// Thread-safe. Attach/Detach/Wake from any thread; Pump() of one task is only ever called on its
// worker's thread, never concurrently with itself, and never after Detach() returned. Attach()
// and Wake() never wait for a pumping pass (the SIP and network threads call them); Detach()
// does, by design.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace voxgate::dsp {

/// Work a media worker runs periodically.
class MediaTask {
 public:
  virtual ~MediaTask() = default;
  /// Processes what arrived since the last call. Runs on the task's worker thread; must not
  /// block on I/O.
  virtual void Pump() = 0;
};

struct MediaWorkerPoolConfig {
  int threads = 0;   // 0: one per core
  int tick_ms = 10;  // how often every task is pumped even without a Wake()
};

class MediaWorkerPool {
 public:
  explicit MediaWorkerPool(MediaWorkerPoolConfig config = {});
  /// Stops and joins the workers (detaching every task).
  ~MediaWorkerPool();
  MediaWorkerPool(const MediaWorkerPool&) = delete;
  MediaWorkerPool& operator=(const MediaWorkerPool&) = delete;

  /// Adds a task to the least loaded worker; returns the worker index (for Wake).
  int Attach(std::shared_ptr<MediaTask> task);
  /// Removes a task. When it returns, the worker is not inside the task's Pump() and will not
  /// call it again. Must not be called from the task's own Pump().
  void Detach(const std::shared_ptr<MediaTask>& task);
  /// Asks worker `worker` to pump its tasks now rather than at the next tick.
  void Wake(int worker);

  int threads() const { return static_cast<int>(workers_.size()); }
  size_t tasks() const;

 private:
  struct Worker {
    std::mutex pass_mu;  // held for a whole pumping pass, so Detach waits for one; guards tasks
    std::vector<std::shared_ptr<MediaTask>> tasks;  // GUARDED_BY(pass_mu)
    std::mutex mu;                                  // short: guards pending and woken
    std::condition_variable cv;
    std::vector<std::shared_ptr<MediaTask>> pending;  // GUARDED_BY(mu): attached, not yet pumped
    bool woken = false;                               // GUARDED_BY(mu)
    std::atomic<size_t> count{0};                     // tasks + pending, for balancing
    std::thread thread;
  };
  void Run(Worker& w);

  MediaWorkerPoolConfig config_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> stop_{false};
};

}  // namespace voxgate::dsp
