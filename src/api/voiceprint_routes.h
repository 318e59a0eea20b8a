// The REST routes of the voiceprint service (Edge-VoMID-compatible shapes, see docs/api.md):
// register, verify, identify, the user lifecycle, stats, the single-node cluster view and the
// audit log. Handlers parse on the I/O thread and run decoding and inference on the pool.
#pragma once

#include <memory>
#include <string>

#include "api/http_server.h"
#include "api/inference_pool.h"
#include "api/voiceprint_service.h"

namespace voxgate::api {

/// This process as a node. On one box the cluster is this node and these routes answer
/// /api/v1/cluster/{status,nodes} themselves; a node that joined a cluster sets `standalone` to
/// false and app/cluster_routes.h answers them from the Redis registry instead.
struct NodeInfo {
  std::string node_id;
  std::string host;
  int port = 0;
  int weight = 1;
  bool standalone = true;
};

/// Adds the routes to `server` (before Start). The service and pool must outlive the server.
Status AddVoiceprintRoutes(HttpServer& server, std::shared_ptr<VoiceprintService> service,
                           std::shared_ptr<InferencePool> pool, NodeInfo node);

}  // namespace voxgate::api
