#include "cluster/cluster_config.h"

#include <fmt/format.h>

#include <vector>

namespace voxgate::cluster {

Status ClusterConfig::Validate() const {
  if (enabled != "auto" && enabled != "on" && enabled != "off") {
    return InvalidArgumentError("cluster.enabled must be auto, on or off, not '" + enabled + "'");
  }
  if (heartbeat_interval_ms < 50 || heartbeat_interval_ms > 600000) {
    return InvalidArgumentError("cluster.heartbeat_interval_ms must be in [50, 600000]");
  }
  // Two missed heartbeats must not expire a live node.
  if (node_ttl_ms < 2 * heartbeat_interval_ms) {
    return InvalidArgumentError("cluster.node_ttl_ms must be >= 2 x cluster.heartbeat_interval_ms");
  }
  if (advertise_port < 0 || advertise_port > 65535) {
    return InvalidArgumentError("cluster.advertise_port must be in [0, 65535]");
  }
  if (weight < 1 || weight > 1000)
    return InvalidArgumentError("cluster.weight must be in [1, 1000]");
  return Status::Ok();
}

std::string ClusterConfig::ToString() const {
  std::string meta;
  for (const auto& [k, v] : metadata) meta += (meta.empty() ? "" : ",") + k + "=" + v;
  return fmt::format(
      "ClusterConfig{{enabled={}, heartbeat_interval_ms={}, node_ttl_ms={}, advertise_host={}, "
      "advertise_port={}, weight={}, metadata={{{}}}}}",
      enabled, heartbeat_interval_ms, node_ttl_ms,
      advertise_host.empty() ? "(server.host)" : advertise_host, advertise_port, weight, meta);
}

Status ClusterConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("enabled", &enabled));
  VOXGATE_RETURN_IF_ERROR(node.Get("heartbeat_interval_ms", &heartbeat_interval_ms));
  VOXGATE_RETURN_IF_ERROR(node.Get("node_ttl_ms", &node_ttl_ms));
  VOXGATE_RETURN_IF_ERROR(node.Get("advertise_host", &advertise_host));
  VOXGATE_RETURN_IF_ERROR(node.Get("advertise_port", &advertise_port));
  VOXGATE_RETURN_IF_ERROR(node.Get("weight", &weight));
  // YAML booleans (on/off read as true/false by some writers) are accepted too.
  if (enabled == "true") enabled = "on";
  if (enabled == "false") enabled = "off";
  std::vector<std::string> pairs;
  VOXGATE_RETURN_IF_ERROR(node.Get("metadata_list", &pairs));
  const ConfigNode meta = node.Child("metadata");
  for (const char* key : {"zone", "region", "role", "rack"}) {
    std::string value;
    VOXGATE_RETURN_IF_ERROR(meta.Get(key, &value));
    if (!value.empty()) metadata[key] = value;
  }
  for (const auto& p : pairs) {
    const size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgumentError("cluster.metadata_list entries must be key=value, not '" + p +
                                  "'");
    }
    metadata[p.substr(0, eq)] = p.substr(eq + 1);
  }
  return Status::Ok();
}

bool ClusterConfig::ShouldJoin(const std::string& store_backend,
                               const std::string& redis_url) const {
  if (enabled == "off") return false;
  if (enabled == "on") return true;
  const bool shared_store =
      store_backend == "redis" || store_backend == "postgres" || store_backend == "tiered";
  return shared_store && !redis_url.empty();
}

}  // namespace voxgate::cluster
