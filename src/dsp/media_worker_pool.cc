#include "dsp/media_worker_pool.h"

#include <algorithm>

namespace voxgate::dsp {

MediaWorkerPool::MediaWorkerPool(MediaWorkerPoolConfig config) : config_(config) {
  int n = config_.threads > 0 ? config_.threads
                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (config_.tick_ms <= 0) config_.tick_ms = 10;
  for (int i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>());
  for (auto& w : workers_) {
    Worker* raw = w.get();
    w->thread = std::thread([this, raw] { Run(*raw); });
  }
}

MediaWorkerPool::~MediaWorkerPool() {
  stop_.store(true);
  for (auto& w : workers_) {
    {
      std::lock_guard lock(w->mu);
      w->woken = true;
    }
    w->cv.notify_one();
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

int MediaWorkerPool::Attach(std::shared_ptr<MediaTask> task) {
  // Least loaded by task count; the sizes are read without the other locks held, which is fine
  // for a balancing heuristic.
  size_t best = 0;
  size_t best_size = SIZE_MAX;
  for (size_t i = 0; i < workers_.size(); ++i) {
    std::lock_guard lock(workers_[i]->mu);
    if (workers_[i]->tasks.size() < best_size) {
      best = i;
      best_size = workers_[i]->tasks.size();
    }
  }
  {
    std::lock_guard lock(workers_[best]->mu);
    workers_[best]->tasks.push_back(std::move(task));
  }
  return static_cast<int>(best);
}

void MediaWorkerPool::Detach(const std::shared_ptr<MediaTask>& task) {
  for (auto& w : workers_) {
    std::lock_guard lock(w->mu);  // waits for a pump pass in progress
    auto it = std::find(w->tasks.begin(), w->tasks.end(), task);
    if (it != w->tasks.end()) {
      w->tasks.erase(it);
      return;
    }
  }
}

void MediaWorkerPool::Wake(int worker) {
  if (worker < 0 || worker >= static_cast<int>(workers_.size())) return;
  Worker& w = *workers_[worker];
  {
    std::lock_guard lock(w.mu);
    w.woken = true;
  }
  w.cv.notify_one();
}

size_t MediaWorkerPool::tasks() const {
  size_t n = 0;
  for (const auto& w : workers_) {
    std::lock_guard lock(w->mu);
    n += w->tasks.size();
  }
  return n;
}

void MediaWorkerPool::Run(Worker& w) {
  const auto tick = std::chrono::milliseconds(config_.tick_ms);
  auto next = std::chrono::steady_clock::now() + tick;
  std::unique_lock lock(w.mu);
  while (!stop_.load()) {
    w.cv.wait_until(lock, next, [&] { return w.woken; });
    w.woken = false;
    if (stop_.load()) break;
    for (const auto& task : w.tasks) task->Pump();
    const auto now = std::chrono::steady_clock::now();
    if (now >= next) next = now + tick;
  }
}

}  // namespace voxgate::dsp
