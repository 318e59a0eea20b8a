#include "cluster/node_info.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

namespace voxgate::cluster {

using json = nlohmann::json;

std::string NodeInfo::Address() const { return fmt::format("{}:{}", host, port); }

std::string IsoUtcFromMs(int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, unix_ms % 1000);
}

int64_t UnixNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json NodeInfo::ToJson() const {
  return {{"node_id", node_id},
          {"host", host},
          {"port", port},
          {"weight", weight},
          {"is_healthy", is_healthy},
          {"active_connections", active_connections},
          {"total_requests", total_requests},
          {"error_count", error_count},
          {"avg_response_time", avg_response_time},
          {"last_health_check",
           last_health_check_ms > 0 ? json(IsoUtcFromMs(last_health_check_ms)) : json(nullptr)},
          {"metadata", metadata.is_object() ? metadata : json::object()}};
}

Status NodeInfo::Validate() const {
  if (node_id.empty() || node_id.size() > 256) {
    return InvalidArgumentError("node_id must be 1..256 characters");
  }
  for (unsigned char c : node_id) {
    if (c < 0x20 || c == 0x7f || c == '/') {
      return InvalidArgumentError("node_id must not hold '/' or control characters");
    }
  }
  if (host.empty() || host.size() > 255) return InvalidArgumentError("host must be 1..255 chars");
  for (unsigned char c : host) {
    if (c <= 0x20 || c == 0x7f || c == '/') return InvalidArgumentError("host is not a host name");
  }
  if (port < 1 || port > 65535) return InvalidArgumentError("port must be in [1, 65535]");
  if (weight < 1 || weight > 1000) return InvalidArgumentError("weight must be in [1, 1000]");
  return Status::Ok();
}

namespace {

template <typename T>
Status GetNumber(const json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_number()) return InvalidArgumentError(fmt::format("{} must be a number", key));
  if constexpr (std::is_integral_v<T>) {
    if (!it->is_number_integer() && !it->is_number_unsigned()) {
      return InvalidArgumentError(fmt::format("{} must be an integer", key));
    }
    const double v = it->get<double>();
    if (v < -9e15 || v > 9e15) return InvalidArgumentError(fmt::format("{} is out of range", key));
  }
  *out = it->get<T>();
  return Status::Ok();
}

}  // namespace

Result<NodeInfo> NodeInfo::FromJson(const json& j) {
  if (!j.is_object()) return InvalidArgumentError("a node must be a JSON object");
  NodeInfo n;
  if (auto it = j.find("host"); it != j.end()) {
    if (!it->is_string()) return InvalidArgumentError("host must be a string");
    n.host = it->get<std::string>();
  } else {
    return InvalidArgumentError("host is required");
  }
  if (j.find("port") == j.end()) return InvalidArgumentError("port is required");
  VOXGATE_RETURN_IF_ERROR(GetNumber(j, "port", &n.port));
  if (auto it = j.find("node_id"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return InvalidArgumentError("node_id must be a string");
    n.node_id = it->get<std::string>();
  } else {
    n.node_id = n.Address();
  }
  VOXGATE_RETURN_IF_ERROR(GetNumber(j, "weight", &n.weight));
  VOXGATE_RETURN_IF_ERROR(GetNumber(j, "active_connections", &n.active_connections));
  VOXGATE_RETURN_IF_ERROR(GetNumber(j, "total_requests", &n.total_requests));
  VOXGATE_RETURN_IF_ERROR(GetNumber(j, "error_count", &n.error_count));
  VOXGATE_RETURN_IF_ERROR(GetNumber(j, "avg_response_time", &n.avg_response_time));
  if (auto it = j.find("is_healthy"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return InvalidArgumentError("is_healthy must be a boolean");
    n.is_healthy = it->get<bool>();
  }
  if (auto it = j.find("metadata"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgumentError("metadata must be an object");
    n.metadata = *it;
  }
  VOXGATE_RETURN_IF_ERROR(n.Validate());
  return n;
}

}  // namespace voxgate::cluster
