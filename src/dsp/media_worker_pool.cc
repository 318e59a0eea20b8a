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
  // Least loaded by task count.
  size_t best = 0;
  size_t best_size = SIZE_MAX;
  for (size_t i = 0; i < workers_.size(); ++i) {
    const size_t n = workers_[i]->count.load(std::memory_order_relaxed);
    if (n < best_size) {
      best = i;
      best_size = n;
    }
  }
  Worker& w = *workers_[best];
  {
    std::lock_guard lock(w.mu);  // never held across a pass: the caller does not wait for one
    w.pending.push_back(std::move(task));
  }
  w.count.fetch_add(1, std::memory_order_relaxed);
  return static_cast<int>(best);
}

void MediaWorkerPool::Detach(const std::shared_ptr<MediaTask>& task) {
  for (auto& w : workers_) {
    std::lock_guard pass(w->pass_mu);  // waits for a pump pass in progress
    std::lock_guard lock(w->mu);
    for (auto* list : {&w->tasks, &w->pending}) {
      auto it = std::find(list->begin(), list->end(), task);
      if (it != list->end()) {
        list->erase(it);
        w->count.fetch_sub(1, std::memory_order_relaxed);
        return;
      }
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
  for (const auto& w : workers_) n += w->count.load(std::memory_order_relaxed);
  return n;
}

void MediaWorkerPool::Run(Worker& w) {
  const auto tick = std::chrono::milliseconds(config_.tick_ms);
  auto next = std::chrono::steady_clock::now() + tick;
  while (!stop_.load()) {
    {
      std::unique_lock lock(w.mu);
      w.cv.wait_until(lock, next, [&] { return w.woken; });
      w.woken = false;
    }
    if (stop_.load()) break;
    std::lock_guard pass(w.pass_mu);
    {
      std::lock_guard lock(w.mu);
      for (auto& t : w.pending) w.tasks.push_back(std::move(t));
      w.pending.clear();
    }
    for (const auto& task : w.tasks) task->Pump();
    const auto now = std::chrono::steady_clock::now();
    next = now >= next ? now + tick : next;
  }
}

}  // namespace voxgate::dsp
