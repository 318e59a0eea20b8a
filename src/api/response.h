// Response: what a handler sends back. Plain data, thread-compatible. The server adds
// Content-Length, Connection, Server, Date-free framing and X-Request-Id; handlers set the status,
// the content type, the body and any extra headers (e.g. Retry-After, Location).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/url_codec.h"

namespace voxgate::api {

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  /// Extra header fields. Values with CR or LF are dropped by the server (no header injection);
  /// Content-Length, Transfer-Encoding and Connection are the server's and are ignored here.
  Params headers;

  /// A JSON body. Invalid UTF-8 in strings is replaced, never thrown on.
  static Response Json(int status, const nlohmann::json& body);
  static Response Text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  Response& WithHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

/// Serialises JSON without ever throwing (invalid UTF-8 is replaced with U+FFFD).
std::string DumpJson(const nlohmann::json& value);

/// "2026-05-01T12:34:56.789Z".
std::string Iso8601Utc(
    std::chrono::system_clock::time_point time = std::chrono::system_clock::now());

}  // namespace voxgate::api
