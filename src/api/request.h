// Request: the view of one HTTP request that handlers see. The server fills it in before the
// handler runs; handlers get it const. Plain data, thread-compatible: a handler that completes on
// another thread may read it there (it lives as long as any copy of the request's Responder).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/principal.h"
#include "api/url_codec.h"

namespace voxgate::api {

enum class Method { kGet, kHead, kPost, kPut, kDelete, kPatch, kOptions, kOther };

/// "GET", "POST", ...; "OTHER" for kOther.
std::string_view MethodName(Method method);
/// Exact (case-sensitive, as HTTP says) match of the standard names; anything else is kOther.
Method ParseMethod(std::string_view name);

class Request {
 public:
  Method method() const { return method_; }
  /// The method as sent ("GET", or e.g. "BREW" for kOther).
  const std::string& method_name() const { return method_name_; }
  /// The raw request target ("/api/v1/voiceprints?limit=10").
  const std::string& target() const { return target_; }
  /// The raw (still percent-encoded) path part of the target.
  const std::string& path() const { return path_; }
  /// Query parameters, percent-decoded ('+' as space), in order.
  const Params& query_params() const { return query_params_; }
  /// The first value of query parameter `name`.
  std::optional<std::string_view> Query(std::string_view name) const {
    return FindParam(query_params_, name);
  }
  /// Path parameters of the matched route ("{user_id}" -> "user_id"), percent-decoded.
  const Params& path_params() const { return path_params_; }
  /// The value of path parameter `name`, or "" when the route has none by that name.
  std::string_view PathParam(std::string_view name) const {
    return FindParam(path_params_, name).value_or(std::string_view());
  }
  /// Header fields as received (names as sent).
  const Params& headers() const { return headers_; }
  /// The first value of header `name` (ASCII case-insensitive).
  std::optional<std::string_view> Header(std::string_view name) const;
  /// The whole body (at most HttpServerConfig::max_body_bytes).
  const std::string& body() const { return body_; }
  std::string& mutable_body() { return body_; }
  /// The peer's IP address ("127.0.0.1", "::1").
  const std::string& remote_address() const { return remote_address_; }
  /// From a well-formed X-Request-Id header, else generated; echoed in the response.
  const std::string& request_id() const { return request_id_; }
  /// The matched route pattern ("/api/v1/voiceprint/{user_id}"), "" before routing.
  const std::string& route() const { return route_; }
  /// The authenticated caller (see Principal::authenticated).
  const Principal& principal() const { return principal_; }

  // Set by the server (and by tests that call handlers directly).
  void set_method(std::string name) {
    method_ = ParseMethod(name);
    method_name_ = std::move(name);
  }
  void set_target(std::string target) { target_ = std::move(target); }
  void set_path(std::string path) { path_ = std::move(path); }
  void set_query_params(Params params) { query_params_ = std::move(params); }
  void set_path_params(Params params) { path_params_ = std::move(params); }
  void set_headers(Params headers) { headers_ = std::move(headers); }
  void AddHeader(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
  }
  void set_body(std::string body) { body_ = std::move(body); }
  void set_remote_address(std::string address) { remote_address_ = std::move(address); }
  void set_request_id(std::string id) { request_id_ = std::move(id); }
  void set_route(std::string route) { route_ = std::move(route); }
  void set_principal(Principal principal) { principal_ = std::move(principal); }

 private:
  Method method_ = Method::kGet;
  std::string method_name_ = "GET";
  std::string target_;
  std::string path_;
  Params query_params_;
  Params path_params_;
  Params headers_;
  std::string body_;
  std::string remote_address_;
  std::string request_id_;
  std::string route_;
  Principal principal_;
};

/// True for 1..128 characters of [A-Za-z0-9._:-] (what is accepted from X-Request-Id).
bool IsValidRequestId(std::string_view id);
/// 16 random hex characters.
std::string GenerateRequestId();

}  // namespace voxgate::api
