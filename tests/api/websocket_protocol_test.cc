#include "api/websocket_protocol.h"

#include <gtest/gtest.h>

namespace voxgate::api {
namespace {

TEST(WebSocketProtocolTest, FindsTheKeyOfferedAsASubprotocol) {
  EXPECT_EQ(WebSocketProtocolKey("voxgate.v1, voxgate.key.vx_abc123"), "vx_abc123");
  EXPECT_EQ(WebSocketProtocolKey("voxgate.key.vx_abc123,voxgate.v1"), "vx_abc123");
  EXPECT_EQ(WebSocketProtocolKey(" \tvoxgate.key.k \t"), "k");
  EXPECT_FALSE(WebSocketProtocolKey("voxgate.v1").has_value());
  EXPECT_FALSE(WebSocketProtocolKey("voxgate.key.").has_value());  // an empty key is no key
  EXPECT_FALSE(WebSocketProtocolKey("x-voxgate.key.k").has_value());
  EXPECT_FALSE(WebSocketProtocolKey("").has_value());
}

TEST(WebSocketProtocolTest, OffersMatchesWholeTokensOnly) {
  EXPECT_TRUE(OffersWebSocketProtocol("voxgate.v1, voxgate.key.k", kWebSocketProtocol));
  EXPECT_TRUE(OffersWebSocketProtocol("chat,voxgate.v1", kWebSocketProtocol));
  EXPECT_FALSE(OffersWebSocketProtocol("voxgate.v10", kWebSocketProtocol));
  EXPECT_FALSE(OffersWebSocketProtocol("voxgate.key.voxgate.v1", kWebSocketProtocol));
  EXPECT_FALSE(OffersWebSocketProtocol("", kWebSocketProtocol));
}

}  // namespace
}  // namespace voxgate::api
