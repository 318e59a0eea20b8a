// The one place where voxgate::StatusCode maps to HTTP statuses and JSON error bodies.
//
// Every error the API answers has the body
//   {"success":false,"error":"<message>","error_code":"<code>","request_id":"<id>"}
// which Edge-VoMID clients read as-is (they look at "success", "error" and "error_code"); the
// request id ties the answer to the server's access log (and is echoed in X-Request-Id). <code>
// is the StatusCode name ("invalid_argument", "not_found", "too_large", ...); errors found by the
// HTTP layer itself use the same names where one fits (unknown route: "not_found", body over the
// limit: "too_large", too many connections: "unavailable") and otherwise "method_not_allowed"
// (405, with an Allow header), "bad_request" (malformed HTTP), "header_too_large" (431) and
// "http_version_not_supported" (505). Messages are written for the client: they never hold keys,
// tokens or request bodies, and internal errors answer a generic message with the request id
// (the detail goes to the log).
#pragma once

#include <string>
#include <string_view>

#include "api/response.h"
#include "common/status.h"

namespace voxgate::api {

/// 400 invalid_argument, 401 unauthenticated, 403 permission_denied, 404 not_found,
/// 409 already_exists, 413 too_large, 415 unsupported, 422 unusable, 429 resource_exhausted,
/// 503 unavailable, 500 everything else (internal, data_loss, ok).
int HttpStatusForCode(StatusCode code);

/// The JSON error body above.
std::string ErrorBody(std::string_view error_code, std::string_view message,
                      std::string_view request_id);

/// A complete error response for `status` (which must not be OK). kUnauthenticated adds
/// WWW-Authenticate; `retry_after_s` > 0 adds Retry-After (for 429 and 503).
Response ErrorResponse(const Status& status, std::string_view request_id, int retry_after_s = 0);

/// An error response with an explicit HTTP status and code (for HTTP-level errors: 404 route,
/// 405, protocol errors).
Response HttpErrorResponse(int http_status, std::string_view error_code, std::string_view message,
                           std::string_view request_id);

}  // namespace voxgate::api
