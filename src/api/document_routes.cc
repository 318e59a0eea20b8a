#include "api/document_routes.h"

#include <memory>
#include <mutex>

#include "api/openapi.h"

namespace voxgate::api {

namespace {
RouteOptions Unlimited() {
  RouteOptions o;
  o.rate_limited = false;
  return o;
}
}  // namespace

Status AddDocumentRoutes(HttpServer& server, std::string_view version) {
  struct Cache {
    std::once_flag once;
    std::string json;
  };
  auto cache = std::make_shared<Cache>();
  const Router* router = &server.router();
  std::string v(version);
  VOXGATE_RETURN_IF_ERROR(server.Route(
      Method::kGet, "/api/v1/openapi.json", Access::kPublic,
      [cache, router, v](const Request&, Responder responder) {
        std::call_once(cache->once, [&] { cache->json = DumpJson(OpenApiDocument(*router, v)); });
        Response r;
        r.body = cache->json;
        responder.Send(std::move(r));
      },
      Unlimited()));
  return server.Route(
      Method::kGet, "/api/v1/docs", Access::kPublic,
      [](const Request&, Responder responder) {
        responder.Send(Response::Text(200, DocsPageHtml(), "text/html; charset=utf-8"));
      },
      Unlimited());
}

}  // namespace voxgate::api
