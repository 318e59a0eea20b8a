// ClusterConfig: whether and how `voxgate serve` joins a cluster (the `cluster:` section of
// config/voxgate.yaml, VOXGATE_CLUSTER_* overrides). Plain data, thread-compatible.
#pragma once

#include <map>
#include <string>

#include "common/config_node.h"
#include "common/status.h"

namespace voxgate::cluster {

struct ClusterConfig {
  /// "auto": join when the store is shared (backend redis, postgres or tiered) and a Redis URL is
  /// set; "on": always join (Redis URL from store.redis); "off": never, a single box.
  std::string enabled = "auto";
  int heartbeat_interval_ms = 1000;  // how often a node refreshes its registry entry, ms
  int node_ttl_ms = 5000;            // an entry not refreshed for this long expires (node gone), ms
  /// Host and port other nodes and the gateway reach this node at. Empty host: server.host,
  /// or 127.0.0.1 when that is a wildcard address; port 0: the bound server port.
  std::string advertise_host;
  int advertise_port = 0;
  int weight = 1;  // load-balancing weight of this node, 1..1000
  /// Extra details in the node's metadata: cluster.metadata.{zone,region,rack,role} and any
  /// key=value of cluster.metadata_list (env VOXGATE_CLUSTER_METADATA_LIST="k=v,k=v").
  std::map<std::string, std::string> metadata;

  Status Validate() const;
  std::string ToString() const;
  /// Reads the keys of the `cluster` section (errors name the key).
  Status Load(const ConfigNode& node);

  /// Whether to join given the store backend and the resolved Redis URL (see `enabled`).
  bool ShouldJoin(const std::string& store_backend, const std::string& redis_url) const;
};

}  // namespace voxgate::cluster
