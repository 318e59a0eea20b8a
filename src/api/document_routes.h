// GET /api/v1/openapi.json (the OpenAPI 3.1 document of every route the server has) and
// GET /api/v1/docs (a self-contained page that renders it). Both public.
#pragma once

#include <string_view>

#include "api/http_server.h"

namespace voxgate::api {

/// Adds the two routes. Call after every other route is added: the document is built once, on the
/// first request, from the server's router.
Status AddDocumentRoutes(HttpServer& server, std::string_view version);

}  // namespace voxgate::api
