#include "api/websocket_protocol.h"

namespace voxgate::api {

namespace {

// Calls f(token) for each comma-separated token, trimmed of spaces and tabs; stops when f is true.
template <class F>
bool AnyToken(std::string_view header, F f) {
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view token = header.substr(0, comma);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
      token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (f(token)) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::optional<std::string_view> WebSocketProtocolKey(std::string_view header) {
  std::optional<std::string_view> key;
  AnyToken(header, [&](std::string_view token) {
    if (token.size() <= kWebSocketKeyPrefix.size() || !token.starts_with(kWebSocketKeyPrefix)) {
      return false;
    }
    key = token.substr(kWebSocketKeyPrefix.size());
    return true;
  });
  return key;
}

bool OffersWebSocketProtocol(std::string_view header, std::string_view protocol) {
  return AnyToken(header, [&](std::string_view token) { return token == protocol; });
}

}  // namespace voxgate::api
