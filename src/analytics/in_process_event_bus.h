// InProcessEventBus: the EventBus of a single process. Each subscription is a bounded queue with
// its own mutex; Publish copies the event into every matching queue (dropping a full queue's oldest
// event), so it costs a copy per subscriber and never waits for a consumer.
//
// Thread-safe. Publishes are delivered in one total order: every subscriber sees the events it
// matches in the same relative order. Subscriptions that are cancelled or destroyed are forgotten
// (at the next Publish or Subscribe). A subscription may outlive the bus; it then simply receives
// nothing more.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "analytics/event_bus.h"

namespace voxgate::analytics {

class InProcessEventBus final : public EventBus {
 public:
  InProcessEventBus() = default;
  InProcessEventBus(const InProcessEventBus&) = delete;
  InProcessEventBus& operator=(const InProcessEventBus&) = delete;

  void Publish(const Event& event) override;
  std::shared_ptr<Subscription> Subscribe(std::string type_prefix, size_t capacity) override;

  /// Live subscriptions (after forgetting cancelled and destroyed ones).
  size_t subscriber_count() const;
  /// Events published so far.
  uint64_t published() const;

 private:
  class Queue;
  // Forgets cancelled and destroyed subscriptions; expects mu_ held.
  void PruneLocked() const;

  mutable std::mutex mu_;
  mutable std::vector<std::weak_ptr<Queue>> subscribers_;  // GUARDED_BY(mu_)
  uint64_t published_ = 0;                                 // GUARDED_BY(mu_)
};

}  // namespace voxgate::analytics
