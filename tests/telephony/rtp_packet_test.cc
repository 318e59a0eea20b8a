#include "telephony/rtp_packet.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "alloc_counter.h"

namespace voxgate::telephony {
namespace {

using Bytes = std::vector<uint8_t>;

// First packet of sipp's dtmf_2833_0.pcap: PT 101, marker, seq 12080, ts 17632, SSRC 0x0e05384e.
const Bytes kSippDtmf = {0x80, 0xE5, 0x2F, 0x30, 0x00, 0x00, 0x44, 0xE0,
                         0x0E, 0x05, 0x38, 0x4E, 0x00, 0x0A, 0x00, 0x00};

TEST(RtpPacketTest, ParsesAKnownPacket) {
  auto view = ParseRtp(kSippDtmf);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(view->header.version, 2);
  EXPECT_FALSE(view->header.padding);
  EXPECT_FALSE(view->header.extension);
  EXPECT_TRUE(view->header.marker);
  EXPECT_EQ(view->header.payload_type, 101);
  EXPECT_EQ(view->header.sequence, 12080);
  EXPECT_EQ(view->header.timestamp, 17632u);
  EXPECT_EQ(view->header.ssrc, 0x0E05384Eu);
  EXPECT_EQ(view->header.csrc_count, 0);
  ASSERT_EQ(view->payload.size(), 4u);
  EXPECT_EQ(view->payload.data(), kSippDtmf.data() + 12);  // a view, not a copy
}

TEST(RtpPacketTest, WriteThenParseRoundTrips) {
  RtpHeader h;
  h.marker = true;
  h.payload_type = 96;
  h.sequence = 0xFFFF;
  h.timestamp = 0xDEADBEEF;
  h.ssrc = 0x12345678;
  h.csrc_count = 2;
  h.csrc[0] = 0xA1A2A3A4;
  h.csrc[1] = 7;
  const Bytes payload = {1, 2, 3, 4, 5};
  Bytes out(64, 0xCC);
  const size_t n = WriteRtp(h, payload, out);
  ASSERT_EQ(n, 12u + 8u + 5u);
  EXPECT_EQ(n, RtpPacketSize(h, payload.size()));
  EXPECT_EQ(out[0], 0x82);  // V=2, CC=2
  EXPECT_EQ(out[1], 0x80 | 96);
  auto view = ParseRtp(std::span<const uint8_t>(out.data(), n));
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_TRUE(view->header.marker);
  EXPECT_EQ(view->header.payload_type, 96);
  EXPECT_EQ(view->header.sequence, 0xFFFF);
  EXPECT_EQ(view->header.timestamp, 0xDEADBEEFu);
  EXPECT_EQ(view->header.ssrc, 0x12345678u);
  ASSERT_EQ(view->header.csrc_count, 2);
  EXPECT_EQ(view->header.csrc[0], 0xA1A2A3A4u);
  EXPECT_EQ(view->header.csrc[1], 7u);
  EXPECT_EQ(Bytes(view->payload.begin(), view->payload.end()), payload);
}

TEST(RtpPacketTest, WriteIgnoresPaddingAndExtensionFlags) {
  RtpHeader h;
  h.padding = true;
  h.extension = true;
  h.version = 3;
  const Bytes payload = {9};
  Bytes out(32);
  const size_t n = WriteRtp(h, payload, out);
  ASSERT_EQ(n, 13u);
  EXPECT_EQ(out[0], 0x80);
  auto view = ParseRtp(std::span<const uint8_t>(out.data(), n));
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->payload.size(), 1u);
}

TEST(RtpPacketTest, WriteRefusesWhatItCannotWrite) {
  RtpHeader h;
  const Bytes payload(160, 0x55);
  Bytes out(171);
  EXPECT_EQ(WriteRtp(h, payload, out), 0u);  // one byte short
  out.resize(172);
  EXPECT_EQ(WriteRtp(h, payload, out), 172u);
  h.payload_type = 128;
  EXPECT_EQ(WriteRtp(h, payload, out), 0u);
  h.payload_type = 0;
  h.csrc_count = 16;
  out.resize(512);
  EXPECT_EQ(WriteRtp(h, payload, out), 0u);
  EXPECT_EQ(WriteRtp(RtpHeader{}, {}, std::span<uint8_t>()), 0u);
}

TEST(RtpPacketTest, WritesPayloadBuiltInPlace) {
  // The packetizer encodes straight into the packet buffer after the header.
  Bytes out(12 + 4);
  for (int i = 0; i < 4; ++i) out[12 + i] = static_cast<uint8_t>(10 + i);
  RtpHeader h;
  h.payload_type = 8;
  ASSERT_EQ(WriteRtp(h, std::span<const uint8_t>(out.data() + 12, 4), out), 16u);
  EXPECT_EQ(out[12], 10);
  EXPECT_EQ(out[15], 13);
}

TEST(RtpPacketTest, ParsesHeaderExtensionAndPadding) {
  // V=2 P=1 X=1 CC=1, PT 0; CSRC; extension profile 0xBEDE with one word; payload 3 bytes;
  // padding 4 bytes (last byte = 4).
  const Bytes pkt = {0xB1, 0x00, 0x00, 0x01, 0,    0,    0, 2, 0, 0, 0, 3,  // fixed header
                     0,    0,    0,    9,                                   // CSRC
                     0xBE, 0xDE, 0x00, 0x01, 0x10, 0xAA, 0, 0,              // extension
                     7,    8,    9,                                         // payload
                     0,    0,    0,    4};                                  // padding
  auto view = ParseRtp(pkt);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_TRUE(view->header.padding);
  EXPECT_TRUE(view->header.extension);
  EXPECT_EQ(view->header.csrc[0], 9u);
  EXPECT_EQ(view->extension_profile, 0xBEDE);
  ASSERT_EQ(view->extension_data.size(), 4u);
  EXPECT_EQ(view->extension_data[1], 0xAA);
  EXPECT_EQ(view->padding_bytes, 4);
  EXPECT_EQ(Bytes(view->payload.begin(), view->payload.end()), (Bytes{7, 8, 9}));
}

TEST(RtpPacketTest, PaddingMayCoverTheWholePayload) {
  const Bytes pkt = {0xA0, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 3};
  auto view = ParseRtp(pkt);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_TRUE(view->payload.empty());
}

TEST(RtpPacketTest, EmptyPayloadIsValid) {
  const Bytes pkt = {0x80, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  auto view = ParseRtp(pkt);
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->payload.empty());
}

void ExpectRejected(const Bytes& pkt, const std::string& reason_part) {
  auto view = ParseRtp(pkt);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(view.status().message().find(reason_part), std::string::npos)
      << view.status().message();
}

TEST(RtpPacketTest, RejectsMalformedPackets) {
  ExpectRejected({}, "shorter than the 12-byte header");
  ExpectRejected({0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "shorter than the 12-byte header");
  ExpectRejected({0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "version 1");
  ExpectRejected({0xC0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "version 3");
  ExpectRejected({0x80, 200, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0}, "RTCP packet type 200");
  // CC=2 but only one CSRC present.
  ExpectRejected({0x82, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, "CSRC list of 2");
  // X=1 without room for the extension header.
  ExpectRejected({0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE}, "extension header");
  // Extension declares 2 words, 1 present.
  ExpectRejected({0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0, 2, 1, 2, 3, 4},
                 "extension of 8 bytes");
  // Padding count 0, and larger than what follows the header.
  ExpectRejected({0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0}, "padding count 0");
  ExpectRejected({0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 3}, "padding count 3");
  // P=1 with nothing after the header: the last byte is the header's own.
  ExpectRejected({0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "padding count 1");
}

TEST(RtpPacketTest, EveryTruncationIsParsedOrRejectedInBounds) {
  const Bytes pkt = {0xB1, 0x00, 0x00, 0x01, 0,    0,    0, 2, 0, 0, 0, 3, 0, 0, 0, 9,
                     0xBE, 0xDE, 0x00, 0x01, 0x10, 0xAA, 0, 0, 7, 8, 9, 0, 0, 0, 4};
  for (size_t n = 0; n < pkt.size(); ++n) {
    // Each prefix in its own heap block, so ASan builds catch a read past its end.
    auto copy = std::make_unique<uint8_t[]>(n + 1);
    std::copy(pkt.begin(), pkt.begin() + n, copy.get());
    auto view = ParseRtp(std::span<const uint8_t>(copy.get(), n));
    if (view.ok()) {
      EXPECT_LE(view->payload.data() + view->payload.size(), copy.get() + n);
    }
  }
}

TEST(RtpPacketTest, RtcpDemultiplexing) {
  EXPECT_FALSE(IsRtcp({}));
  EXPECT_FALSE(IsRtcp(Bytes{0x80}));
  EXPECT_FALSE(IsRtcp(Bytes{0x80, 191}));
  EXPECT_TRUE(IsRtcp(Bytes{0x80, 192}));
  EXPECT_TRUE(IsRtcp(Bytes{0x80, 200}));  // SR
  EXPECT_TRUE(IsRtcp(Bytes{0x81, 201}));  // RR
  EXPECT_TRUE(IsRtcp(Bytes{0x80, 223}));
  EXPECT_FALSE(IsRtcp(Bytes{0x80, 224}));
  EXPECT_FALSE(IsRtcp(kSippDtmf));  // marker + PT 101 = 229
  EXPECT_FALSE(IsRtcp(Bytes{0x80, 0x80 | 8}));
}

TEST(RtpPacketTest, ParseAndWriteDoNotAllocate) {
  VOXGATE_SKIP_WITHOUT_ALLOC_COUNTING();
  std::array<uint8_t, 200> out{};
  const Bytes payload(160, 0x7F);
  RtpHeader h;
  h.payload_type = 0;
  testing::AllocationScope scope;
  size_t total = 0;
  for (int i = 0; i < 100; ++i) {
    h.sequence = static_cast<uint16_t>(i);
    const size_t n = WriteRtp(h, payload, out);
    auto view = ParseRtp(std::span<const uint8_t>(out.data(), n));
    total += view.ok() ? view->payload.size() : 0;
  }
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_EQ(total, 16000u);
}

}  // namespace
}  // namespace voxgate::telephony
