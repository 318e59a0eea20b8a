#include "telephony/rtp_packetizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "alloc_counter.h"
#include "audio/g711.h"
#include "telephony/dtmf_detector.h"
#include "telephony/dtmf_event.h"
#include "telephony/payload_decoder.h"

namespace voxgate::telephony {
namespace {

using Bytes = std::vector<uint8_t>;

RtpPacketizerConfig G711Config() {
  RtpPacketizerConfig c;
  c.codec = {Codec::kPcmu, 0, 8000, 1};
  c.input_rate_hz = 8000;
  c.telephone_event_pt = 101;
  return c;
}

std::vector<float> Tone(int rate, int samples, int offset) {
  std::vector<float> x(static_cast<size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    x[i] = 0.3f * static_cast<float>(std::sin(2 * std::numbers::pi * 440.0 * (offset + i) / rate));
  }
  return x;
}

struct Sent {
  RtpHeader header;
  Bytes payload;
};

Sent Write(RtpPacketizer& p, std::span<const float> frame) {
  Bytes out(RtpPacketizer::kMaxPacketBytes);
  auto n = p.WriteFrame(frame, out);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  if (!n.ok()) return {};
  auto view = ParseRtp(std::span<const uint8_t>(out.data(), *n));
  EXPECT_TRUE(view.ok()) << view.status().ToString();
  if (!view.ok()) return {};
  return {view->header, Bytes(view->payload.begin(), view->payload.end())};
}

TEST(RtpPacketizerTest, RandomInitialStateAndFixedSsrc) {
  auto a = RtpPacketizer::Create(G711Config());
  auto b = RtpPacketizer::Create(G711Config());
  ASSERT_TRUE(a.ok() && b.ok());
  // Independent random SSRC, sequence and timestamp: all three equal by chance is ~2^-80.
  EXPECT_FALSE((*a)->ssrc() == (*b)->ssrc() && (*a)->next_sequence() == (*b)->next_sequence() &&
               (*a)->next_timestamp() == (*b)->next_timestamp());
  RtpPacketizerConfig c = G711Config();
  c.ssrc = 0xDEADBEEF;
  c.random_seed = 7;
  auto fixed = RtpPacketizer::Create(c);
  auto again = RtpPacketizer::Create(c);
  EXPECT_EQ((*fixed)->ssrc(), 0xDEADBEEFu);
  EXPECT_EQ((*fixed)->next_sequence(), (*again)->next_sequence());  // same seed, same start
  EXPECT_EQ((*fixed)->next_timestamp(), (*again)->next_timestamp());
}

TEST(RtpPacketizerTest, G711PacketsCarryTheEncodedFramesOnThe8kHzClock) {
  RtpPacketizerConfig c = G711Config();
  c.codec = {Codec::kPcma, 8, 8000, 1};
  auto p = RtpPacketizer::Create(c);
  ASSERT_TRUE(p.ok());
  const uint16_t seq0 = (*p)->next_sequence();
  const uint32_t ts0 = (*p)->next_timestamp();
  size_t octets = 0;
  for (int k = 0; k < 10; ++k) {
    const std::vector<float> frame = Tone(8000, 160, 160 * k);
    const Sent s = Write(**p, frame);
    EXPECT_EQ(s.header.payload_type, 8);
    EXPECT_EQ(s.header.marker, k == 0);
    EXPECT_EQ(s.header.sequence, static_cast<uint16_t>(seq0 + k));
    EXPECT_EQ(s.header.timestamp, ts0 + 160u * k);
    EXPECT_EQ(s.header.ssrc, (*p)->ssrc());
    EXPECT_EQ(s.payload, audio::G711Encode(frame, audio::G711Law::kAlaw));
    octets += s.payload.size();
  }
  EXPECT_EQ((*p)->packets_sent(), 10u);
  EXPECT_EQ((*p)->octets_sent(), octets);
  const SenderInfo info = (*p)->MakeSenderInfo({1, 2});
  EXPECT_EQ(info.packet_count, 10u);
  EXPECT_EQ(info.octet_count, 1600u);
  EXPECT_EQ(info.rtp_timestamp, ts0 + 1600);
  EXPECT_EQ(info.ntp, (NtpTime{1, 2}));
}

TEST(RtpPacketizerTest, OpusUses48kHzClockWhateverTheInputRate) {
  RtpPacketizerConfig c;
  c.codec = {Codec::kOpus, 111, 48000, 2};
  c.input_rate_hz = 16000;
  auto p = RtpPacketizer::Create(c);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->frame_samples(), 320);
  EXPECT_EQ((*p)->timestamp_increment(), 960u);
  auto dec = PayloadDecoder::Create(c.codec, 16000);
  ASSERT_TRUE(dec.ok());
  const uint32_t ts0 = (*p)->next_timestamp();
  std::vector<float> out(960);
  for (int k = 0; k < 5; ++k) {
    const Sent s = Write(**p, Tone(16000, 320, 320 * k));
    EXPECT_EQ(s.header.payload_type, 111);
    EXPECT_EQ(s.header.timestamp, ts0 + 960u * k);
    auto n = (*dec)->Decode(s.payload, out);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 320);
  }
}

TEST(RtpPacketizerTest, SkippedFramesAdvanceTheClockAndMarkTheNextTalkspurt) {
  auto p = RtpPacketizer::Create(G711Config());
  ASSERT_TRUE(p.ok());
  const std::vector<float> frame = Tone(8000, 160, 0);
  const Sent first = Write(**p, frame);
  const Sent second = Write(**p, frame);
  EXPECT_TRUE(first.header.marker);
  EXPECT_FALSE(second.header.marker);
  (*p)->SkipFrame();
  (*p)->SkipFrame();
  const Sent resumed = Write(**p, frame);
  EXPECT_TRUE(resumed.header.marker);
  EXPECT_EQ(resumed.header.sequence, static_cast<uint16_t>(second.header.sequence + 1));
  EXPECT_EQ(resumed.header.timestamp, second.header.timestamp + 3 * 160);
  EXPECT_EQ((*p)->packets_sent(), 3u);
}

TEST(RtpPacketizerTest, DtmfKeyPressIsSentAsRfc4733EventsAndDetectedOnce) {
  auto p = RtpPacketizer::Create(G711Config());
  ASSERT_TRUE(p.ok());
  const std::vector<float> frame = Tone(8000, 160, 0);
  const Sent audio = Write(**p, frame);
  ASSERT_TRUE((*p)->StartDtmf('5', 100).ok());
  EXPECT_TRUE((*p)->dtmf_active());
  std::vector<Sent> events;
  while ((*p)->dtmf_active()) events.push_back(Write(**p, frame));
  // 100 ms = 800 units: start (0), updates 160..640, then the end three times.
  ASSERT_EQ(events.size(), 5u + 3u);
  const uint32_t event_ts = audio.header.timestamp + 160;
  DtmfDetector detector(8000);
  std::vector<DtmfDigit> digits;
  for (size_t k = 0; k < events.size(); ++k) {
    const Sent& e = events[k];
    EXPECT_EQ(e.header.payload_type, 101);
    EXPECT_EQ(e.header.marker, k == 0);
    EXPECT_EQ(e.header.timestamp, event_ts);
    EXPECT_EQ(e.header.sequence, static_cast<uint16_t>(audio.header.sequence + 1 + k));
    auto ev = ParseDtmfEvent(e.payload);
    ASSERT_TRUE(ev.ok());
    EXPECT_EQ(ev->event, 5);
    EXPECT_EQ(ev->volume, 10);
    EXPECT_EQ(ev->end, k >= 5);
    EXPECT_EQ(ev->duration, k >= 5 ? 800 : 160 * k);
    for (const DtmfDigit& d : detector.OnPacket(e.header.timestamp, e.payload)) digits.push_back(d);
  }
  ASSERT_EQ(digits.size(), 1u);
  EXPECT_EQ(digits[0], (DtmfDigit{'5', event_ts, 100}));
  // Audio resumes on the running clock, as a new talkspurt.
  const Sent after = Write(**p, frame);
  EXPECT_EQ(after.header.payload_type, 0);
  EXPECT_TRUE(after.header.marker);
  EXPECT_EQ(after.header.timestamp, event_ts + 8 * 160);
  EXPECT_EQ((*p)->packets_sent(), 10u);
  EXPECT_EQ((*p)->octets_sent(), 160u * 2 + 4u * 8);
}

TEST(RtpPacketizerTest, DtmfErrors) {
  RtpPacketizerConfig no_dtmf = G711Config();
  no_dtmf.telephone_event_pt = -1;
  auto p = RtpPacketizer::Create(no_dtmf);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->StartDtmf('1').code(), StatusCode::kUnsupported);
  auto q = RtpPacketizer::Create(G711Config());
  EXPECT_EQ((*q)->StartDtmf('x').code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*q)->StartDtmf('1', 20).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*q)->StartDtmf('1', 9000).code(), StatusCode::kInvalidArgument);  // > 65535 units
  EXPECT_TRUE((*q)->StartDtmf('#', 8000).ok());
  EXPECT_EQ((*q)->StartDtmf('1').code(), StatusCode::kUnavailable);
  RtpPacketizerConfig opus;
  opus.codec = {Codec::kOpus, 111, 48000, 2};
  opus.input_rate_hz = 48000;
  opus.telephone_event_pt = 101;
  auto o = RtpPacketizer::Create(opus);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ((*o)->StartDtmf('1', 1400).code(), StatusCode::kInvalidArgument);  // > 65535 at 48k
  EXPECT_TRUE((*o)->StartDtmf('1', 1300).ok());
}

TEST(RtpPacketizerTest, BadConfigAndFrames) {
  RtpPacketizerConfig c = G711Config();
  c.telephone_event_pt = 0;  // same as the codec's
  EXPECT_FALSE(RtpPacketizer::Create(c).ok());
  c = G711Config();
  c.input_rate_hz = 16000;
  EXPECT_FALSE(RtpPacketizer::Create(c).ok());
  c = G711Config();
  c.ssrc = 1ll << 32;
  EXPECT_FALSE(RtpPacketizer::Create(c).ok());
  c = G711Config();
  c.dtmf_volume_dbm0 = 64;
  EXPECT_FALSE(RtpPacketizer::Create(c).ok());
  EXPECT_NE(G711Config().ToString().find("PCMU/8000 pt 0"), std::string::npos);

  auto p = RtpPacketizer::Create(G711Config());
  Bytes out(RtpPacketizer::kMaxPacketBytes);
  const uint16_t seq = (*p)->next_sequence();
  EXPECT_FALSE((*p)->WriteFrame(std::vector<float>(100), out).ok());
  Bytes small(100);
  EXPECT_FALSE((*p)->WriteFrame(std::vector<float>(160), small).ok());
  EXPECT_EQ((*p)->next_sequence(), seq);  // nothing counted
  EXPECT_EQ((*p)->packets_sent(), 0u);
}

TEST(RtpPacketizerTest, WriteFrameDoesNotAllocate) {
  VOXGATE_SKIP_WITHOUT_ALLOC_COUNTING();
  auto g711 = RtpPacketizer::Create(G711Config());
  RtpPacketizerConfig oc;
  oc.codec = {Codec::kOpus, 111, 48000, 2};
  oc.input_rate_hz = 16000;
  oc.telephone_event_pt = 101;
  auto opus = RtpPacketizer::Create(oc);
  ASSERT_TRUE(g711.ok() && opus.ok());
  const std::vector<float> f8 = Tone(8000, 160, 0), f16 = Tone(16000, 320, 0);
  Bytes out(RtpPacketizer::kMaxPacketBytes);
  size_t bytes = 0;
  testing::AllocationScope scope;
  for (int k = 0; k < 50; ++k) {
    if (k == 10) {
      (void)(*g711)->StartDtmf('1', 100);
      (void)(*opus)->StartDtmf('2', 100);
    }
    bytes += *(*g711)->WriteFrame(f8, out);
    bytes += *(*opus)->WriteFrame(f16, out);
  }
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_GT(bytes, 0u);
}

}  // namespace
}  // namespace voxgate::telephony
