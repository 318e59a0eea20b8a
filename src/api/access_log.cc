#include "api/access_log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "api/response.h"

namespace voxgate::api {

namespace {

std::shared_ptr<spdlog::logger> DefaultAccessLogger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>("voxgate.access",
                                              std::make_shared<spdlog::sinks::stdout_sink_mt>());
    l->set_pattern("%v");  // the line is already complete JSON
    l->set_level(spdlog::level::info);
    return l;
  }();
  return logger;
}

}  // namespace

AccessLog::AccessLog(std::shared_ptr<spdlog::logger> logger)
    : logger_(logger ? std::move(logger) : DefaultAccessLogger()) {}

std::string AccessLog::Format(const AccessLogEntry& e, std::string_view level,
                              std::chrono::system_clock::time_point time) {
  nlohmann::json j = {
      {"ts", Iso8601Utc(time)},  {"level", std::string(level)},
      {"msg", "http_request"},   {"request_id", e.request_id},
      {"method", e.method},      {"route", e.route},
      {"status", e.status},      {"duration_ms", std::round(e.duration_ms * 1000.0) / 1000.0},
      {"remote", e.remote},      {"bytes_in", e.bytes_in},
      {"bytes_out", e.bytes_out}};
  if (!e.key_id.empty()) j["key_id"] = e.key_id;
  return DumpJson(j);
}

void AccessLog::Write(const AccessLogEntry& entry) const {
  bool error = entry.status >= 500;
  std::string line = Format(entry, error ? "error" : "info", std::chrono::system_clock::now());
  logger_->log(error ? spdlog::level::err : spdlog::level::info, "{}", line);
}

}  // namespace voxgate::api
