// NodeInfo: one voxgate node as the cluster sees it, in the Edge-VoMID JSON shape that
// /api/v1/cluster/nodes and /api/v1/cluster/status return (and that the single-box service in
// api/voiceprint_routes.cc already uses). Plain data, thread-compatible.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace voxgate::cluster {

struct NodeInfo {
  std::string node_id;  // unique in the cluster, e.g. "host:port"
  std::string host;     // where the node's REST API is reached
  int port = 0;
  int weight = 1;  // load-balancing weight, >= 1
  bool is_healthy = true;
  int64_t active_connections = 0;
  int64_t total_requests = 0;
  int64_t error_count = 0;
  double avg_response_time = 0.0;    // mean response time, seconds
  int64_t last_health_check_ms = 0;  // Unix time of the last check or heartbeat, ms; 0: never
  nlohmann::json metadata = nlohmann::json::object();  // free-form details

  /// "host:port".
  std::string Address() const;
  /// The Edge-VoMID shape; last_health_check as ISO 8601 UTC (null when never checked).
  nlohmann::json ToJson() const;
  /// Parses the shape of ToJson (POST /api/v1/cluster/nodes). node_id, host and port are required
  /// (node_id defaults to "host:port" when absent); weight in [1, 1000]; unknown fields ignored.
  /// Never throws: kInvalidArgument naming the field.
  static Result<NodeInfo> FromJson(const nlohmann::json& json);
  /// Checks node_id (1..256 chars, no control characters or '/'), host and port.
  Status Validate() const;
};

/// "2026-05-01T12:34:56.789Z" for a Unix time in ms.
std::string IsoUtcFromMs(int64_t unix_ms);
/// Unix time now, ms.
int64_t UnixNowMs();

}  // namespace voxgate::cluster
