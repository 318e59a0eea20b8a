#include "app/cluster_routes.h"

#include <nlohmann/json.hpp>

#include "api/response.h"

namespace voxgate::app {

using json = nlohmann::json;

Status AddClusterRoutes(api::HttpServer& server, std::shared_ptr<cluster::NodeRegistry> registry) {
  const std::string v1 = "/api/v1/cluster";
  // Registry calls are single Redis round trips (pipelined for the list): short enough for the
  // I/O thread.
  VOXGATE_RETURN_IF_ERROR(server.Route(api::Method::kGet, v1 + "/nodes", api::Access::kClient,
                                       [registry](const api::Request&, api::Responder r) {
                                         auto nodes = registry->List();
                                         if (!nodes.ok()) {
                                           r.SendError(nodes.status());
                                           return;
                                         }
                                         json out = json::array();
                                         for (const auto& n : *nodes) out.push_back(n.ToJson());
                                         r.SendJson(200, {{"success", true}, {"nodes", out}});
                                       }));
  VOXGATE_RETURN_IF_ERROR(server.Route(api::Method::kGet, v1 + "/status", api::Access::kClient,
                                       [registry](const api::Request&, api::Responder r) {
                                         auto nodes = registry->List();
                                         if (!nodes.ok()) {
                                           r.SendError(nodes.status());
                                           return;
                                         }
                                         json out = json::array();
                                         int healthy = 0;
                                         for (const auto& n : *nodes) {
                                           out.push_back(n.ToJson());
                                           if (n.is_healthy) ++healthy;
                                         }
                                         r.SendJson(200, {{"success", true},
                                                          {"cluster_status",
                                                           {{"mode", "cluster"},
                                                            {"total_nodes", nodes->size()},
                                                            {"healthy_nodes", healthy},
                                                            {"nodes", out}}},
                                                          {"timestamp", api::Iso8601Utc()}});
                                       }));
  VOXGATE_RETURN_IF_ERROR(
      server.Route(api::Method::kPost, v1 + "/nodes", api::Access::kAdmin,
                   [registry](const api::Request& req, api::Responder r) {
                     json body = json::parse(req.body(), nullptr, false);
                     if (body.is_discarded()) {
                       r.SendError(InvalidArgumentError("the body must be a JSON node"));
                       return;
                     }
                     auto node = cluster::NodeInfo::FromJson(body);
                     if (!node.ok()) {
                       r.SendError(node.status());
                       return;
                     }
                     node->last_health_check_ms = 0;
                     if (!node->metadata.contains("registered_by"))
                       node->metadata["registered_by"] = "api";
                     Status s = registry->Register(*node, /*ttl_ms=*/0);
                     if (!s.ok()) {
                       r.SendError(s);
                       return;
                     }
                     r.SendJson(201, {{"success", true}, {"node", node->ToJson()}});
                   }));
  return server.Route(api::Method::kDelete, v1 + "/nodes/{node_id}", api::Access::kAdmin,
                      [registry](const api::Request& req, api::Responder r) {
                        const std::string id(req.PathParam("node_id"));
                        Status s = registry->Remove(id);
                        if (!s.ok()) {
                          r.SendError(s);
                          return;
                        }
                        r.SendJson(200, {{"success", true}, {"node_id", id}});
                      });
}

}  // namespace voxgate::app
