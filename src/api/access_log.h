// AccessLog: one JSON line per answered request:
//   {"ts":"<ISO 8601>","level":"info","msg":"http_request","request_id":"...","method":"GET",
//    "route":"/api/v1/voiceprint/{user_id}","status":200,"duration_ms":1.25,"remote":"127.0.0.1",
//    "key_id":"...","bytes_in":0,"bytes_out":123}
// Only the route pattern is logged, never the raw path or query, header values (Authorization,
// X-API-Key) or bodies, so keys and personal data stay out of the logs. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace voxgate::api {

struct AccessLogEntry {
  std::string request_id;
  std::string method;
  std::string route;  // pattern, or "unmatched"
  int status = 0;
  double duration_ms = 0;
  std::string remote;
  std::string key_id;  // "" when not authenticated
  int64_t bytes_in = 0;
  int64_t bytes_out = 0;
};

class AccessLog {
 public:
  /// `logger`: where lines go (null: a logger that writes bare JSON lines to stdout).
  explicit AccessLog(std::shared_ptr<spdlog::logger> logger = nullptr);

  /// Writes the line at info (status < 500) or error level.
  void Write(const AccessLogEntry& entry) const;

  static std::string Format(const AccessLogEntry& entry, std::string_view level,
                            std::chrono::system_clock::time_point time);

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace voxgate::api
