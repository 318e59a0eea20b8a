#include "api/http_error.h"

#include <spdlog/spdlog.h>

namespace voxgate::api {

int HttpStatusForCode(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kTooLarge:
      return 413;
    case StatusCode::kUnsupported:
      return 415;
    case StatusCode::kUnusable:
      return 422;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kOk:
    case StatusCode::kDataLoss:
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

std::string ErrorBody(std::string_view error_code, std::string_view message,
                      std::string_view request_id) {
  nlohmann::json body = {{"success", false},
                         {"error", std::string(message)},
                         {"error_code", std::string(error_code)},
                         {"request_id", std::string(request_id)}};
  return DumpJson(body);
}

Response HttpErrorResponse(int http_status, std::string_view error_code, std::string_view message,
                           std::string_view request_id) {
  Response r;
  r.status = http_status;
  r.content_type = "application/json";
  r.body = ErrorBody(error_code, message, request_id);
  return r;
}

Response ErrorResponse(const Status& status, std::string_view request_id, int retry_after_s) {
  StatusCode code = status.ok() ? StatusCode::kInternal : status.code();
  int http_status = HttpStatusForCode(code);
  std::string message = status.message();
  if (http_status == 500) {
    // Internal detail (paths, library messages) stays in the log.
    spdlog::error("request {}: {}", request_id, status.ToString());
    message = "internal error (request id " + std::string(request_id) + ")";
    code = StatusCode::kInternal;
  }
  Response r = HttpErrorResponse(http_status, StatusCodeName(code), message, request_id);
  if (code == StatusCode::kUnauthenticated) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"voxgate\"");
  }
  if (retry_after_s > 0) r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  return r;
}

}  // namespace voxgate::api
