// The WebSocket subprotocols of Voxgate's endpoints. A browser cannot set headers on a WebSocket
// upgrade, so it offers its API key as a subprotocol next to the real one:
//   new WebSocket(url, ["voxgate.v1", "voxgate.key." + key])
// The server authenticates with the key and selects "voxgate.v1" (never echoing the key). Other
// clients keep sending Authorization or X-API-Key and need no subprotocol.
#pragma once

#include <optional>
#include <string_view>

namespace voxgate::api {

inline constexpr std::string_view kWebSocketProtocol = "voxgate.v1";
inline constexpr std::string_view kWebSocketKeyPrefix = "voxgate.key.";

/// The API key in a Sec-WebSocket-Protocol value ("voxgate.v1, voxgate.key.vx_..."), if offered.
std::optional<std::string_view> WebSocketProtocolKey(std::string_view header);
/// True when the Sec-WebSocket-Protocol value offers `protocol`.
bool OffersWebSocketProtocol(std::string_view header, std::string_view protocol);

}  // namespace voxgate::api
