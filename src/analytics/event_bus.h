// EventBus: how events (session lifecycle, VAD, scores, decisions, QoS windows, enrollments, node
// changes) travel from whoever produces them to whoever wants them: webhooks, the WebSocket event
// feed, the dashboard. Backends: InProcessEventBus (one box) and Redis Streams (a cluster).
//
// Delivery is by type prefix: a subscription to "session." receives "session.qos" and
// "session.ended". Publish never blocks on a slow subscriber: each subscription has its own bounded
// queue that drops its oldest event when full (see Subscription). Implementations are thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "analytics/event.h"
#include "analytics/subscription.h"

namespace voxgate::analytics {

class EventBus {
 public:
  virtual ~EventBus() = default;

  /// Hands `event` to every live subscription whose prefix matches its type. Never blocks.
  virtual void Publish(const Event& event) = 0;
  /// A new subscription to the types starting with `type_prefix` ("" for all), queueing at most
  /// `capacity` events (0 is taken as 1). Events published before it are not delivered.
  virtual std::shared_ptr<Subscription> Subscribe(std::string type_prefix, size_t capacity) = 0;

  /// The one matching rule every backend uses: a plain string prefix.
  static bool TypeMatches(std::string_view type_prefix, std::string_view type) {
    return type.substr(0, type_prefix.size()) == type_prefix;
  }
};

}  // namespace voxgate::analytics
