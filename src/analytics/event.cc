#include "analytics/event.h"

#include <chrono>

namespace voxgate::analytics {

nlohmann::json Event::ToJson() const {
  return {{"type", type}, {"session_id", session_id}, {"time_ms", time_ms}, {"data", data}};
}

int64_t Event::NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace voxgate::analytics
