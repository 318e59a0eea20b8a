#include "analytics/in_process_event_bus.h"

#include <algorithm>
#include <condition_variable>
#include <deque>

namespace voxgate::analytics {

// One subscription's bounded queue. Lock order: the bus's mutex, then a queue's; a queue never
// calls back into the bus.
class InProcessEventBus::Queue final : public Subscription {
 public:
  Queue(std::string prefix, size_t capacity)
      : prefix_(std::move(prefix)), capacity_(std::max<size_t>(capacity, 1)) {}

  // Called by the bus. Drops the oldest event when full. False once cancelled.
  bool Push(const Event& event) {
    {
      std::lock_guard lock(mu_);
      if (cancelled_) return false;
      if (queue_.size() >= capacity_) {
        queue_.pop_front();
        ++dropped_;
      }
      queue_.push_back(event);
    }
    cv_.notify_one();
    return true;
  }

  bool Poll(Event* event) override {
    std::lock_guard lock(mu_);
    return PopLocked(event);
  }

  bool WaitFor(Event* event, std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return cancelled_ || !queue_.empty(); });
    return PopLocked(event);
  }

  uint64_t dropped() const override {
    std::lock_guard lock(mu_);
    return dropped_;
  }

  void Cancel() override {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      queue_.clear();
    }
    cv_.notify_all();
  }

  bool cancelled() const override {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

  const std::string& type_prefix() const override { return prefix_; }

 private:
  bool PopLocked(Event* event) {
    if (cancelled_ || queue_.empty()) return false;
    *event = std::move(queue_.front());
    queue_.pop_front();
    return true;
  }

  const std::string prefix_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> queue_;  // GUARDED_BY(mu_)
  uint64_t dropped_ = 0;     // GUARDED_BY(mu_)
  bool cancelled_ = false;   // GUARDED_BY(mu_)
};

void InProcessEventBus::PruneLocked() const {
  std::erase_if(subscribers_, [](const std::weak_ptr<Queue>& weak) {
    std::shared_ptr<Queue> q = weak.lock();
    return q == nullptr || q->cancelled();
  });
}

void InProcessEventBus::Publish(const Event& event) {
  std::lock_guard lock(mu_);
  ++published_;
  bool prune = false;
  for (const std::weak_ptr<Queue>& weak : subscribers_) {
    std::shared_ptr<Queue> q = weak.lock();
    // Push fails only on a cancelled subscription: forget it like a destroyed one.
    if (q == nullptr || (TypeMatches(q->type_prefix(), event.type) && !q->Push(event))) {
      prune = true;
    }
  }
  if (prune) PruneLocked();
}

std::shared_ptr<Subscription> InProcessEventBus::Subscribe(std::string type_prefix,
                                                           size_t capacity) {
  auto q = std::make_shared<Queue>(std::move(type_prefix), capacity);
  std::lock_guard lock(mu_);
  PruneLocked();
  subscribers_.push_back(q);
  return q;
}

size_t InProcessEventBus::subscriber_count() const {
  std::lock_guard lock(mu_);
  PruneLocked();
  return subscribers_.size();
}

uint64_t InProcessEventBus::published() const {
  std::lock_guard lock(mu_);
  return published_;
}

}  // namespace voxgate::analytics
