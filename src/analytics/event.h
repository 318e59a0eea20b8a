// Event: one thing that happened, as it travels over the event bus (in process now, Redis Streams
// when scaled out): session lifecycle, VAD, running scores, decisions, DTMF, QoS windows,
// enrollments, node changes. Value type, thread-compatible.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace voxgate::analytics {

struct Event {
  /// Dotted type: "session.started", "session.vad", "session.score", "session.decision",
  /// "session.dtmf", "session.qos", "session.ended", "voiceprint.enrolled", "node.joined", ...
  std::string type;
  std::string session_id;  // empty for events that belong to no session
  int64_t time_ms = 0;     // wall clock, Unix milliseconds
  nlohmann::json data = nlohmann::json::object();

  /// {"type","session_id","time_ms","data"}.
  nlohmann::json ToJson() const;
  /// Wall clock now, Unix milliseconds.
  static int64_t NowMs();
};

}  // namespace voxgate::analytics
