// CallMedia driven the way the call manager drives it, with real speech: a remote phone
// (RtpPacketizer) sends LibriSpeech audio as PCMU or Opus RTP, CallMedia takes the datagrams in and
// plays frames out once per ptime, and a real QosTracker watches the stream. Network trouble
// (loss, silence, a second source, garbage) is made by dropping or rewriting datagrams.
#include "telephony/call_media.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "alloc_counter.h"
#include "analytics/qos_tracker.h"
#include "audio/audio_decoder.h"
#include "audio/g711.h"
#include "telephony/payload_decoder.h"
#include "telephony/rtcp_packet.h"
#include "telephony/rtp_packet.h"
#include "telephony/rtp_packetizer.h"
#include "test_util.h"

namespace voxgate::telephony {
namespace {

using Bytes = std::vector<uint8_t>;

const CodecSpec kPcmu{Codec::kPcmu, 0, 8000, 1};
const CodecSpec kOpus{Codec::kOpus, 111, 48000, 2};
constexpr int kEventPt = 101;
constexpr uint32_t kPhoneSsrc = 0x11223344;
constexpr uint32_t kOtherSsrc = 0x55667788;
constexpr double kT0 = 1000.0;  // monotonic time of the first packet, s

double TickS(int k) { return kT0 + 0.02 * k; }

// The first utterance of a development-set speaker at `rate_hz` (decoded once per rate).
const std::vector<float>& Speech(int rate_hz) {
  static std::map<int, std::vector<float>> cache;
  auto it = cache.find(rate_hz);
  if (it != cache.end()) return it->second;
  audio::DecodeConfig dc;
  dc.target_sample_rate_hz = rate_hz;
  auto clip = audio::DecodeFile(::voxgate::testing::DevSetUtterance("1688-142285", 0), dc);
  EXPECT_TRUE(clip.ok()) << clip.status().ToString();
  std::vector<float> samples;
  if (clip.ok()) samples = std::move(clip->samples);
  return cache.emplace(rate_hz, std::move(samples)).first->second;
}

int RateFor(const CodecSpec& codec) { return codec.codec == Codec::kOpus ? 16000 : 8000; }

NegotiatedMedia Media(const CodecSpec& codec, int ptime_ms = 20, int event_pt = kEventPt) {
  NegotiatedMedia m;
  m.audio = codec;
  m.telephone_event_pt = event_pt;
  m.ptime_ms = ptime_ms;
  m.remote_address = "127.0.0.1";
  m.remote_rtp_port = 40000;
  return m;
}

analytics::QosTrackerConfig QosConfig(const CodecSpec& codec) {
  analytics::QosTrackerConfig c;
  c.codec = std::string(CodecName(codec.codec));
  c.clock_rate_hz = codec.clock_rate_hz;
  return c;
}

std::unique_ptr<CallMedia> MakeMedia(const NegotiatedMedia& media, analytics::QosTracker* qos,
                                     CallMediaConfig config = {}) {
  const int rate = RateFor(media.audio);
  auto m = CallMedia::Create(media, config, qos, rate, rate, "test@voxgate");
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::move(m).value() : nullptr;
}

// The remote end of the call: sends the speech file, 20 ms per packet, looping over it.
class Phone {
 public:
  explicit Phone(const CodecSpec& codec, uint32_t ssrc = kPhoneSsrc, int event_pt = kEventPt)
      : speech_(Speech(RateFor(codec))) {
    RtpPacketizerConfig c;
    c.codec = codec;
    c.input_rate_hz = RateFor(codec);
    c.telephone_event_pt = event_pt;
    c.ssrc = ssrc;
    c.random_seed = 42 + ssrc;
    auto p = RtpPacketizer::Create(c);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    packetizer_ = std::move(p).value();
  }

  // The next packet (audio, or a telephone event while a key press is being sent).
  Bytes Next() {
    const size_t n = static_cast<size_t>(packetizer_->frame_samples());
    if (pos_ + n > speech_.size()) pos_ = 0;
    Bytes out(RtpPacketizer::kMaxPacketBytes);
    auto size = packetizer_->WriteFrame(std::span<const float>(speech_).subspan(pos_, n), out);
    EXPECT_TRUE(size.ok()) << size.status().ToString();
    pos_ += n;
    out.resize(size.ok() ? *size : 0);
    return out;
  }
  void Skip() {
    packetizer_->SkipFrame();
    pos_ += static_cast<size_t>(packetizer_->frame_samples());
  }
  RtpPacketizer& packetizer() { return *packetizer_; }

 private:
  const std::vector<float>& speech_;
  std::unique_ptr<RtpPacketizer> packetizer_;
  size_t pos_ = 0;
};

Bytes PayloadOf(const Bytes& packet) {
  auto view = ParseRtp(packet);
  EXPECT_TRUE(view.ok()) << view.status().ToString();
  return view.ok() ? Bytes(view->payload.begin(), view->payload.end()) : Bytes{};
}

// An RTP packet made by hand (for what RtpPacketizer does not send).
Bytes Rtp(uint8_t pt, uint16_t seq, uint32_t ts, const Bytes& payload, uint32_t ssrc = kPhoneSsrc) {
  RtpHeader h;
  h.payload_type = pt;
  h.sequence = seq;
  h.timestamp = ts;
  h.ssrc = ssrc;
  Bytes packet(kRtpHeaderBytes + payload.size());
  packet.resize(WriteRtp(h, payload, packet));
  EXPECT_FALSE(packet.empty());
  return packet;
}

// 20 ms of µ-law speech, frame `n` of the utterance.
Bytes UlawFrame(int n, int samples = 160) {
  return audio::G711Encode(
      std::span<const float>(Speech(8000)).subspan(static_cast<size_t>(n) * 160, samples),
      audio::G711Law::kUlaw);
}

double Rms(std::span<const float> x) {
  double s = 0;
  for (float v : x) s += static_cast<double>(v) * v;
  return x.empty() ? 0.0 : std::sqrt(s / static_cast<double>(x.size()));
}

float MaxAbsDiff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  float d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

// A reference decoder fed the same payloads (and the same losses) as CallMedia's.
class DirectDecoder {
 public:
  DirectDecoder(const CodecSpec& codec, int rate_hz) {
    auto d = PayloadDecoder::Create(codec, rate_hz);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    decoder_ = std::move(d).value();
  }
  std::vector<float> Decode(const Bytes& payload) {
    std::vector<float> out(5760);
    auto n = decoder_->Decode(payload, out);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    out.resize(n.ok() ? static_cast<size_t>(*n) : 0);
    return out;
  }
  std::vector<float> Conceal(int samples) {
    std::vector<float> out(static_cast<size_t>(samples));
    out.resize(static_cast<size_t>(decoder_->Conceal(samples, out)));
    return out;
  }

 private:
  std::unique_ptr<PayloadDecoder> decoder_;
};

// ---------------------------------------------------------------------------------------------
// Receive path: in-order playout, loss, silence.

class CallMediaCodecTest : public ::testing::TestWithParam<CodecSpec> {};

TEST_P(CallMediaCodecTest, InOrderPacketsPlayOutAsTheyDecode) {
  const CodecSpec codec = GetParam();
  const int rate = RateFor(codec);
  const int samples = rate / 50;
  analytics::QosTracker qos(QosConfig(codec));
  auto media = MakeMedia(Media(codec), &qos);
  ASSERT_NE(media, nullptr);
  EXPECT_EQ(media->ptime_ms(), 20);
  EXPECT_EQ(media->output_rate_hz(), rate);
  EXPECT_EQ(media->playout_samples(), samples);
  EXPECT_FALSE(media->remote_ssrc().has_value());
  EXPECT_TRUE(std::isnan(media->last_rtp_s()));

  Phone phone(codec);
  DirectDecoder reference(codec, rate);
  constexpr int kPackets = 150;  // 3 s
  std::vector<std::vector<float>> expected;
  std::vector<audio::AudioFrame> frames;
  std::vector<int> ticks_of_frames;
  audio::AudioFrame frame;
  audio::AudioFrame none;
  // Nothing plays before the first packet.
  EXPECT_FALSE(media->Playout(&none));
  for (int k = 0; k < kPackets + 2; ++k) {
    if (k < kPackets) {
      const Bytes packet = phone.Next();
      expected.push_back(reference.Decode(PayloadOf(packet)));
      const auto digits = media->OnRtp(packet, TickS(k));
      EXPECT_EQ(digits.count, 0);
    }
    if (media->Playout(&frame)) {
      frames.push_back(frame);
      ticks_of_frames.push_back(k);
    }
  }
  // The jitter buffer's 40 ms minimum delay: two ticks without a frame, then one frame per tick,
  // the last two played from the buffer after the sender stopped.
  ASSERT_EQ(frames.size(), static_cast<size_t>(kPackets));
  EXPECT_EQ(ticks_of_frames.front(), 2);
  EXPECT_EQ(ticks_of_frames.back(), kPackets + 1);

  std::vector<float> all;
  for (size_t i = 0; i < frames.size(); ++i) {
    const audio::AudioFrame& f = frames[i];
    ASSERT_EQ(f.num_samples, samples);
    EXPECT_EQ(f.sample_rate_hz, rate);
    EXPECT_EQ(f.clock, static_cast<int64_t>(i) * samples) << i;
    EXPECT_FALSE(f.concealed) << i;
    ASSERT_EQ(expected[i].size(), static_cast<size_t>(samples));
    EXPECT_LE(MaxAbsDiff(f.data(), expected[i]), 1e-6f) << "frame " << i;
    all.insert(all.end(), f.data().begin(), f.data().end());
  }
  // Real speech came through (not two decoders agreeing on silence).
  EXPECT_GT(Rms(all), 0.01);

  const auto& c = media->counters();
  EXPECT_EQ(c.rtp_packets, kPackets);
  EXPECT_EQ(c.frames_played, kPackets);
  EXPECT_EQ(c.frames_concealed, 0);
  EXPECT_EQ(c.malformed, 0);
  EXPECT_EQ(c.wrong_ssrc, 0);
  EXPECT_EQ(c.unknown_payload_type, 0);
  EXPECT_EQ(c.decode_errors, 0);
  ASSERT_TRUE(media->remote_ssrc().has_value());
  EXPECT_EQ(*media->remote_ssrc(), kPhoneSsrc);
  EXPECT_EQ(media->last_rtp_s(), TickS(kPackets - 1));

  const analytics::QosSummary t = qos.Totals(TickS(kPackets + 1));
  EXPECT_EQ(t.packets_lost, 0);
  EXPECT_GE(t.packets_received, kPackets - 1);  // the first may be spent on probation
  EXPECT_TRUE(std::isfinite(t.jitter_s));
  EXPECT_LT(t.jitter_s, 0.001);  // packets arrived exactly on their clock
  EXPECT_GT(t.bytes_in, 0);
}

TEST_P(CallMediaCodecTest, TenPercentLossIsConcealedAndShowsInQos) {
  const CodecSpec codec = GetParam();
  const int rate = RateFor(codec);
  const int samples = rate / 50;
  analytics::QosTracker qos(QosConfig(codec));
  auto media = MakeMedia(Media(codec), &qos);
  ASSERT_NE(media, nullptr);
  Phone phone(codec);
  DirectDecoder reference(codec, rate);
  constexpr int kPackets = 200;
  auto lost = [](int k) { return k % 10 == 5; };
  std::vector<std::vector<float>> expected;
  std::vector<audio::AudioFrame> frames;
  audio::AudioFrame frame;
  for (int k = 0; k < kPackets + 2; ++k) {
    if (k < kPackets) {
      const Bytes packet = phone.Next();
      if (lost(k)) {
        expected.push_back(reference.Conceal(samples));
      } else {
        expected.push_back(reference.Decode(PayloadOf(packet)));
        media->OnRtp(packet, TickS(k));
      }
    }
    if (media->Playout(&frame)) frames.push_back(frame);
  }
  ASSERT_EQ(frames.size(), static_cast<size_t>(kPackets));
  for (int i = 0; i < kPackets; ++i) {
    EXPECT_EQ(frames[i].concealed, lost(i)) << i;
    EXPECT_EQ(frames[i].clock, static_cast<int64_t>(i) * samples);
    ASSERT_EQ(frames[i].num_samples, samples);
    // Concealment and the recovery after it are the decoder's own: CallMedia adds nothing.
    EXPECT_LE(MaxAbsDiff(frames[i].data(), expected[i]), 1e-6f) << "frame " << i;
  }
  const auto& c = media->counters();
  EXPECT_EQ(c.frames_concealed, 20);
  EXPECT_EQ(c.frames_played, 180);
  EXPECT_EQ(c.rtp_packets, 180);
  EXPECT_EQ(media->jitter_buffer().stats().missing, 20);

  const analytics::QosSummary t = qos.Totals(TickS(kPackets + 1));
  EXPECT_EQ(t.packets_lost, 20);
  EXPECT_NEAR(t.loss_pct, 10.0, 0.1);
  EXPECT_EQ(t.duplicates, 0);
  EXPECT_EQ(t.late, 0);
}

INSTANTIATE_TEST_SUITE_P(Codecs, CallMediaCodecTest, ::testing::Values(kPcmu, kOpus),
                         [](const ::testing::TestParamInfo<CodecSpec>& info) {
                           return std::string(info.param.codec == Codec::kOpus ? "Opus" : "Pcmu");
                         });

// After max_conceal_ms of missing audio Playout stops, and it starts again with real audio (not
// with concealment) when the sender comes back.
void CheckConcealmentStopsAndResumes(int max_conceal_ms) {
  SCOPED_TRACE(max_conceal_ms);
  analytics::QosTracker qos(QosConfig(kPcmu));
  CallMediaConfig config;
  config.max_conceal_ms = max_conceal_ms;
  auto media = MakeMedia(Media(kPcmu), &qos, config);
  ASSERT_NE(media, nullptr);
  Phone phone(kPcmu);
  audio::AudioFrame frame;
  int k = 0;
  int64_t next_clock = 0;
  auto tick = [&](bool send) {
    if (send) {
      media->OnRtp(phone.Next(), TickS(k));
    } else {
      phone.Skip();  // the sender is silent (silence suppression, hold)
    }
    ++k;
    if (!media->Playout(&frame)) return false;
    EXPECT_EQ(frame.clock, next_clock);  // every frame played, concealed or not, is on the clock
    next_clock += frame.num_samples;
    return true;
  };
  for (int i = 0; i < 50; ++i) tick(true);
  const int64_t concealed_before = media->counters().frames_concealed;
  // The two buffered packets still play, then concealment for max_conceal_ms, then nothing.
  std::vector<bool> played, concealed;
  for (int i = 0; i < 100; ++i) {
    played.push_back(tick(false));
    concealed.push_back(played.back() && frame.concealed);
  }
  const int expect_concealed = max_conceal_ms / 20;
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(played[i], i < 2 + expect_concealed) << i;
    EXPECT_EQ(concealed[i], i >= 2 && i < 2 + expect_concealed) << i;
  }
  EXPECT_EQ(media->counters().frames_concealed - concealed_before, expect_concealed);
  // Packets come back: the first frame played again is decoded audio.
  const int64_t played_before = media->counters().frames_played;
  int first = -1;
  for (int i = 0; i < 20; ++i) {
    if (tick(true) && first < 0) {
      first = i;
      EXPECT_FALSE(frame.concealed);
    }
  }
  ASSERT_GE(first, 0) << "playout never resumed";
  EXPECT_LE(first, 5);
  EXPECT_EQ(media->counters().frames_played - played_before, 20 - first);
}

TEST(CallMediaTest, LongSilenceStopsPlayoutUntilPacketsReturn) {
  CheckConcealmentStopsAndResumes(200);  // the default
  CheckConcealmentStopsAndResumes(60);
  CheckConcealmentStopsAndResumes(0);  // never conceal
}

// ---------------------------------------------------------------------------------------------
// Sources.

TEST(CallMediaTest, SecondSsrcIsDroppedWhileTheFirstIsAliveAndTakenAfterSilence) {
  analytics::QosTracker qos(QosConfig(kPcmu));
  auto media = MakeMedia(Media(kPcmu), &qos);  // ssrc_switch_silence_s = 1.0
  ASSERT_NE(media, nullptr);
  Phone a(kPcmu, kPhoneSsrc);
  Phone b(kPcmu, kOtherSsrc);
  audio::AudioFrame frame;
  int k = 0;
  for (; k < 50; ++k) {
    media->OnRtp(a.Next(), TickS(k));
    // A stray stream interleaved with the call's: dropped, it never plays.
    media->OnRtp(b.Next(), TickS(k) + 0.001);
    media->Playout(&frame);
  }
  EXPECT_EQ(media->counters().wrong_ssrc, 50);
  EXPECT_EQ(media->counters().rtp_packets, 50);
  EXPECT_EQ(media->counters().ssrc_changes, 0);
  EXPECT_EQ(*media->remote_ssrc(), kPhoneSsrc);
  const double last_a = TickS(k - 1);

  // A goes quiet; B 0.5 s later is still a stray.
  media->OnRtp(b.Next(), last_a + 0.5);
  EXPECT_EQ(media->counters().wrong_ssrc, 51);
  EXPECT_EQ(*media->remote_ssrc(), kPhoneSsrc);
  const analytics::QosSummary before = qos.Totals(last_a + 0.5);
  EXPECT_EQ(before.packets_lost, 0);

  // After ssrc_switch_silence_s the call's media has moved to B.
  DirectDecoder reference(kPcmu, 8000);
  std::vector<std::vector<float>> expected;
  std::vector<audio::AudioFrame> frames;
  const double t_switch = last_a + 1.0;
  for (int i = 0; i < 50; ++i) {
    const Bytes packet = b.Next();
    expected.push_back(reference.Decode(PayloadOf(packet)));
    media->OnRtp(packet, t_switch + 0.02 * i);
    if (i == 0) {
      EXPECT_EQ(media->counters().ssrc_changes, 1);
      EXPECT_EQ(*media->remote_ssrc(), kOtherSsrc);
    }
    // Now A is the stray.
    media->OnRtp(a.Next(), t_switch + 0.02 * i + 0.001);
    if (media->Playout(&frame) && !frame.concealed) frames.push_back(frame);
  }
  EXPECT_EQ(media->counters().ssrc_changes, 1);
  EXPECT_EQ(media->counters().wrong_ssrc, 51 + 50);
  EXPECT_EQ(media->counters().rtp_packets, 100);
  // B's audio plays from its first packet (the buffer was reset, nothing of A is left in it).
  ASSERT_EQ(frames.size(), 48u);
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_LE(MaxAbsDiff(frames[i].data(), expected[i]), 1e-6f) << i;
  }
  // The tracker restarted its statistics for B: B's unrelated sequence numbers are not a jump
  // or a loss, and the totals carry A's packets.
  const analytics::QosSummary after = qos.Totals(t_switch + 1.0);
  EXPECT_EQ(after.packets_lost, 0);
  EXPECT_GE(after.packets_expected, before.packets_expected + 49);
  EXPECT_GE(after.packets_received, before.packets_received + 49);
  // Our report is about B now, with B's highest sequence number.
  auto report = ParseRtcp(media->MakeRtcpReport(t_switch + 1.0, false));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->receiver_reports.size(), 1u);
  ASSERT_EQ(report->receiver_reports[0].blocks.size(), 1u);
  const ReportBlock& block = report->receiver_reports[0].blocks[0];
  EXPECT_EQ(block.ssrc, kOtherSsrc);
  EXPECT_EQ(block.cumulative_lost, 0);
  EXPECT_EQ(static_cast<uint16_t>(block.ext_highest_seq),
            static_cast<uint16_t>(b.packetizer().next_sequence() - 1));
}

TEST(CallMediaTest, ZeroSwitchSilenceFollowsTheLatestSource) {
  CallMediaConfig config;
  config.ssrc_switch_silence_s = 0;
  auto media = MakeMedia(Media(kPcmu), nullptr, config);  // qos may be null
  ASSERT_NE(media, nullptr);
  Phone a(kPcmu, kPhoneSsrc);
  Phone b(kPcmu, kOtherSsrc);
  media->OnRtp(a.Next(), 1.0);
  media->OnRtp(b.Next(), 1.0);
  EXPECT_EQ(*media->remote_ssrc(), kOtherSsrc);
  EXPECT_EQ(media->counters().ssrc_changes, 1);
  EXPECT_EQ(media->counters().wrong_ssrc, 0);
}

// ---------------------------------------------------------------------------------------------
// Bad input.

TEST(CallMediaTest, MalformedDatagramsAndUnknownPayloadTypesAreCountedAndDropped) {
  analytics::QosTracker qos(QosConfig(kPcmu));
  auto media = MakeMedia(Media(kPcmu), &qos);
  ASSERT_NE(media, nullptr);
  Phone phone(kPcmu);
  const Bytes good = phone.Next();
  ASSERT_EQ(good.size(), kRtpHeaderBytes + 160);

  int64_t malformed = 0;
  auto expect_malformed = [&](const Bytes& d, const char* what) {
    SCOPED_TRACE(what);
    const auto digits = media->OnRtp(d, 1.0);
    EXPECT_EQ(digits.count, 0);
    EXPECT_EQ(media->counters().malformed, ++malformed);
  };
  expect_malformed({}, "empty");
  expect_malformed({0x12, 0x34, 0x56}, "garbage");
  expect_malformed(Bytes(good.begin(), good.begin() + 11), "truncated header");
  Bytes v1 = good;
  v1[0] = static_cast<uint8_t>((v1[0] & 0x3F) | 0x40);
  expect_malformed(v1, "version 1");
  Bytes v0 = good;
  v0[0] &= 0x3F;
  expect_malformed(v0, "version 0");
  Bytes csrcs = good;
  csrcs.resize(20);
  csrcs[0] = static_cast<uint8_t>(csrcs[0] | 0x0F);  // 15 CSRCs announced, 2 present
  expect_malformed(csrcs, "CSRC list past the end");
  Bytes pad = good;
  pad[0] |= 0x20;
  pad.back() = 255;  // padding longer than the packet
  expect_malformed(pad, "bad padding");
  // Looks like RTCP on the shared port (second byte 200) but is not valid RTCP.
  expect_malformed({0x80, 200, 0x00, 0x40, 1, 2, 3, 4}, "bad RTCP on the RTP port");
  EXPECT_FALSE(media->OnRtcp(good, 1.0));
  EXPECT_EQ(media->counters().malformed, ++malformed);
  EXPECT_FALSE(media->OnRtcp({}, 1.0));
  EXPECT_EQ(media->counters().malformed, ++malformed);

  // A payload type that was not negotiated: counted, and it does not claim the source.
  RtpHeader h;
  h.payload_type = 96;
  h.sequence = 7;
  h.timestamp = 1234;
  h.ssrc = kOtherSsrc;
  Bytes unknown(kRtpHeaderBytes + 160);
  ASSERT_GT(WriteRtp(h, Bytes(160, 0xFF), unknown), 0u);
  media->OnRtp(unknown, 1.0);
  h.payload_type = 8;  // PCMA, not what this call negotiated
  ASSERT_GT(WriteRtp(h, Bytes(160, 0xD5), unknown), 0u);
  media->OnRtp(unknown, 1.0);
  EXPECT_EQ(media->counters().unknown_payload_type, 2);
  EXPECT_FALSE(media->remote_ssrc().has_value());

  EXPECT_EQ(media->counters().rtp_packets, 0);
  EXPECT_EQ(media->counters().rtcp_packets, 0);
  audio::AudioFrame frame;
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(media->Playout(&frame));
  EXPECT_EQ(qos.Totals(1.0).packets_received, 0);

  // A valid packet still plays afterwards.
  media->OnRtp(good, 1.0);
  EXPECT_EQ(media->counters().rtp_packets, 1);
  EXPECT_EQ(*media->remote_ssrc(), kPhoneSsrc);
}

TEST(CallMediaTest, OversizedPayloadIsRefusedByTheJitterBuffer) {
  auto media = MakeMedia(Media(kPcmu), nullptr);
  ASSERT_NE(media, nullptr);
  RtpHeader h;
  h.payload_type = 0;
  h.ssrc = kPhoneSsrc;
  const Bytes payload(2000, 0x55);  // more than max_payload_bytes (1500)
  Bytes packet(kRtpHeaderBytes + payload.size());
  ASSERT_GT(WriteRtp(h, payload, packet), 0u);
  media->OnRtp(packet, 1.0);
  EXPECT_EQ(media->counters().rtp_packets, 1);
  EXPECT_EQ(media->jitter_buffer().stats().invalid, 1);
  EXPECT_EQ(media->jitter_buffer().queued_packets(), 0u);
}

TEST(CallMediaTest, PayloadLimitIsTheJitterBuffersMaxPayloadBytes) {
  // max_payload_bytes (1500) is the largest payload taken; the payload type byte CallMedia keeps
  // in front of each payload does not change that.
  for (size_t size : {1499u, 1500u, 1501u, 1502u, 4000u}) {
    SCOPED_TRACE(size);
    auto media = MakeMedia(Media(kPcmu), nullptr);
    ASSERT_NE(media, nullptr);
    RtpHeader h;
    h.payload_type = 0;
    h.ssrc = kPhoneSsrc;
    const Bytes payload(size, 0x55);
    Bytes packet(kRtpHeaderBytes + payload.size());
    ASSERT_GT(WriteRtp(h, payload, packet), 0u);
    media->OnRtp(packet, 1.0);
    EXPECT_EQ(media->counters().rtp_packets, 1);
    const bool taken = size <= 1500;
    EXPECT_EQ(media->jitter_buffer().stats().invalid, taken ? 0 : 1);
    EXPECT_EQ(media->jitter_buffer().queued_packets(), taken ? 1u : 0u);
  }
}

TEST(CallMediaTest, PayloadsLongerOrShorterThanPtimeAreCutOrPadded) {
  // One packet of a 20 ms stream carries 30 ms, another 12.5 ms: the frame is the first 20 ms of
  // the long one, and the short one followed by concealment; the clock stays on 20 ms frames.
  auto media = MakeMedia(Media(kPcmu), nullptr);
  ASSERT_NE(media, nullptr);
  DirectDecoder reference(kPcmu, 8000);
  std::vector<std::vector<float>> expected;
  std::vector<audio::AudioFrame> frames;
  audio::AudioFrame frame;
  for (int k = 0; k < 32; ++k) {
    if (k < 30) {
      const int samples = k == 10 ? 240 : k == 20 ? 100 : 160;
      const Bytes payload = UlawFrame(k, samples);
      expected.push_back(reference.Decode(payload));
      // The reference conceals the rest of the short frame too (the decoder then cross-fades the
      // next packet from that concealment).
      if (samples < 160) reference.Conceal(160 - samples);
      media->OnRtp(Rtp(0, static_cast<uint16_t>(k), 160u * k, payload), TickS(k));
    }
    if (media->Playout(&frame)) frames.push_back(frame);
  }
  ASSERT_EQ(frames.size(), 30u);
  for (size_t i = 0; i < frames.size(); ++i) {
    ASSERT_EQ(frames[i].num_samples, 160);
    EXPECT_EQ(frames[i].clock, static_cast<int64_t>(i) * 160);
    EXPECT_FALSE(frames[i].concealed) << i;
    const size_t n = std::min<size_t>(160, expected[i].size());
    EXPECT_LE(MaxAbsDiff(frames[i].data().first(n), std::span<const float>(expected[i]).first(n)),
              1e-6f)
        << i;
  }
  // The short packet is padded with something that continues it, not with silence.
  EXPECT_GT(Rms(frames[20].data().subspan(100)), 0.1 * Rms(frames[20].data().first(100)));
  EXPECT_EQ(media->counters().decode_errors, 0);
  EXPECT_EQ(media->counters().frames_played, 30);
}

TEST(CallMediaTest, SenderIgnoringOurPtimeStillPlays) {
  // We negotiated 20 ms and the remote sends 30 ms packets: each plays cut to 20 ms, the slots
  // between them are concealed, and the clock stays on 20 ms frames.
  auto media = MakeMedia(Media(kPcmu, 20), nullptr);
  ASSERT_NE(media, nullptr);
  const std::vector<float>& speech = Speech(8000);
  audio::AudioFrame frame;
  int decoded = 0;
  int64_t clock = 0;
  int sent = 0;
  for (int k = 0; k < 60; ++k) {
    if (k % 3 != 2) {  // a 30 ms packet on two of every three 20 ms ticks
      const Bytes payload = audio::G711Encode(
          std::span<const float>(speech).subspan(static_cast<size_t>(sent) * 240, 240),
          audio::G711Law::kUlaw);
      media->OnRtp(Rtp(0, static_cast<uint16_t>(sent), 240u * sent, payload), TickS(k));
      ++sent;
    }
    if (media->Playout(&frame)) {
      EXPECT_EQ(frame.num_samples, 160);
      EXPECT_EQ(frame.clock, clock);
      clock += frame.num_samples;
      if (!frame.concealed) ++decoded;
    }
  }
  EXPECT_EQ(media->counters().decode_errors, 0);
  EXPECT_GE(decoded, sent - 3);  // all but the packets still buffered at the end
}

TEST(CallMediaTest, ComfortNoisePlaysAtItsLevelAsConcealment) {
  analytics::QosTracker qos(QosConfig(kPcmu));
  auto media = MakeMedia(Media(kPcmu), &qos);
  ASSERT_NE(media, nullptr);
  std::vector<audio::AudioFrame> frames;
  audio::AudioFrame frame;
  // 20 packets of speech, 20 of comfort noise at -40 dBov (RFC 3389, PT 13), 20 of speech.
  for (int k = 0; k < 62; ++k) {
    if (k < 60) {
      const bool cn = k >= 20 && k < 40;
      const Bytes packet = cn ? Rtp(13, static_cast<uint16_t>(k), 160u * k, Bytes{40})
                              : Rtp(0, static_cast<uint16_t>(k), 160u * k, UlawFrame(k));
      media->OnRtp(packet, TickS(k));
    }
    if (media->Playout(&frame)) frames.push_back(frame);
  }
  ASSERT_EQ(frames.size(), 60u);
  for (int i = 0; i < 60; ++i) {
    const bool cn = i >= 20 && i < 40;
    EXPECT_EQ(frames[i].concealed, cn) << i;
    if (cn) {
      EXPECT_NEAR(Rms(frames[i].data()), 0.01, 0.005) << i;  // -40 dBov
    }
  }
  EXPECT_EQ(media->counters().frames_concealed, 20);
  EXPECT_EQ(media->counters().frames_played, 40);
  EXPECT_EQ(media->counters().rtp_packets, 60);
  EXPECT_EQ(media->counters().unknown_payload_type, 0);
  EXPECT_EQ(qos.Totals(TickS(60)).packets_lost, 0);
}

TEST(CallMediaTest, LatePacketIsConcealedAndReportedLate) {
  analytics::QosTracker qos(QosConfig(kPcmu));
  auto media = MakeMedia(Media(kPcmu), &qos);
  ASSERT_NE(media, nullptr);
  std::vector<audio::AudioFrame> frames;
  audio::AudioFrame frame;
  for (int k = 0; k < 100; ++k) {
    if (k < 40 && k != 10) {
      media->OnRtp(Rtp(0, static_cast<uint16_t>(k), 160u * k, UlawFrame(k)), TickS(k));
    }
    if (k == 20) {  // packet 10 arrives 200 ms late, long after its slot was played
      media->OnRtp(Rtp(0, 10, 1600, UlawFrame(10)), TickS(k));
    }
    if (media->Playout(&frame)) frames.push_back(frame);
  }
  // Its slot was concealed; it is dropped when it comes, and counted late, not lost.
  ASSERT_GT(frames.size(), 11u);
  EXPECT_TRUE(frames[10].concealed);
  EXPECT_EQ(media->jitter_buffer().stats().late, 1);
  const analytics::QosSummary t = qos.Totals(TickS(41));
  EXPECT_EQ(t.late, 1);
  EXPECT_EQ(t.packets_lost, 0);  // it did arrive
  EXPECT_EQ(t.reordered, 1);
  EXPECT_EQ(media->counters().rtp_packets, 40);
  // The other packets play in order. (The jitter buffer grows its delay after the late packet,
  // playing concealed frames, and may drop a few queued ones to stay within max_delay_ms.)
  std::vector<std::vector<float>> decoded;
  for (int p = 0; p < 40; ++p) {
    decoded.push_back(audio::G711Decode(UlawFrame(p), audio::G711Law::kUlaw));
  }
  int last = -1;
  int played = 0;
  int concealed = 0;  // before the last packet played
  int concealed_so_far = 0;
  for (const audio::AudioFrame& f : frames) {
    if (f.concealed) {
      ++concealed_so_far;
      continue;
    }
    concealed = concealed_so_far;
    // Which packet is it? (The first 10 ms after a concealed frame is a cross-fade.)
    int which = -1;
    for (int p = 0; p < 40; ++p) {
      if (MaxAbsDiff(f.data().last(80), std::span<const float>(decoded[p]).last(80)) == 0.0f) {
        which = p;
      }
    }
    EXPECT_GT(which, last) << "played frame " << played;
    EXPECT_NE(which, 10);
    last = which;
    ++played;
  }
  const auto st = media->jitter_buffer().stats();
  EXPECT_EQ(played + st.overflow_drops + st.shrink_drops, 39);
  EXPECT_EQ(media->counters().frames_played, played);
  EXPECT_EQ(concealed, 1 + st.inserted);
}

// Every datagram lands in exactly one counter, and Playout stays well-formed, whatever comes in.
void Fuzz(const CodecSpec& codec) {
  SCOPED_TRACE(CodecName(codec.codec));
  analytics::QosTracker qos(QosConfig(codec));
  auto media = MakeMedia(Media(codec), &qos);
  ASSERT_NE(media, nullptr);
  Phone phone(codec);
  std::mt19937 rng(1234);
  auto byte = [&] { return static_cast<uint8_t>(rng() & 0xFF); };
  // Valid RTCP to mutate: an RR with a block about us.
  ReportBlock rb;
  rb.ssrc = media->ssrc();
  rb.lsr = 0x12345678;
  const Bytes rr = BuildReceiverReport(kPhoneSsrc, std::span<const ReportBlock>(&rb, 1), "peer");

  audio::AudioFrame frame;
  int64_t next_clock = 0;
  int64_t fed = 0;
  uint16_t seq = 100;
  uint32_t ts = 5000;
  for (int i = 0; i < 4000; ++i) {
    Bytes d;
    switch (rng() % 6) {
      case 0: {  // random bytes
        d.resize(rng() % 300);
        for (auto& b : d) b = byte();
        break;
      }
      case 1: {  // random bytes with an RTP version-2 first byte
        d.resize(rng() % 300);
        for (auto& b : d) b = byte();
        if (!d.empty()) d[0] = static_cast<uint8_t>(0x80 | (d[0] & 0x3F));
        break;
      }
      case 2: {  // a real packet, truncated or with bytes flipped
        d = phone.Next();
        if (rng() % 2) d.resize(rng() % (d.size() + 1));
        for (int f = static_cast<int>(rng() % 4); f > 0 && !d.empty(); --f) {
          d[rng() % d.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        }
        break;
      }
      case 3: {  // the call's source with a random payload (reaches the decoder)
        RtpHeader h;
        h.payload_type = static_cast<uint8_t>(codec.payload_type);
        h.ssrc = kPhoneSsrc;
        h.sequence = seq++;
        h.timestamp = ts;
        ts += static_cast<uint32_t>(codec.clock_rate_hz / 50);
        Bytes payload(1 + rng() % 400);
        for (auto& b : payload) b = byte();
        d.resize(kRtpHeaderBytes + payload.size());
        d.resize(WriteRtp(h, payload, d));
        break;
      }
      case 4: {  // RTCP, possibly damaged
        d = rr;
        for (int f = static_cast<int>(rng() % 3); f > 0; --f) d[rng() % d.size()] = byte();
        if (rng() % 4 == 0) d.resize(rng() % (d.size() + 1));
        break;
      }
      default: {  // telephone events with random contents
        RtpHeader h;
        h.payload_type = kEventPt;
        h.ssrc = kPhoneSsrc;
        h.sequence = seq++;
        h.timestamp = ts - static_cast<uint32_t>(rng() % 4000);
        Bytes payload(rng() % 8);
        for (auto& b : payload) b = byte();
        d.resize(kRtpHeaderBytes + payload.size());
        d.resize(WriteRtp(h, payload, d));
        break;
      }
    }
    const double now = TickS(i);
    // RTCP goes to the RTCP port or, half the time, to the RTP port (rtcp-mux).
    if (IsRtcp(d) && rng() % 2 == 0) {
      media->OnRtcp(d, now);
    } else {
      media->OnRtp(d, now);
    }
    ++fed;
    if (media->Playout(&frame)) {
      ASSERT_EQ(frame.num_samples, media->playout_samples());
      ASSERT_EQ(frame.clock, next_clock);
      next_clock += frame.num_samples;
      for (float v : frame.data()) ASSERT_TRUE(std::isfinite(v));
    }
    if (i % 500 == 0) {
      auto report = ParseRtcp(media->MakeRtcpReport(now, i % 1000 == 0));
      ASSERT_TRUE(report.ok()) << report.status().ToString();
    }
  }
  const auto& c = media->counters();
  EXPECT_EQ(c.rtp_packets + c.malformed + c.unknown_payload_type + c.wrong_ssrc + c.rtcp_packets,
            fed);
  EXPECT_GT(c.malformed, 0);
  EXPECT_GT(c.rtp_packets, 0);
  EXPECT_GT(c.frames_played + c.frames_concealed, 0);
  if (codec.codec == Codec::kOpus) {
    // Random bytes include invalid Opus packets and packets longer than ptime.
    EXPECT_GT(c.decode_errors, 0);
  }
  const auto flushed = media->FlushDtmf();
  (void)flushed;
}

TEST(CallMediaTest, RandomAndDamagedDatagramsDoNotCrash) {
  Fuzz(kPcmu);
  Fuzz(kOpus);
}

// ---------------------------------------------------------------------------------------------
// DTMF.

std::vector<DtmfDigit> SendKeys(const CodecSpec& codec, const std::string& keys, int copies,
                                CallMedia::Counters* counters = nullptr) {
  auto media = MakeMedia(Media(codec), nullptr);
  EXPECT_NE(media, nullptr);
  if (media == nullptr) return {};
  Phone phone(codec);
  std::vector<DtmfDigit> digits;
  audio::AudioFrame frame;
  int k = 0;
  auto send = [&] {
    const Bytes packet = phone.Next();
    for (int c = 0; c < copies; ++c) {  // a network that duplicates packets
      for (const DtmfDigit& d : media->OnRtp(packet, TickS(k))) digits.push_back(d);
    }
    media->Playout(&frame);
    ++k;
  };
  for (int i = 0; i < 10; ++i) send();
  for (char key : keys) {
    EXPECT_TRUE(phone.packetizer().StartDtmf(key, 160).ok());
    while (phone.packetizer().dtmf_active()) send();
    for (int i = 0; i < 5; ++i) send();
  }
  for (int i = 0; i < 20; ++i) send();
  EXPECT_FALSE(media->FlushDtmf().has_value());  // everything was reported already
  if (counters != nullptr) *counters = media->counters();
  return digits;
}

TEST(CallMediaTest, DtmfKeyPressesAreReportedExactlyOnce) {
  for (const CodecSpec& codec : {kPcmu, kOpus}) {
    SCOPED_TRACE(CodecName(codec.codec));
    for (int copies : {1, 2}) {
      CallMedia::Counters counters;
      const std::vector<DtmfDigit> digits = SendKeys(codec, "5#1", copies, &counters);
      ASSERT_EQ(digits.size(), 3u);
      EXPECT_EQ(digits[0].digit, '5');
      EXPECT_EQ(digits[1].digit, '#');
      EXPECT_EQ(digits[2].digit, '1');
      for (const DtmfDigit& d : digits) EXPECT_EQ(d.duration_ms, 160);
      EXPECT_LT(digits[0].rtp_timestamp, digits[1].rtp_timestamp);
      EXPECT_EQ(counters.dtmf_digits, 3);
      EXPECT_EQ(counters.unknown_payload_type, 0);
    }
  }
}

TEST(CallMediaTest, DtmfWithLostEndPacketsIsReportedOnceByTheAudioClockOrByFlush) {
  Phone phone(kPcmu);
  // The key press with its three end packets lost.
  std::vector<Bytes> press;
  for (int i = 0; i < 5; ++i) press.push_back(phone.Next());
  ASSERT_TRUE(phone.packetizer().StartDtmf('7', 160).ok());
  std::vector<Bytes> event;
  while (phone.packetizer().dtmf_active()) event.push_back(phone.Next());
  ASSERT_EQ(event.size(), 8u + 3u);  // start, 7 updates (20..140 ms), 3 ends (160 ms)
  event.resize(event.size() - 3);

  // The call ends right after: FlushDtmf reports it.
  {
    auto media = MakeMedia(Media(kPcmu), nullptr);
    ASSERT_NE(media, nullptr);
    int k = 0;
    for (const Bytes& p : press) EXPECT_EQ(media->OnRtp(p, TickS(k++)).count, 0);
    for (const Bytes& p : event) EXPECT_EQ(media->OnRtp(p, TickS(k++)).count, 0);
    auto d = media->FlushDtmf();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->digit, '7');
    EXPECT_EQ(media->counters().dtmf_digits, 1);
    EXPECT_FALSE(media->FlushDtmf().has_value());
  }
  // Audio goes on: once its clock is past the key's end by the detector's timeout, the digit
  // comes out of OnRtp, once.
  {
    auto media = MakeMedia(Media(kPcmu), nullptr);
    ASSERT_NE(media, nullptr);
    int k = 0;
    for (const Bytes& p : press) media->OnRtp(p, TickS(k++));
    for (const Bytes& p : event) media->OnRtp(p, TickS(k++));
    k += 3;  // the lost end packets
    std::vector<DtmfDigit> digits;
    for (int i = 0; i < 40; ++i) {
      for (const DtmfDigit& d : media->OnRtp(phone.Next(), TickS(k++))) digits.push_back(d);
    }
    ASSERT_EQ(digits.size(), 1u);
    EXPECT_EQ(digits[0].digit, '7');
    EXPECT_EQ(media->counters().dtmf_digits, 1);
    EXPECT_FALSE(media->FlushDtmf().has_value());
  }
}

TEST(CallMediaTest, TelephoneEventsWithoutNegotiationAreUnknownPayloadTypes) {
  auto media = MakeMedia(Media(kPcmu, 20, /*event_pt=*/-1), nullptr);
  ASSERT_NE(media, nullptr);
  Phone phone(kPcmu);  // sends events on 101 anyway
  ASSERT_TRUE(phone.packetizer().StartDtmf('3', 100).ok());
  int events = 0;
  for (int k = 0; phone.packetizer().dtmf_active(); ++k, ++events) {
    EXPECT_EQ(media->OnRtp(phone.Next(), TickS(k)).count, 0);
  }
  EXPECT_EQ(media->counters().unknown_payload_type, events);
  EXPECT_EQ(media->counters().dtmf_digits, 0);
  EXPECT_FALSE(media->FlushDtmf().has_value());
}

// ---------------------------------------------------------------------------------------------
// RTCP.

RtcpCompound Parse(const Bytes& datagram) {
  auto parsed = ParseRtcp(datagram);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? *parsed : RtcpCompound{};
}

TEST(CallMediaTest, RtcpReportIsAnRrBeforeSendingAndAnSrAfter) {
  analytics::QosTracker qos(QosConfig(kPcmu));
  auto media = MakeMedia(Media(kPcmu), &qos);
  ASSERT_NE(media, nullptr);

  // Nothing sent or received: an RR without blocks, with our CNAME.
  RtcpCompound r = Parse(media->MakeRtcpReport(1.0, false));
  EXPECT_TRUE(r.sender_reports.empty());
  ASSERT_EQ(r.receiver_reports.size(), 1u);
  EXPECT_EQ(r.receiver_reports[0].ssrc, media->ssrc());
  EXPECT_TRUE(r.receiver_reports[0].blocks.empty());
  ASSERT_EQ(r.sdes.size(), 1u);
  EXPECT_EQ(r.sdes[0].ssrc, media->ssrc());
  EXPECT_EQ(r.sdes[0].cname, "test@voxgate");
  EXPECT_TRUE(r.byes.empty());

  // Received packets with one lost: the RR reports on the remote source.
  Phone phone(kPcmu);
  for (int k = 0; k < 20; ++k) {
    const Bytes p = phone.Next();
    if (k != 10) media->OnRtp(p, TickS(k));
  }
  r = Parse(media->MakeRtcpReport(TickS(20), false));
  ASSERT_EQ(r.receiver_reports.size(), 1u);
  ASSERT_EQ(r.receiver_reports[0].blocks.size(), 1u);
  ReportBlock b = r.receiver_reports[0].blocks[0];
  EXPECT_EQ(b.ssrc, kPhoneSsrc);
  EXPECT_EQ(b.cumulative_lost, 1);
  EXPECT_GT(b.fraction_lost, 0);
  EXPECT_EQ(static_cast<uint16_t>(b.ext_highest_seq),
            static_cast<uint16_t>(phone.packetizer().next_sequence() - 1));
  EXPECT_EQ(b.lsr, 0u);  // no SR from the remote yet
  EXPECT_EQ(b.dlsr, 0u);

  // After sending: an SR with our sender counters and the same report block.
  const std::vector<float>& speech = Speech(8000);
  Bytes out(RtpPacketizer::kMaxPacketBytes);
  for (int i = 0; i < 3; ++i) {
    auto n = media->WriteRtp(
        std::span<const float>(speech).subspan(static_cast<size_t>(i) * 160, 160), out);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, kRtpHeaderBytes + 160);
    auto sent = ParseRtp(std::span<const uint8_t>(out.data(), *n));
    ASSERT_TRUE(sent.ok());
    EXPECT_EQ(sent->header.ssrc, media->ssrc());
    EXPECT_EQ(sent->header.payload_type, 0);
  }
  EXPECT_EQ(media->counters().rtp_sent, 3);
  r = Parse(media->MakeRtcpReport(TickS(21), true));
  EXPECT_TRUE(r.receiver_reports.empty());
  ASSERT_EQ(r.sender_reports.size(), 1u);
  EXPECT_EQ(r.sender_reports[0].ssrc, media->ssrc());
  EXPECT_EQ(r.sender_reports[0].info.packet_count, 3u);
  EXPECT_EQ(r.sender_reports[0].info.octet_count, 3u * 160);
  EXPECT_NE(r.sender_reports[0].info.ntp.seconds, 0u);
  ASSERT_EQ(r.sender_reports[0].blocks.size(), 1u);
  EXPECT_EQ(r.sender_reports[0].blocks[0].ssrc, kPhoneSsrc);
  // And the BYE we asked for, for our SSRC.
  ASSERT_EQ(r.byes.size(), 1u);
  ASSERT_EQ(r.byes[0].ssrcs.size(), 1u);
  EXPECT_EQ(r.byes[0].ssrcs[0], media->ssrc());
  EXPECT_EQ(media->counters().rtcp_packets, 0);  // nothing received
}

TEST(CallMediaTest, RemoteSenderReportIsEchoedAsLsrAndDlsr) {
  analytics::QosTracker qos(QosConfig(kPcmu));
  auto media = MakeMedia(Media(kPcmu), &qos);
  ASSERT_NE(media, nullptr);
  Phone phone(kPcmu);
  for (int k = 0; k < 10; ++k) media->OnRtp(phone.Next(), TickS(k));

  // An SR from a source we do not receive is counted but not echoed.
  SenderInfo info;
  info.ntp = NtpTime{3900000000u, 0x80000000u};
  info.packet_count = 10;
  const Bytes stray = BuildSenderReport(kOtherSsrc, info, {}, "stray");
  EXPECT_TRUE(media->OnRtcp(stray, TickS(10)));
  EXPECT_EQ(media->counters().rtcp_packets, 1);
  RtcpCompound r = Parse(media->MakeRtcpReport(TickS(11), false));
  ASSERT_EQ(r.receiver_reports.size(), 1u);
  ASSERT_EQ(r.receiver_reports[0].blocks.size(), 1u);
  EXPECT_EQ(r.receiver_reports[0].blocks[0].lsr, 0u);

  // The remote's own SR, on the RTCP port.
  const Bytes sr = BuildSenderReport(kPhoneSsrc, info, {}, "phone");
  EXPECT_TRUE(media->OnRtcp(sr, TickS(12)));
  EXPECT_EQ(media->counters().rtcp_packets, 2);
  r = Parse(media->MakeRtcpReport(TickS(12) + 0.5, false));
  ASSERT_EQ(r.receiver_reports.size(), 1u);
  ASSERT_EQ(r.receiver_reports[0].blocks.size(), 1u);
  const ReportBlock& b = r.receiver_reports[0].blocks[0];
  EXPECT_EQ(b.lsr, info.ntp.Middle32());
  EXPECT_EQ(b.dlsr, 32768u);  // 0.5 s in 1/65536 s
}

TEST(CallMediaTest, LsrIsForgottenWhenTheSourceChanges) {
  analytics::QosTracker qos(QosConfig(kPcmu));
  auto media = MakeMedia(Media(kPcmu), &qos);
  ASSERT_NE(media, nullptr);
  Phone a(kPcmu, kPhoneSsrc);
  Phone b(kPcmu, kOtherSsrc);
  for (int k = 0; k < 10; ++k) media->OnRtp(a.Next(), TickS(k));
  SenderInfo info;
  info.ntp = NtpTime{3900000000u, 0x80000000u};
  ASSERT_TRUE(media->OnRtcp(BuildSenderReport(kPhoneSsrc, info, {}, "a"), TickS(10)));
  RtcpCompound r = Parse(media->MakeRtcpReport(TickS(11), false));
  ASSERT_EQ(r.receiver_reports.size(), 1u);
  ASSERT_EQ(r.receiver_reports[0].blocks.size(), 1u);
  EXPECT_EQ(r.receiver_reports[0].blocks[0].lsr, info.ntp.Middle32());

  // The media moves to B, which has sent no SR: echoing A's SR to B would give B a bogus RTT
  // (RFC 3550 6.4.1: LSR is from the SR of the source the block is about).
  for (int k = 0; k < 10; ++k) media->OnRtp(b.Next(), TickS(100 + k));
  ASSERT_EQ(*media->remote_ssrc(), kOtherSsrc);
  r = Parse(media->MakeRtcpReport(TickS(111), false));
  ASSERT_EQ(r.receiver_reports.size(), 1u);
  ASSERT_EQ(r.receiver_reports[0].blocks.size(), 1u);
  EXPECT_EQ(r.receiver_reports[0].blocks[0].ssrc, kOtherSsrc);
  EXPECT_EQ(r.receiver_reports[0].blocks[0].lsr, 0u);
  EXPECT_EQ(r.receiver_reports[0].blocks[0].dlsr, 0u);

  // B's own SR is echoed.
  SenderInfo info_b;
  info_b.ntp = NtpTime{3900000100u, 0x20000000u};
  ASSERT_TRUE(media->OnRtcp(BuildSenderReport(kOtherSsrc, info_b, {}, "b"), TickS(112)));
  r = Parse(media->MakeRtcpReport(TickS(113), false));
  ASSERT_EQ(r.receiver_reports[0].blocks.size(), 1u);
  EXPECT_EQ(r.receiver_reports[0].blocks[0].lsr, info_b.ntp.Middle32());
}

// Builds the RR a remote would send back after our SR: a block about our SSRC echoing the SR's
// NTP middle 32 bits as LSR, with `dlsr_s` of delay at the remote.
Bytes EchoReceiverReport(const Bytes& our_sr, uint32_t our_ssrc, double dlsr_s,
                         uint32_t about_ssrc) {
  RtcpCompound sr = Parse(our_sr);
  EXPECT_EQ(sr.sender_reports.size(), 1u);
  if (sr.sender_reports.empty()) return {};
  EXPECT_EQ(sr.sender_reports[0].ssrc, our_ssrc);
  ReportBlock b;
  b.ssrc = about_ssrc;
  b.lsr = sr.sender_reports[0].info.ntp.Middle32();
  b.dlsr = ToNtpShort(dlsr_s);
  return BuildReceiverReport(kPhoneSsrc, std::span<const ReportBlock>(&b, 1), "phone");
}

TEST(CallMediaTest, ReceiverReportAboutOurStreamGivesTheRoundTripTime) {
  for (bool mux : {false, true}) {
    SCOPED_TRACE(mux ? "rtcp-mux on the RTP port" : "RTCP port");
    analytics::QosTracker qos(QosConfig(kPcmu));
    auto media = MakeMedia(Media(kPcmu), &qos);
    ASSERT_NE(media, nullptr);
    Phone phone(kPcmu);
    for (int k = 0; k < 10; ++k) media->OnRtp(phone.Next(), TickS(k));
    Bytes out(RtpPacketizer::kMaxPacketBytes);
    const std::vector<float> pcm(static_cast<size_t>(media->send_frame_samples()), 0.1f);
    ASSERT_TRUE(media->WriteRtp(pcm, out).ok());
    const Bytes sr = media->MakeRtcpReport(TickS(10), false);
    auto deliver = [&](const Bytes& d) {
      if (mux) {
        EXPECT_EQ(media->OnRtp(d, TickS(11)).count, 0);
      } else {
        EXPECT_TRUE(media->OnRtcp(d, TickS(11)));
      }
    };

    // Blocks that must not give an RTT: about another source; a DLSR longer than the time since
    // our SR (the remote's clock or arithmetic is off).
    deliver(EchoReceiverReport(sr, media->ssrc(), 0.0, kOtherSsrc));
    deliver(EchoReceiverReport(sr, media->ssrc(), 30.0, media->ssrc()));
    EXPECT_TRUE(std::isnan(qos.Totals(TickS(11)).rtt_s));

    // The wall clock moves on between our SR and the remote's reply (the network, plus the 5 ms
    // the remote held it): the RTT is what remains after the DLSR.
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    deliver(EchoReceiverReport(sr, media->ssrc(), 0.005, media->ssrc()));
    const double rtt = qos.Totals(TickS(11)).rtt_s;
    EXPECT_GT(rtt, 0.0);
    EXPECT_LT(rtt, 30.0);
    EXPECT_EQ(media->counters().rtcp_packets, 3);
    EXPECT_EQ(media->counters().malformed, 0);
    EXPECT_EQ(media->counters().rtp_packets, 10);  // RTCP is not counted as RTP
  }
}

TEST(CallMediaTest, MuxedRemoteSenderReportIsHandledAsRtcp) {
  analytics::QosTracker qos(QosConfig(kPcmu));
  auto media = MakeMedia(Media(kPcmu), &qos);
  ASSERT_NE(media, nullptr);
  Phone phone(kPcmu);
  for (int k = 0; k < 10; ++k) media->OnRtp(phone.Next(), TickS(k));
  SenderInfo info;
  info.ntp = NtpTime{3900000123u, 0x40000000u};
  Bytes sr = BuildSenderReport(kPhoneSsrc, info, {}, "phone");
  AppendBye(sr, std::span<const uint32_t>(&kPhoneSsrc, 1), "bye");
  ASSERT_TRUE(IsRtcp(sr));
  media->OnRtp(sr, TickS(20));
  EXPECT_EQ(media->counters().rtcp_packets, 1);
  EXPECT_EQ(media->counters().rtp_packets, 10);
  EXPECT_EQ(media->counters().malformed, 0);
  EXPECT_EQ(media->counters().unknown_payload_type, 0);
  RtcpCompound r = Parse(media->MakeRtcpReport(TickS(20) + 1.0, false));
  ASSERT_EQ(r.receiver_reports.size(), 1u);
  ASSERT_EQ(r.receiver_reports[0].blocks.size(), 1u);
  EXPECT_EQ(r.receiver_reports[0].blocks[0].lsr, info.ntp.Middle32());
  EXPECT_EQ(r.receiver_reports[0].blocks[0].dlsr, 65536u);
}

// ---------------------------------------------------------------------------------------------
// Send path, packet times, setup.

TEST(CallMediaTest, WhatOneCallMediaSendsAnotherPlaysAndHearsTheKeys) {
  for (const CodecSpec& codec : {kPcmu, kOpus}) {
    SCOPED_TRACE(CodecName(codec.codec));
    auto us = MakeMedia(Media(codec), nullptr);
    auto them = MakeMedia(Media(codec), nullptr);
    ASSERT_NE(us, nullptr);
    ASSERT_NE(them, nullptr);
    EXPECT_NE(us->ssrc(), them->ssrc());
    const std::vector<float>& speech = Speech(RateFor(codec));
    const size_t n = static_cast<size_t>(us->send_frame_samples());
    EXPECT_EQ(n, static_cast<size_t>(RateFor(codec) / 50));
    Bytes out(RtpPacketizer::kMaxPacketBytes);
    std::vector<DtmfDigit> digits;
    std::vector<float> heard;
    audio::AudioFrame frame;
    for (int k = 0; k < 100; ++k) {
      if (k == 40) {
        ASSERT_TRUE(us->StartDtmf('9').ok());
      }
      if (k >= 70 && k < 75) {
        us->SkipFrame();
      } else {
        auto size = us->WriteRtp(std::span<const float>(speech).subspan(k * n, n), out);
        ASSERT_TRUE(size.ok()) << size.status().ToString();
        for (const DtmfDigit& d :
             them->OnRtp(std::span<const uint8_t>(out.data(), *size), TickS(k))) {
          digits.push_back(d);
        }
      }
      if (them->Playout(&frame) && !frame.concealed) {
        heard.insert(heard.end(), frame.data().begin(), frame.data().end());
      }
    }
    ASSERT_EQ(digits.size(), 1u);
    EXPECT_EQ(digits[0].digit, '9');
    EXPECT_EQ(digits[0].duration_ms, 160);
    EXPECT_EQ(us->counters().rtp_sent, 95);
    EXPECT_EQ(them->counters().rtp_packets, 95);
    EXPECT_EQ(*them->remote_ssrc(), us->ssrc());
    EXPECT_GT(Rms(heard), 0.01);
    // A wrong frame length is refused and not counted.
    std::vector<float> wrong(n + 1, 0.0f);
    EXPECT_FALSE(us->WriteRtp(wrong, out).ok());
    EXPECT_EQ(us->counters().rtp_sent, 95);
  }
}

TEST(CallMediaTest, LongerPacketTimesPlayFramesOfThatSize) {
  const std::vector<float>& speech = Speech(8000);
  for (int ptime : {30, 40, 60}) {
    SCOPED_TRACE(ptime);
    auto media = MakeMedia(Media(kPcmu, ptime), nullptr);
    ASSERT_NE(media, nullptr);
    const int samples = 8 * ptime;
    EXPECT_EQ(media->ptime_ms(), ptime);
    EXPECT_EQ(media->playout_samples(), samples);
    // A phone that packs ptime of µ-law into each packet.
    std::vector<std::vector<float>> expected;
    std::vector<audio::AudioFrame> frames;
    audio::AudioFrame frame;
    constexpr int kPackets = 60;
    for (int k = 0; k < kPackets + 3; ++k) {
      if (k < kPackets) {
        const Bytes payload = audio::G711Encode(
            std::span<const float>(speech).subspan(static_cast<size_t>(k) * samples, samples),
            audio::G711Law::kUlaw);
        expected.push_back(audio::G711Decode(payload, audio::G711Law::kUlaw));
        RtpHeader h;
        h.payload_type = 0;
        h.ssrc = kPhoneSsrc;
        h.sequence = static_cast<uint16_t>(65500 + k);                   // wraps
        h.timestamp = 4294960000u + static_cast<uint32_t>(k * samples);  // wraps
        Bytes packet(kRtpHeaderBytes + payload.size());
        ASSERT_GT(WriteRtp(h, payload, packet), 0u);
        media->OnRtp(packet, k * ptime / 1000.0);
      }
      if (media->Playout(&frame) && !frame.concealed) frames.push_back(frame);
    }
    ASSERT_EQ(frames.size(), static_cast<size_t>(kPackets));
    for (size_t i = 0; i < frames.size(); ++i) {
      ASSERT_EQ(frames[i].num_samples, samples);
      EXPECT_EQ(frames[i].clock, static_cast<int64_t>(i) * samples);
      EXPECT_LE(MaxAbsDiff(frames[i].data(), expected[i]), 1e-6f) << i;
    }
    // The clocks above leave no room for concealment before or between the packets; the ticks
    // after the sender stopped (how many the buffer needs to drain depends on ptime) conceal.
    EXPECT_EQ(media->counters().frames_played, kPackets);
  }
}

TEST(CallMediaTest, CreateRefusesWhatItCannotPlay) {
  auto create = [](const NegotiatedMedia& m, int out_rate = 8000, int send_rate = 8000,
                   CallMediaConfig config = {}) {
    return CallMedia::Create(m, config, nullptr, out_rate, send_rate, "x").status();
  };
  for (int ptime : {25, 15, 0, -20, 70, 120}) {
    const Status s = create(Media(kPcmu, ptime));
    EXPECT_EQ(s.code(), StatusCode::kUnsupported) << ptime << ": " << s.ToString();
  }
  for (int ptime : {10, 20, 30, 40, 50, 60}) {
    EXPECT_TRUE(create(Media(kPcmu, ptime)).ok()) << ptime;
  }
  // 60 ms at 48 kHz is more than an AudioFrame holds; 20 ms is fine.
  EXPECT_EQ(create(Media(kOpus, 60), 48000, 16000).code(), StatusCode::kUnsupported);
  EXPECT_TRUE(create(Media(kOpus, 20), 48000, 16000).ok());
  EXPECT_TRUE(create(Media(kOpus, 60), 16000, 16000).ok());
  // An RTP clock that is not the codec's, and rates the codecs do not take.
  EXPECT_EQ(create(Media(CodecSpec{Codec::kPcmu, 0, 48000, 1})).code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(create(Media(kPcmu), 16000, 8000).ok());
  EXPECT_FALSE(create(Media(kPcmu), 8000, 16000).ok());
  EXPECT_FALSE(create(Media(kOpus), 44100, 16000).ok());
  // An invalid config.
  CallMediaConfig bad;
  bad.max_conceal_ms = -1;
  EXPECT_EQ(create(Media(kPcmu), 8000, 8000, bad).code(), StatusCode::kInvalidArgument);
  // Valid for 20 ms frames, but the jitter buffer cannot hold 60 ms frames within 80 ms.
  CallMediaConfig tight;
  tight.jitter_buffer.min_delay_ms = 40;
  tight.jitter_buffer.max_delay_ms = 80;
  EXPECT_TRUE(tight.Validate().ok());
  EXPECT_TRUE(create(Media(kPcmu, 20), 8000, 8000, tight).ok());
  EXPECT_FALSE(create(Media(kPcmu, 60), 8000, 8000, tight).ok());
}

TEST(CallMediaTest, ConfigValidateToStringAndLoad) {
  CallMediaConfig defaults;
  EXPECT_TRUE(defaults.Validate().ok()) << defaults.Validate().ToString();
  const std::string text = defaults.ToString();
  for (const char* field : {"opus_bitrate_bps=24000", "ssrc_switch_silence_s=1",
                            "max_conceal_ms=200", "min_delay_ms"}) {
    EXPECT_NE(text.find(field), std::string::npos) << field << " in " << text;
  }

  auto invalid = [](auto mutate) {
    CallMediaConfig c;
    mutate(c);
    const Status s = c.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.ToString();
    return s.message();
  };
  EXPECT_NE(invalid([](CallMediaConfig& c) { c.opus_bitrate_bps = 5999; }).find("opus_bitrate_bps"),
            std::string::npos);
  invalid([](CallMediaConfig& c) { c.opus_bitrate_bps = 510001; });
  EXPECT_NE(invalid([](CallMediaConfig& c) {
              c.ssrc_switch_silence_s = -0.1;
            }).find("ssrc_switch_silence_s"),
            std::string::npos);
  invalid([](CallMediaConfig& c) { c.ssrc_switch_silence_s = 61; });
  invalid([](CallMediaConfig& c) { c.ssrc_switch_silence_s = std::nan(""); });
  EXPECT_NE(invalid([](CallMediaConfig& c) { c.max_conceal_ms = -1; }).find("max_conceal_ms"),
            std::string::npos);
  invalid([](CallMediaConfig& c) { c.max_conceal_ms = 10001; });
  invalid([](CallMediaConfig& c) { c.jitter_buffer.min_delay_ms = -1; });
  invalid([](CallMediaConfig& c) { c.jitter_buffer.max_delay_ms = c.jitter_buffer.min_delay_ms; });
  invalid([](CallMediaConfig& c) { c.jitter_buffer.max_packets = 0; });
  // The jitter buffer's frame_ms is the call's ptime: whatever the config says is not checked.
  CallMediaConfig frame;
  frame.jitter_buffer.frame_ms = 25;
  EXPECT_TRUE(frame.Validate().ok());

  auto root = ConfigNode::Parse(R"(
media:
  jitter_buffer:
    min_delay_ms: 60
    max_delay_ms: 300
    max_packets: 32
  opus_bitrate_bps: 32000
  ssrc_switch_silence_s: 2.5
  max_conceal_ms: 100
)");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  CallMediaConfig loaded;
  ASSERT_TRUE(loaded.Load(root->Child("media")).ok());
  EXPECT_EQ(loaded.jitter_buffer.min_delay_ms, 60);
  EXPECT_EQ(loaded.jitter_buffer.max_delay_ms, 300);
  EXPECT_EQ(loaded.jitter_buffer.max_packets, 32u);
  EXPECT_EQ(loaded.opus_bitrate_bps, 32000);
  EXPECT_EQ(loaded.ssrc_switch_silence_s, 2.5);
  EXPECT_EQ(loaded.max_conceal_ms, 100);

  // Absent keys keep their defaults.
  CallMediaConfig empty;
  ASSERT_TRUE(empty.Load(ConfigNode()).ok());
  EXPECT_EQ(empty.ToString(), CallMediaConfig().ToString());

  auto load_error = [](const char* yaml) {
    auto node = ConfigNode::Parse(yaml);
    EXPECT_TRUE(node.ok()) << yaml;
    if (!node.ok()) return std::string();
    CallMediaConfig c;
    const Status s = c.Load(node->Child("media"));
    EXPECT_FALSE(s.ok()) << yaml;
    return s.message();
  };
  EXPECT_NE(load_error("media:\n  jitter_buffer:\n    max_packets: 0\n").find("max_packets"),
            std::string::npos);
  EXPECT_NE(load_error("media:\n  jitter_buffer:\n    max_packets: -5\n").find("max_packets"),
            std::string::npos);
  EXPECT_NE(load_error("media:\n  opus_bitrate_bps: fast\n").find("opus_bitrate_bps"),
            std::string::npos);
  EXPECT_NE(load_error("media:\n  max_conceal_ms: 20000\n").find("max_conceal_ms"),
            std::string::npos);
  EXPECT_NE(load_error("media:\n  ssrc_switch_silence_s: [1]\n").find("ssrc_switch_silence_s"),
            std::string::npos);
  load_error("media:\n  jitter_buffer:\n    min_delay_ms: 300\n");  // above max_delay_ms
}

TEST(CallMediaTest, PerPacketPathsDoNotAllocate) {
  VOXGATE_SKIP_WITHOUT_ALLOC_COUNTING();
  for (const CodecSpec& codec : {kPcmu, kOpus}) {
    SCOPED_TRACE(CodecName(codec.codec));
    analytics::QosTracker qos(QosConfig(codec));
    auto media = MakeMedia(Media(codec), &qos);
    ASSERT_NE(media, nullptr);
    Phone phone(codec);
    std::vector<Bytes> packets;
    for (int k = 0; k < 100; ++k) packets.push_back(phone.Next());
    const std::vector<float>& speech = Speech(RateFor(codec));
    const size_t n = static_cast<size_t>(media->send_frame_samples());
    Bytes out(RtpPacketizer::kMaxPacketBytes);
    audio::AudioFrame frame;
    // Warm up: the first packet sets the jitter buffer up for the stream's clock.
    for (int k = 0; k < 10; ++k) {
      media->OnRtp(packets[k], TickS(k));
      media->Playout(&frame);
      ASSERT_TRUE(media->WriteRtp(std::span<const float>(speech).subspan(k * n, n), out).ok());
    }
    uint64_t allocations = 0;
    {
      telephony::testing::AllocationScope scope;
      for (int k = 10; k < 100; ++k) {
        if (k % 10 == 3) continue;  // losses: concealment too
        media->OnRtp(packets[k], TickS(k));
        media->Playout(&frame);
        (void)media->WriteRtp(std::span<const float>(speech).subspan(k * n, n), out);
      }
      allocations = scope.count();
    }
    EXPECT_EQ(allocations, 0u);
    EXPECT_GT(media->counters().frames_concealed, 0);
  }
}

}  // namespace
}  // namespace voxgate::telephony
