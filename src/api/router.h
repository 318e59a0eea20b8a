// Router: maps method + path to a handler. Patterns are literal segments and "{name}" parameter
// segments: "/api/v1/voiceprint/{user_id}/status". Matching decodes each path segment; a literal
// segment beats a parameter (so "POST /api/v1/voiceprint/register" wins over ".../{user_id}"), and
// a path that matches some pattern but not for this method gives 405 with the methods allowed.
//
// Parameters are percent-decoded and rejected (400) when, after decoding, they are empty, "." or
// "..", longer than kMaxPathParamBytes, or hold '/', NUL or another control character.
//
// Thread-compatible: add every route before the server starts; Find is then safe from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/principal.h"
#include "api/request.h"
#include "api/responder.h"
#include "api/websocket.h"

namespace voxgate::api {

/// Handles one request. Runs on an I/O thread: answer quickly, or hand the Responder to an
/// InferencePool (see inference_pool.h) for anything slow. Exceptions are caught and answered 500.
using Handler = std::function<void(const Request&, Responder)>;

struct RouteOptions {
  /// Counts against the caller's rate limit (built-in health/ready/metrics routes say false).
  bool rate_limited = true;
  /// False for routes that are not API operations (the console's static files): the OpenAPI
  /// document leaves them out.
  bool documented = true;
  /// Set for a WebSocket route (HttpServer::WebSocketRoute): an upgrade request goes here.
  WebSocketFactory websocket;
  WebSocketOptions websocket_options;
};

struct Route {
  Method method = Method::kGet;
  std::string pattern;
  Access access = Access::kAdmin;
  Handler handler;
  RouteOptions options;

  struct Segment {
    std::string text;  // literal text, or the parameter name
    bool is_param = false;
  };
  std::vector<Segment> segments;
};

inline constexpr size_t kMaxPathParamBytes = 256;
inline constexpr size_t kMaxPathSegments = 32;

class Router {
 public:
  /// kInvalidArgument for a malformed pattern (not starting with '/', empty or unbalanced braces,
  /// a repeated parameter name), kOther as method, or a method+pattern already added.
  Status Add(Method method, std::string_view pattern, Access access, Handler handler,
             RouteOptions options = {});

  struct Match {
    enum class Kind { kFound, kNotFound, kMethodNotAllowed, kBadRequest };
    Kind kind = Kind::kNotFound;
    const Route* route = nullptr;  // kFound
    Params params;                 // kFound: decoded path parameters
    std::string allow;             // kMethodNotAllowed: "DELETE, GET"
    Status error;                  // kBadRequest: why the path was rejected
  };
  /// `raw_path` is the path as received (percent-encoded, no query).
  Match Find(Method method, std::string_view raw_path) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace voxgate::api
