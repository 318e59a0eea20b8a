// SessionView: what the SessionRegistry (and GET /api/v1/sessions) sees of a live session -- a SIP
// call, a WebSocket stream. Each session kind implements it over its own state; Describe is a
// consistent snapshot, typically {"id", "kind", "started_at", "qos": QosTracker::Snapshot, ...}.
//
// Implementations must be thread-safe: API threads call Describe while the session runs on its
// own threads. Describe must not call back into the SessionRegistry while holding a lock that the
// session's own code takes before calling the registry.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace voxgate::analytics {

class SessionView {
 public:
  virtual ~SessionView() = default;
  /// Unique among live sessions, stable for the session's life (e.g. the SIP Call-ID).
  virtual std::string id() const = 0;
  /// "sip", "websocket", ...: the metrics label and a field of every listing.
  virtual std::string kind() const = 0;
  /// A JSON snapshot of the session at `now_s` (monotonic seconds).
  virtual nlohmann::json Describe(double now_s) const = 0;
};

}  // namespace voxgate::analytics
