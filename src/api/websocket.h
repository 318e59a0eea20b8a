// WebSocket endpoints on the HTTP server: a route whose GET upgrades to a WebSocket (RFC 6455,
// Boost.Beast). The server does the transport — upgrade after the usual auth and rate limit,
// message size limit, ping/pong and idle timeout, a bounded outgoing queue, close handshake, server
// shutdown — and a handler (created per connection by a factory) does the protocol.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "api/request.h"
#include "common/result.h"

namespace voxgate::api {

/// The outgoing side of one WebSocket, given to its handler. Thread-safe.
class WebSocketConnection {
 public:
  virtual ~WebSocketConnection() = default;
  /// Queues a text message. A non-essential message is refused (false, dropped and counted)
  /// while the queue holds more than the limit: a slow reader loses running updates, never
  /// decisions. Essential messages are always queued. False after Close().
  virtual bool SendText(std::string message, bool essential = false) = 0;
  /// Sends what is queued, then a close frame with `code` (1000 normal, 1008 policy, 1011 error).
  virtual void Close(uint16_t code, std::string reason) = 0;
  /// Messages dropped for a slow reader.
  virtual uint64_t dropped_messages() const = 0;
};

/// Incoming side. Called on the connection's strand, one call at a time.
class WebSocketHandler {
 public:
  virtual ~WebSocketHandler() = default;
  virtual void OnText(std::string_view message) = 0;
  /// Returns false when it cannot take the data now (its queue is full): the server stops
  /// reading and offers the same message again shortly — backpressure that reaches the client
  /// through TCP.
  virtual bool OnBinary(std::span<const uint8_t> data) = 0;
  /// The connection is gone (close either way, error, server shutdown). Called exactly once.
  virtual void OnClose() = 0;
};

/// Builds the handler for an upgrade request that passed auth. An error answers the upgrade with
/// that HTTP error instead (e.g. 503 when no model is loaded).
using WebSocketFactory = std::function<Result<std::shared_ptr<WebSocketHandler>>(
    const Request& request, std::shared_ptr<WebSocketConnection> connection)>;

struct WebSocketOptions {
  size_t max_message_bytes = 1 << 20;     // larger messages close the connection with 1009
  size_t max_queued_out_bytes = 1 << 20;  // beyond this non-essential messages are dropped
  double idle_timeout_s = 60;             // no traffic (pings answered count) -> closed
};

}  // namespace voxgate::api
