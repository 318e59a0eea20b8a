// Subscription: one consumer's end of an EventBus: the events whose type starts with its prefix,
// in a bounded queue. When the consumer falls behind and the queue is full, the OLDEST queued
// event is dropped and counted, so a slow consumer loses history, never the newest state, and
// never slows the publisher down.
//
// Abstract so that each bus backend (in process, Redis Streams) brings its own. Implementations
// are thread-safe: one thread typically waits in WaitFor while another calls Cancel.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "analytics/event.h"

namespace voxgate::analytics {

class Subscription {
 public:
  virtual ~Subscription() = default;

  /// Moves the oldest queued event into *event. False when the queue is empty or after Cancel().
  virtual bool Poll(Event* event) = 0;
  /// Like Poll, but waits up to `timeout` for an event. False on timeout or once cancelled (a
  /// Cancel() from another thread wakes the wait).
  virtual bool WaitFor(Event* event, std::chrono::milliseconds timeout) = 0;
  /// Events dropped so far because the queue was full.
  virtual uint64_t dropped() const = 0;
  /// Stops delivery and discards what is queued; the bus forgets the subscription. Idempotent.
  virtual void Cancel() = 0;
  virtual bool cancelled() const = 0;
  /// The event type prefix this subscription receives ("" receives everything).
  virtual const std::string& type_prefix() const = 0;
};

}  // namespace voxgate::analytics
