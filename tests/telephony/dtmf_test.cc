#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "pcap_reader.h"
#include "telephony/dtmf_detector.h"
#include "telephony/dtmf_event.h"
#include "telephony/rtp_packet.h"
#include "test_util.h"

namespace voxgate::telephony {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Payload(uint8_t event, bool end, uint16_t duration) {
  Bytes b(4);
  WriteDtmfEvent({event, end, 10, duration}, b);
  return b;
}

TEST(DtmfEventTest, ParsesSippEndPacket) {
  // The end packet of sipp's dtmf_2833_0.pcap: event 0, E=1, volume 10, duration 2240.
  auto e = ParseDtmfEvent(Bytes{0x00, 0x8A, 0x08, 0xC0});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->event, 0);
  EXPECT_TRUE(e->end);
  EXPECT_EQ(e->volume, 10);
  EXPECT_EQ(e->duration, 2240);
}

TEST(DtmfEventTest, WriteParseRoundTripAndBounds) {
  const DtmfEvent e{11, true, 63, 0xFFFF};
  Bytes out(4);
  ASSERT_EQ(WriteDtmfEvent(e, out), 4u);
  EXPECT_EQ(out, (Bytes{11, 0xBF, 0xFF, 0xFF}));
  auto back = ParseDtmfEvent(out);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, e);
  // The reserved bit is written as 0 and ignored on input; volume is 6 bits.
  ASSERT_EQ(WriteDtmfEvent({1, false, 0xFF, 5}, out), 4u);
  EXPECT_EQ(out[1], 0x3F);
  EXPECT_EQ(ParseDtmfEvent(Bytes{1, 0x7F, 0, 5})->volume, 0x3F);
  EXPECT_FALSE(ParseDtmfEvent(Bytes{1, 2, 3}).ok());
  EXPECT_FALSE(ParseDtmfEvent({}).ok());
  EXPECT_EQ(WriteDtmfEvent(e, std::span<uint8_t>(out.data(), 3)), 0u);
  // Extra bytes (e.g. padding) after the event are ignored.
  EXPECT_TRUE(ParseDtmfEvent(Bytes{1, 2, 3, 4, 5}).ok());
}

TEST(DtmfEventTest, KeyMapping) {
  const std::string keys = "0123456789*#ABCD";
  for (int e = 0; e < 16; ++e) {
    EXPECT_EQ(DtmfEventToChar(static_cast<uint8_t>(e)), keys[e]);
    EXPECT_EQ(DtmfCharToEvent(keys[e]), e);
  }
  EXPECT_EQ(DtmfCharToEvent('a'), 12);
  EXPECT_EQ(DtmfCharToEvent('d'), 15);
  EXPECT_EQ(DtmfCharToEvent('E'), -1);
  EXPECT_EQ(DtmfCharToEvent(' '), -1);
  EXPECT_EQ(DtmfEventToChar(16), '\0');
  EXPECT_EQ(DtmfEventToChar(255), '\0');
}

// ---------------------------------------------------------------------------------------------
// The captures sipp ships: one key press each (start, six updates every 20 ms, three identical
// end packets), telephone-event PT 101 at 8 kHz.

struct SippCapture {
  std::string file;
  char digit;
};

std::vector<SippCapture> SippCaptures() {
  std::vector<SippCapture> c;
  for (char d = '0'; d <= '9'; ++d) c.push_back({std::string("dtmf_2833_") + d + ".pcap", d});
  c.push_back({"dtmf_2833_pound.pcap", '#'});
  c.push_back({"dtmf_2833_star.pcap", '*'});
  return c;
}

struct EventPacket {
  RtpHeader header;
  Bytes payload;
};

std::vector<EventPacket> ReadEventPackets(const std::string& file) {
  const std::string path = "/usr/share/sip-tester/" + file;
  std::vector<testing::UdpDatagram> datagrams;
  std::string error;
  EXPECT_TRUE(testing::ReadPcapUdp(path, &datagrams, &error)) << error;
  std::vector<EventPacket> packets;
  for (const auto& dg : datagrams) {
    auto rtp = ParseRtp(dg.payload);
    EXPECT_TRUE(rtp.ok()) << path << ": " << rtp.status().ToString();
    if (!rtp.ok()) continue;
    EXPECT_EQ(rtp->header.payload_type, 101) << path;
    packets.push_back({rtp->header, Bytes(rtp->payload.begin(), rtp->payload.end())});
  }
  return packets;
}

std::vector<DtmfDigit> Feed(DtmfDetector& det, const std::vector<EventPacket>& packets) {
  std::vector<DtmfDigit> digits;
  for (const auto& p : packets) {
    for (const DtmfDigit& d : det.OnPacket(p.header.timestamp, p.payload)) digits.push_back(d);
  }
  return digits;
}

TEST(DtmfDetectorTest, EachSippCaptureYieldsExactlyItsDigit) {
  VOXGATE_REQUIRE_PEER(std::filesystem::exists("/usr/share/sip-tester/dtmf_2833_0.pcap"),
                       "sipp (package sip-tester)");
  for (const SippCapture& cap : SippCaptures()) {
    SCOPED_TRACE(cap.file);
    const std::vector<EventPacket> packets = ReadEventPackets(cap.file);
    ASSERT_EQ(packets.size(), 10u);
    // The content agrees with the file name: every packet carries the same event.
    const int event = DtmfCharToEvent(cap.digit);
    for (const auto& p : packets) {
      EXPECT_EQ(p.payload.at(0), event);
      EXPECT_EQ(p.header.timestamp, packets[0].header.timestamp);
    }
    EXPECT_TRUE(packets.front().header.marker);
    DtmfDetector det(8000);
    const std::vector<DtmfDigit> digits = Feed(det, packets);
    ASSERT_EQ(digits.size(), 1u);
    EXPECT_EQ(digits[0].digit, cap.digit);
    EXPECT_EQ(digits[0].rtp_timestamp, packets[0].header.timestamp);
    EXPECT_EQ(digits[0].duration_ms, 280);  // 2240 units at 8 kHz
    EXPECT_FALSE(det.Flush().has_value());
    EXPECT_EQ(det.ignored_packets(), 2);  // the two end retransmits
  }
}

TEST(DtmfDetectorTest, SippCapturesAsOneStreamGiveEveryKeyOnce) {
  VOXGATE_REQUIRE_PEER(std::filesystem::exists("/usr/share/sip-tester/dtmf_2833_0.pcap"),
                       "sipp (package sip-tester)");
  // The captures' timestamps are not ordered across files; rebase them one second apart, as one
  // caller pressing the twelve keys.
  DtmfDetector det(8000);
  std::string typed;
  uint32_t base = 0xFFFF0000u;  // crosses the 32-bit wrap on the way
  for (const SippCapture& cap : SippCaptures()) {
    std::vector<EventPacket> packets = ReadEventPackets(cap.file);
    for (auto& p : packets) p.header.timestamp = base;
    for (const DtmfDigit& d : Feed(det, packets)) typed += d.digit;
    base += 8000;
  }
  EXPECT_EQ(typed, "0123456789#*");
}

TEST(DtmfDetectorTest, ReorderedAndDuplicatedPacketsGiveOneDigit) {
  VOXGATE_REQUIRE_PEER(std::filesystem::exists("/usr/share/sip-tester/dtmf_2833_7.pcap"),
                       "sipp (package sip-tester)");
  std::vector<EventPacket> packets = ReadEventPackets("dtmf_2833_7.pcap");
  // Every packet twice, and the first end packet ahead of three updates.
  std::vector<EventPacket> messy;
  for (const auto& p : packets) messy.insert(messy.end(), {p, p});
  std::rotate(messy.begin() + 8, messy.begin() + 14, messy.begin() + 16);
  DtmfDetector det(8000);
  const std::vector<DtmfDigit> digits = Feed(det, messy);
  ASSERT_EQ(digits.size(), 1u);
  EXPECT_EQ(digits[0].digit, '7');
  EXPECT_EQ(digits[0].duration_ms, 280);
  EXPECT_FALSE(det.Flush().has_value());
}

TEST(DtmfDetectorTest, LostEndsReportedWhenTheNextEventStarts) {
  DtmfDetector det(8000);
  int reported = 0;
  // Key '5' at ts 1000: start and two updates, all three ends lost.
  for (uint16_t dur : {160, 320, 480}) reported += det.OnPacket(1000, Payload(5, false, dur)).count;
  EXPECT_EQ(reported, 0);
  // Key '9' at ts 9000: its start reports '5'.
  auto first = det.OnPacket(9000, Payload(9, false, 160));
  ASSERT_EQ(first.count, 1);
  EXPECT_EQ(first.digits[0], (DtmfDigit{'5', 1000, 60}));
  auto second = det.OnPacket(9000, Payload(9, true, 800));
  ASSERT_EQ(second.count, 1);
  EXPECT_EQ(second.digits[0], (DtmfDigit{'9', 9000, 100}));
  // A late update of '5' changes nothing.
  EXPECT_EQ(det.OnPacket(1000, Payload(5, false, 640)).count, 0);
}

TEST(DtmfDetectorTest, NewEventThatIsAlsoItsEndGivesTwoDigits) {
  DtmfDetector det(8000);
  det.OnPacket(100, Payload(1, false, 160));
  auto out = det.OnPacket(5000, Payload(2, true, 1600));  // only the end of '2' got through
  ASSERT_EQ(out.count, 2);
  EXPECT_EQ(out.digits[0].digit, '1');
  EXPECT_EQ(out.digits[1].digit, '2');
  EXPECT_EQ(out.digits[1].duration_ms, 200);
}

TEST(DtmfDetectorTest, LostEndsReportedByPollAndFlush) {
  DtmfDetector det(8000);
  det.OnPacket(40000, Payload(12, false, 800));  // 'A', 100 ms so far
  // Audio resumes: within 250 ms of the event's last known end nothing is reported.
  EXPECT_FALSE(det.Poll(40000 + 800 + 2000).has_value());
  auto d = det.Poll(40000 + 800 + 2001);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, (DtmfDigit{'A', 40000, 100}));
  EXPECT_FALSE(det.Poll(60000).has_value());
  EXPECT_FALSE(det.Flush().has_value());
  // Retransmitted ends arriving after the timeout do not report it again.
  EXPECT_EQ(det.OnPacket(40000, Payload(12, true, 960)).count, 0);

  det.OnPacket(90000, Payload(3, false, 160));
  auto f = det.Flush();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->digit, '3');
  EXPECT_FALSE(det.Flush().has_value());
}

TEST(DtmfDetectorTest, OnlyEndPacketsOrOnlyUpdatesStillCount) {
  DtmfDetector det(8000);
  // Start and updates lost: the first end packet starts and ends it.
  auto out = det.OnPacket(700, Payload(0, true, 1280));
  ASSERT_EQ(out.count, 1);
  EXPECT_EQ(out.digits[0].digit, '0');
  EXPECT_EQ(det.OnPacket(700, Payload(0, true, 1280)).count, 0);
  EXPECT_EQ(det.OnPacket(700, Payload(0, true, 1280)).count, 0);
}

TEST(DtmfDetectorTest, WideBandClockAndMalformedAndNonDtmf) {
  DtmfDetector det(48000);
  EXPECT_EQ(det.OnPacket(1, Bytes{1, 2}).count, 0);
  EXPECT_EQ(det.malformed_packets(), 1);
  EXPECT_EQ(det.OnPacket(2, Payload(16, true, 100)).count, 0);  // flash: not a key
  EXPECT_EQ(det.ignored_packets(), 1);
  auto out = det.OnPacket(3, Payload(15, true, 9600));
  ASSERT_EQ(out.count, 1);
  EXPECT_EQ(out.digits[0], (DtmfDigit{'D', 3, 200}));
  // An event older than the newest one seen is ignored.
  EXPECT_EQ(det.OnPacket(2, Payload(4, true, 100)).count, 0);
}

TEST(DtmfDetectorTest, DoesNotAllocate) {
  VOXGATE_SKIP_WITHOUT_ALLOC_COUNTING();
  DtmfDetector det(8000);
  std::array<uint8_t, 4> p{};
  const std::array<uint8_t, 2> bad{1, 2};
  int digits = 0;
  testing::AllocationScope scope;
  for (uint32_t press = 0; press < 50; ++press) {
    for (uint16_t k = 0; k < 10; ++k) {
      WriteDtmfEvent(
          {static_cast<uint8_t>(press % 16), k >= 7, 10, static_cast<uint16_t>(160 * (k + 1))}, p);
      digits += det.OnPacket(press * 4000, p).count;
    }
    det.OnPacket(press * 4000, bad);
  }
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_EQ(digits, 50);
}

}  // namespace
}  // namespace voxgate::telephony
