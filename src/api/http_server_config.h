// Configuration of the HTTP server (YAML section "server", env VOXGATE_SERVER_*). Plain data,
// thread-compatible.
#pragma once

#include <cstdint>
#include <string>

#include "api/rate_limiter.h"
#include "common/config_node.h"
#include "common/status.h"

namespace voxgate::api {

struct HttpServerConfig {
  std::string host = "0.0.0.0";  // address to listen on (IPv4/IPv6 literal or a host name)
  int port = 8080;               // 0: an ephemeral port, readable from HttpServer::port()
  int io_threads = 2;            // threads running the connections' I/O (handlers run here too)
  int64_t max_body_bytes = 20 * 1024 * 1024;  // larger bodies are answered 413 unread
  int max_header_bytes = 16 * 1024;           // request line + header fields; larger: 431
  double header_timeout_s = 10.0;  // from a request's first byte to the end of its header (and
                                   // the TLS handshake); slowloris protection
  double body_timeout_s = 60.0;    // the whole body must arrive within this; slow-body protection
  double keep_alive_timeout_s = 30.0;  // an idle keep-alive connection is closed after this
  double write_timeout_s = 30.0;       // a response must be taken by the client within this
  int max_connections = 1024;          // beyond this new connections get 503 and are closed
  std::string tls_cert_file;  // PEM certificate chain; TLS when both this and tls_key_file are set
  std::string tls_key_file;   // PEM private key (a path: the key itself never enters the config)
  bool auth_enabled = true;   // false only in the explicit dev mode (`voxgate serve --dev`)
  bool access_log = true;     // one JSON line per request
  RateLimiterConfig rate_limit;  // per API key (or per address without a key)

  bool tls_enabled() const { return !tls_cert_file.empty() && !tls_key_file.empty(); }

  Status Validate() const;
  std::string ToString() const;
  /// Reads the keys above from `node` (the "server" section) and rate_limit from its child
  /// "rate_limit"; leaves absent keys at their defaults. Errors name the key.
  Status Load(const ConfigNode& node);
};

}  // namespace voxgate::api
