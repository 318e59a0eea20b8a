#include "api/http_server_config.h"

#include <fmt/format.h>

namespace voxgate::api {

Status HttpServerConfig::Validate() const {
  if (host.empty()) return InvalidArgumentError("server.host must not be empty");
  if (port < 0 || port > 65535) return InvalidArgumentError("server.port must be in [0, 65535]");
  if (io_threads < 1 || io_threads > 256) {
    return InvalidArgumentError("server.io_threads must be in [1, 256]");
  }
  if (max_body_bytes < 0) return InvalidArgumentError("server.max_body_bytes must be >= 0");
  if (max_header_bytes < 1024) {
    return InvalidArgumentError("server.max_header_bytes must be >= 1024");
  }
  if (!(header_timeout_s > 0)) return InvalidArgumentError("server.header_timeout_s must be > 0");
  if (!(body_timeout_s > 0)) return InvalidArgumentError("server.body_timeout_s must be > 0");
  if (!(keep_alive_timeout_s > 0)) {
    return InvalidArgumentError("server.keep_alive_timeout_s must be > 0");
  }
  if (!(write_timeout_s > 0)) return InvalidArgumentError("server.write_timeout_s must be > 0");
  if (max_connections < 1) return InvalidArgumentError("server.max_connections must be >= 1");
  if (tls_cert_file.empty() != tls_key_file.empty()) {
    return InvalidArgumentError(
        "server.tls_cert_file and server.tls_key_file must be set together (or neither)");
  }
  return rate_limit.Validate().WithContext("server");
}

std::string HttpServerConfig::ToString() const {
  return fmt::format(
      "HttpServerConfig{{host={}, port={}, io_threads={}, max_body_bytes={}, "
      "max_header_bytes={}, header_timeout_s={}, body_timeout_s={}, keep_alive_timeout_s={}, "
      "write_timeout_s={}, max_connections={}, tls={}, tls_cert_file={}, tls_key_file={}, "
      "auth_enabled={}, access_log={}, rate_limit={}}}",
      host, port, io_threads, max_body_bytes, max_header_bytes, header_timeout_s, body_timeout_s,
      keep_alive_timeout_s, write_timeout_s, max_connections, tls_enabled(),
      tls_cert_file.empty() ? "(none)" : tls_cert_file,
      tls_key_file.empty() ? "(none)" : tls_key_file, auth_enabled, access_log,
      rate_limit.ToString());
}

Status HttpServerConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("host", &host));
  VOXGATE_RETURN_IF_ERROR(node.Get("port", &port));
  VOXGATE_RETURN_IF_ERROR(node.Get("io_threads", &io_threads));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_body_bytes", &max_body_bytes));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_header_bytes", &max_header_bytes));
  VOXGATE_RETURN_IF_ERROR(node.Get("header_timeout_s", &header_timeout_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("body_timeout_s", &body_timeout_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("keep_alive_timeout_s", &keep_alive_timeout_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("write_timeout_s", &write_timeout_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_connections", &max_connections));
  VOXGATE_RETURN_IF_ERROR(node.Get("tls_cert_file", &tls_cert_file));
  VOXGATE_RETURN_IF_ERROR(node.Get("tls_key_file", &tls_key_file));
  VOXGATE_RETURN_IF_ERROR(node.Get("auth_enabled", &auth_enabled));
  VOXGATE_RETURN_IF_ERROR(node.Get("access_log", &access_log));
  return rate_limit.Load(node.Child("rate_limit"));
}

}  // namespace voxgate::api
