#include "telephony/rtcp_packet.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "telephony/rtp_packet.h"

namespace voxgate::telephony {
namespace {

using Bytes = std::vector<uint8_t>;

ReportBlock Block(uint32_t ssrc, int32_t lost) {
  ReportBlock b;
  b.ssrc = ssrc;
  b.fraction_lost = 25;  // ~10 %
  b.cumulative_lost = lost;
  b.ext_highest_seq = 0x0001FFFF;
  b.jitter = 123;
  b.lsr = 0xB7052000;
  b.dlsr = 0x00054000;
  return b;
}

TEST(RtcpPacketTest, SenderReportRoundTrips) {
  SenderInfo info;
  info.ntp = {0xE1234567, 0x89ABCDEF};
  info.rtp_timestamp = 160000;
  info.packet_count = 1000;
  info.octet_count = 160000;
  const std::vector<ReportBlock> blocks = {Block(0x11111111, 42), Block(0x22222222, -3)};
  const Bytes sr = BuildSenderReport(0xCAFEBABE, info, blocks, "voxgate@10.0.0.1");
  EXPECT_EQ(sr.size() % 4, 0u);
  EXPECT_TRUE(IsRtcp(sr));
  // SR: 4 header + 4 SSRC + 20 sender info + 2 * 24 blocks = 76; the length field says so.
  EXPECT_EQ(sr[0], 0x82);
  EXPECT_EQ(sr[1], kRtcpSr);
  EXPECT_EQ(sr[2] << 8 | sr[3], 76 / 4 - 1);

  auto parsed = ParseRtcp(sr);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->sender_reports.size(), 1u);
  const RtcpSenderReport& r = parsed->sender_reports[0];
  EXPECT_EQ(r.ssrc, 0xCAFEBABEu);
  EXPECT_EQ(r.info, info);
  EXPECT_EQ(r.blocks, blocks);
  ASSERT_EQ(parsed->sdes.size(), 1u);
  EXPECT_EQ(parsed->sdes[0].ssrc, 0xCAFEBABEu);
  EXPECT_EQ(parsed->sdes[0].cname, "voxgate@10.0.0.1");
  EXPECT_TRUE(parsed->receiver_reports.empty());
  EXPECT_TRUE(parsed->byes.empty());
  EXPECT_EQ(parsed->skipped_packets, 0);
}

TEST(RtcpPacketTest, ReceiverReportWithByeRoundTrips) {
  const std::vector<ReportBlock> blocks = {Block(7, 0)};
  Bytes rr = BuildReceiverReport(0x01020304, blocks, "x");
  const std::vector<uint32_t> leaving = {0x01020304};
  AppendBye(rr, leaving, "call ended");
  EXPECT_EQ(rr.size() % 4, 0u);
  auto parsed = ParseRtcp(rr);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->receiver_reports.size(), 1u);
  EXPECT_EQ(parsed->receiver_reports[0].ssrc, 0x01020304u);
  EXPECT_EQ(parsed->receiver_reports[0].blocks, blocks);
  ASSERT_EQ(parsed->sdes.size(), 1u);
  EXPECT_EQ(parsed->sdes[0].cname, "x");
  ASSERT_EQ(parsed->byes.size(), 1u);
  EXPECT_EQ(parsed->byes[0].ssrcs, leaving);
  EXPECT_EQ(parsed->byes[0].reason, "call ended");
}

TEST(RtcpPacketTest, EmptyReceiverReportAndEmptyCname) {
  const Bytes rr = BuildReceiverReport(5, {}, "");
  // RR with no blocks (8 bytes) + SDES with SSRC, CNAME item of length 0 and a null (12 bytes).
  EXPECT_EQ(rr.size(), 20u);
  auto parsed = ParseRtcp(rr);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->receiver_reports[0].blocks.empty());
  EXPECT_EQ(parsed->sdes[0].cname, "");
}

TEST(RtcpPacketTest, CumulativeLostIs24BitSignedAndClamped) {
  std::vector<ReportBlock> blocks = {Block(1, -1), Block(2, (1 << 23) - 1), Block(3, -(1 << 23)),
                                     Block(4, 100'000'000), Block(5, -100'000'000)};
  auto parsed = ParseRtcp(BuildReceiverReport(9, blocks, "c"));
  ASSERT_TRUE(parsed.ok());
  const auto& got = parsed->receiver_reports[0].blocks;
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].cumulative_lost, -1);
  EXPECT_EQ(got[1].cumulative_lost, (1 << 23) - 1);
  EXPECT_EQ(got[2].cumulative_lost, -(1 << 23));
  EXPECT_EQ(got[3].cumulative_lost, (1 << 23) - 1);
  EXPECT_EQ(got[4].cumulative_lost, -(1 << 23));
}

TEST(RtcpPacketTest, AtMost31BlocksAndLongCnameTruncated) {
  std::vector<ReportBlock> blocks;
  for (uint32_t i = 0; i < 40; ++i) blocks.push_back(Block(i, 0));
  const std::string cname(300, 'a');
  auto parsed = ParseRtcp(BuildSenderReport(1, {}, blocks, cname));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->sender_reports[0].blocks.size(), 31u);
  EXPECT_EQ(parsed->sdes[0].cname, std::string(255, 'a'));
}

// A compound written by hand (not by our builder): RR with one block, SDES with two chunks
// carrying a NAME item before the CNAME, an APP packet, and a BYE without reason.
TEST(RtcpPacketTest, ParsesAHandWrittenCompound) {
  const Bytes pkt = {
      // RR, RC=1, length 7 (32 bytes)
      0x81, 201, 0x00, 0x07, 0x00, 0x00, 0x00, 0x2A,                           //
      0x00, 0x00, 0x00, 0x63, 0x40, 0xFF, 0xFF, 0xFE, 0x00, 0x02, 0x00, 0x10,  // ssrc 99, -2
      0x00, 0x00, 0x00, 0x50, 0xB7, 0x05, 0x20, 0x00, 0x00, 0x05, 0x40, 0x00,  //
      // SDES, SC=2, length 6 (28 bytes)
      0x82, 202, 0x00, 0x06,                                                //
      0x00, 0x00, 0x00, 0x2A, 0x02, 0x01, 'n', 0x01, 0x02, 'a', 'b', 0x00,  // NAME "n", CNAME "ab"
      0x00, 0x00, 0x00, 0x63, 0x01, 0x03, 'x', 'y', 'z', 0x00, 0x00, 0x00,  // CNAME "xyz"
      // APP, subtype 0, length 2 (12 bytes)
      0x80, 204, 0x00, 0x02, 0x00, 0x00, 0x00, 0x2A, 'T', 'E', 'S', 'T',  //
      // BYE, SC=1, length 1
      0x81, 203, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2A};
  auto parsed = ParseRtcp(pkt);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->receiver_reports.size(), 1u);
  const ReportBlock& b = parsed->receiver_reports[0].blocks.at(0);
  EXPECT_EQ(b.ssrc, 99u);
  EXPECT_EQ(b.fraction_lost, 0x40);
  EXPECT_EQ(b.cumulative_lost, -2);
  EXPECT_EQ(b.ext_highest_seq, 0x00020010u);
  EXPECT_EQ(b.jitter, 0x50u);
  EXPECT_EQ(b.lsr, 0xB7052000u);
  EXPECT_EQ(b.dlsr, 0x00054000u);
  ASSERT_EQ(parsed->sdes.size(), 2u);
  EXPECT_EQ(parsed->sdes[0].ssrc, 42u);
  EXPECT_EQ(parsed->sdes[0].cname, "ab");
  EXPECT_EQ(parsed->sdes[1].cname, "xyz");
  EXPECT_EQ(parsed->skipped_packets, 1);
  ASSERT_EQ(parsed->byes.size(), 1u);
  EXPECT_EQ(parsed->byes[0].ssrcs, std::vector<uint32_t>{42});
  EXPECT_EQ(parsed->byes[0].reason, "");
}

TEST(RtcpPacketTest, PaddingOnTheLastPacket) {
  // RR with no blocks, P=1, 4 bytes of padding: length 2 (12 bytes).
  const Bytes pkt = {0xA0, 201, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 4};
  auto parsed = ParseRtcp(pkt);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->receiver_reports.at(0).ssrc, 1u);
}

void ExpectRejected(const Bytes& pkt, const std::string& reason_part) {
  auto parsed = ParseRtcp(pkt);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find(reason_part), std::string::npos)
      << parsed.status().message();
}

TEST(RtcpPacketTest, RejectsMalformedCompounds) {
  const Bytes good_rr = {0x80, 201, 0x00, 0x01, 0, 0, 0, 1};
  ExpectRejected({}, "empty");
  ExpectRejected({0x80, 201}, "shorter than a 4-byte header");
  ExpectRejected({0x40, 201, 0x00, 0x01, 0, 0, 0, 1}, "version 1");
  // Second sub-packet with a bad version: the index is named.
  Bytes two = good_rr;
  two.insert(two.end(), {0xC0, 201, 0x00, 0x01, 0, 0, 0, 1});
  ExpectRejected(two, "sub-packet 1 (type 201): version 3");
  ExpectRejected({0x80, 201, 0x00, 0x02, 0, 0, 0, 1}, "exceeds");
  // Trailing bytes that cannot be a header.
  Bytes trailing = good_rr;
  trailing.insert(trailing.end(), {0x80, 201});
  ExpectRejected(trailing, "2 trailing bytes");
  // RC=1 without the block.
  ExpectRejected({0x81, 201, 0x00, 0x01, 0, 0, 0, 1}, "1 report blocks need 24 bytes");
  ExpectRejected({0x80, 200, 0x00, 0x01, 0, 0, 0, 1}, "sender report shorter");
  ExpectRejected({0x80, 201, 0x00, 0x00}, "receiver report shorter");
  ExpectRejected({0xA0, 201, 0x00, 0x01, 0, 0, 0, 0}, "padding count 0");
  ExpectRejected({0xA0, 201, 0x00, 0x01, 0, 0, 0, 5}, "padding count 5");
  // SDES chunk whose CNAME item runs past the end, and one without the null item.
  ExpectRejected({0x81, 202, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x09, 'a', 'b'}, "runs past the end");
  ExpectRejected({0x81, 202, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x02, 'a', 'b'}, "not terminated");
  // SC=2 with one chunk.
  ExpectRejected({0x82, 202, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x01, 'a', 0}, "SDES chunk 1");
  ExpectRejected({0x82, 203, 0x00, 0x01, 0, 0, 0, 1}, "BYE with 2 sources");
  ExpectRejected({0x81, 203, 0x00, 0x02, 0, 0, 0, 1, 0x05, 'a', 'b', 'c'}, "BYE reason of 5");
}

TEST(RtcpPacketTest, EveryTruncationIsParsedOrRejectedInBounds) {
  SenderInfo info;
  info.packet_count = 3;
  const std::vector<ReportBlock> blocks = {Block(1, 1)};
  Bytes pkt = BuildSenderReport(77, info, blocks, "cname");
  const std::vector<uint32_t> bye = {77};
  AppendBye(pkt, bye, "bye");
  for (size_t n = 0; n <= pkt.size(); ++n) {
    auto copy = std::make_unique<uint8_t[]>(n + 1);
    std::copy(pkt.begin(), pkt.begin() + n, copy.get());
    auto parsed = ParseRtcp(std::span<const uint8_t>(copy.get(), n));
    // Only the cuts at sub-packet boundaries leave a valid compound.
    if (parsed.ok()) {
      EXPECT_TRUE(n == 52 || n == 68 || n == pkt.size()) << n;
    }
  }
}

// RFC 3550 section 6.4.1, Figure 2: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000 give
// a round trip of 0x0006:2000 = 6.125 s.
TEST(RtcpPacketTest, RoundTripFromTheRfcExample) {
  EXPECT_DOUBLE_EQ(RoundTripS(0xB7052000, 0x00054000, 0xB7108000), 6.125);
  EXPECT_EQ(ToNtpShort(5.25), 0x00054000u);
  EXPECT_EQ(RoundTripS(0, 0x00054000, 0xB7108000), 0.0);           // no SR received yet: unknown
  EXPECT_LT(RoundTripS(0xB7052000, 0x00100000, 0xB7108000), 0.0);  // DLSR too large: unknown
  // Across the wrap of the middle 32 bits.
  EXPECT_DOUBLE_EQ(RoundTripS(0xFFFF8000, 0x00008000, 0x00010000), 1.0);
}

TEST(RtcpPacketTest, NtpConversions) {
  using std::chrono::system_clock;
  const NtpTime epoch = ToNtp(system_clock::time_point{});
  EXPECT_EQ(epoch.seconds, 2208988800u);
  EXPECT_EQ(epoch.fraction, 0u);
  const NtpTime half = ToNtp(system_clock::time_point{} + std::chrono::milliseconds(1500));
  EXPECT_EQ(half.seconds, 2208988801u);
  EXPECT_EQ(half.fraction, 0x80000000u);
  EXPECT_EQ(half.Middle32(), (2208988801u << 16) | 0x8000u);
  const auto now = system_clock::now();
  const auto back = FromNtp(ToNtp(now));
  EXPECT_LE(std::chrono::abs(back - now), std::chrono::microseconds(1));
  // After the 2036 NTP era rollover.
  const auto later = system_clock::time_point{} + std::chrono::seconds(2'200'000'000);
  EXPECT_LT(ToNtp(later).seconds, 0x80000000u);
  EXPECT_LE(std::chrono::abs(FromNtp(ToNtp(later)) - later), std::chrono::microseconds(1));
  EXPECT_EQ(ToNtpShort(-1.0), 0u);
  EXPECT_EQ(ToNtpShort(1e9), 0xFFFFFFFFu);
}

}  // namespace
}  // namespace voxgate::telephony
