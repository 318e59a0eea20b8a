// The cluster view of a node in cluster mode (replaces the single-box handlers of
// api/voiceprint_routes.cc): GET /api/v1/cluster/nodes and /api/v1/cluster/status read the Redis
// registry; POST /api/v1/cluster/nodes registers a node given as NodeInfo JSON (admin, no expiry:
// a node an operator adds stays until DELETEd); DELETE /api/v1/cluster/nodes/{node_id} removes
// one (admin). Lives in app because it joins api (routes) and cluster (registry).
#pragma once

#include <functional>
#include <memory>

#include "api/http_server.h"
#include "cluster/node_info.h"
#include "cluster/node_registry.h"

namespace voxgate::app {

/// Adds the four routes (before Start). `registry` must outlive the server.
Status AddClusterRoutes(api::HttpServer& server, std::shared_ptr<cluster::NodeRegistry> registry);

}  // namespace voxgate::app
