// The self-description of the REST API: an OpenAPI 3.1 document (GET /api/v1/openapi.json) and a
// page that renders it (GET /api/v1/docs).
//
// The document is built from the Router, so it never disagrees with what the server serves: every
// route appears, with its method, its path template as registered, and the security its Access
// asks for. Routes the built-in table knows get hand-written summaries, parameters, request bodies
// and response schemas; any other route gets a generic entry (path parameters, auth, errors).
//
// Stateless free functions; safe from any thread once the router is no longer being changed.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/router.h"

namespace voxgate::api {

/// The OpenAPI 3.1.0 document describing every route of `router`. `version` becomes
/// info.version (the server's version string). Public routes carry `security: []`; the others
/// accept `Authorization: Bearer vx_...` or `X-API-Key`. Error responses use the schema
/// components/schemas/Error, the body every API error has (see http_error.h).
nlohmann::json OpenApiDocument(const Router& router, std::string_view version);

/// A self-contained HTML page (inline CSS and JS, nothing fetched from other origins) that loads
/// /api/v1/openapi.json from its own server and renders the operations: method, path, summary,
/// access, parameters, request fields and responses.
std::string DocsPageHtml();

}  // namespace voxgate::api
