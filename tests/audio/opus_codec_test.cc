// Opus encode/decode on real speech: round-trip fidelity, latency, loss concealment, in-band FEC
// and hostile packets.
#include "audio/opus_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "audio/audio_decoder.h"
#include "audio/resampler.h"
#include "signal_metrics.h"
#include "test_util.h"

namespace voxgate::audio {
namespace {

using testing::BestAlignment;
using testing::CorrelationAtLag;
using testing::EnvelopeDb;
using testing::Pearson;
using testing::Rms;
using ::voxgate::testing::DevSetUtterance;

constexpr size_t kMaxPacketBytes = 1500;

// A dev-set utterance at rate_hz, high-passed at 100 Hz. This recording has a fifth of its energy
// in rumble below 60 Hz, which Opus's VoIP mode removes on purpose (as the pipeline's own high-pass
// does before it): leaving it in would measure that choice rather than the codec.
std::vector<float> Speech(int rate_hz) {
  DecodeConfig config;
  config.target_sample_rate_hz = rate_hz;
  auto clip = DecodeFile(DevSetUtterance("1688-142285", 0), config);
  EXPECT_TRUE(clip.ok()) << clip.status().ToString();
  if (!clip.ok()) return {};
  // RBJ high-pass biquad, Q = 1/sqrt(2) (2nd-order Butterworth).
  const double w = 2 * std::numbers::pi * 100.0 / rate_hz, alpha = std::sin(w) / std::sqrt(2.0);
  const double a0 = 1 + alpha, b0 = (1 + std::cos(w)) / 2 / a0, b1 = -(1 + std::cos(w)) / a0;
  const double a1 = -2 * std::cos(w) / a0, a2 = (1 - alpha) / a0;
  double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  for (float& v : clip->samples) {
    const double y = b0 * v + b1 * x1 + b0 * x2 - a1 * y1 - a2 * y2;
    x2 = x1, x1 = v, y2 = y1, y1 = y;
    v = static_cast<float>(y);
  }
  return clip->samples;
}

std::unique_ptr<OpusEncoder> MakeEncoder(int rate_hz, int bitrate_bps = 24000) {
  auto e = OpusEncoder::Create(rate_hz, 1, bitrate_bps);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(e).value() : nullptr;
}

std::unique_ptr<OpusDecoder> MakeDecoder(int rate_hz, int channels = 1) {
  auto d = OpusDecoder::Create(rate_hz, channels);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(d).value() : nullptr;
}

// Encodes `pcm` in 20 ms frames (the tail that does not fill a frame is left out).
std::vector<std::vector<uint8_t>> EncodeAll(OpusEncoder& enc, const std::vector<float>& pcm) {
  const size_t frame = static_cast<size_t>(enc.sample_rate_hz() / 50);
  std::vector<std::vector<uint8_t>> packets;
  std::vector<uint8_t> buf(kMaxPacketBytes);
  for (size_t pos = 0; pos + frame <= pcm.size(); pos += frame) {
    auto n = enc.Encode(std::span(pcm).subspan(pos, frame), buf);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok()) break;
    packets.emplace_back(buf.begin(), buf.begin() + static_cast<long>(*n));
  }
  return packets;
}

std::vector<float> DecodeAll(OpusDecoder& dec, const std::vector<std::vector<uint8_t>>& packets) {
  std::vector<float> out;
  std::vector<float> buf(static_cast<size_t>(dec.sample_rate_hz() / 1000 * 120));
  for (const auto& p : packets) {
    auto n = dec.Decode(p, buf);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok()) break;
    out.insert(out.end(), buf.begin(), buf.begin() + *n);
  }
  return out;
}

// Mean over 20 ms frames of the per-frame SNR, each clamped to [-10, 35] dB, over frames of the
// reference that are no more than 40 dB below its loudest (silence says nothing about a codec).
double SegmentalSnrDb(std::span<const float> ref, std::span<const float> got, int rate_hz) {
  const size_t frame = static_cast<size_t>(rate_hz / 50);
  const size_t n = std::min(ref.size(), got.size());
  double loudest = 0;
  for (size_t s = 0; s + frame <= n; s += frame)
    loudest = std::max(loudest, Rms(ref.subspan(s, frame)));
  double sum = 0;
  int count = 0;
  for (size_t s = 0; s + frame <= n; s += frame) {
    double e = 0, d = 0;
    for (size_t i = s; i < s + frame; ++i) {
      e += static_cast<double>(ref[i]) * ref[i];
      d += (static_cast<double>(got[i]) - ref[i]) * (static_cast<double>(got[i]) - ref[i]);
    }
    if (std::sqrt(e / frame) < loudest * 0.01) continue;
    sum += std::clamp(10.0 * std::log10(e / std::max(d, 1e-20)), -10.0, 35.0);
    ++count;
  }
  return count ? sum / count : -100.0;
}

TEST(OpusCodecTest, CreateRejectsBadArguments) {
  for (int rate : {0, 11025, 22050, 44100, 96000, -16000}) {
    EXPECT_EQ(OpusDecoder::Create(rate).status().code(), StatusCode::kInvalidArgument) << rate;
    EXPECT_EQ(OpusEncoder::Create(rate).status().code(), StatusCode::kInvalidArgument) << rate;
  }
  for (int channels : {0, 3, -1}) {
    EXPECT_EQ(OpusDecoder::Create(16000, channels).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(OpusEncoder::Create(16000, channels).status().code(), StatusCode::kInvalidArgument);
  }
  for (int bitrate : {0, 5999, 510001}) {
    EXPECT_EQ(OpusEncoder::Create(16000, 1, bitrate).status().code(), StatusCode::kInvalidArgument);
  }
  auto enc = MakeEncoder(16000);
  ASSERT_NE(enc, nullptr);
  EXPECT_EQ(enc->SetExpectedLossPct(-1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(enc->SetExpectedLossPct(101).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(enc->SetExpectedLossPct(30).ok());
  EXPECT_EQ(enc->SetBitrate(100).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(enc->SetBitrate(32000).ok());
}

TEST(OpusCodecTest, EncodeChecksFrameAndBuffer) {
  auto enc = MakeEncoder(16000);
  ASSERT_NE(enc, nullptr);
  std::vector<uint8_t> out(kMaxPacketBytes);
  // Every legal duration works; anything else is refused.
  for (int samples : {40, 80, 160, 320, 640, 960}) {
    const std::vector<float> frame(static_cast<size_t>(samples), 0.0f);
    auto n = enc->Encode(frame, out);
    EXPECT_TRUE(n.ok()) << samples << ": " << n.status().ToString();
  }
  for (int samples : {0, 1, 100, 319, 321, 480, 1920}) {
    const std::vector<float> frame(static_cast<size_t>(samples), 0.0f);
    EXPECT_EQ(enc->Encode(frame, out).status().code(), StatusCode::kInvalidArgument) << samples;
  }
  const std::vector<float> speech = Speech(16000);
  ASSERT_GE(speech.size(), 16000u);
  const auto loud = std::span(speech).subspan(8000, 320);
  EXPECT_EQ(enc->Encode(loud, {}).status().code(), StatusCode::kInvalidArgument);
  // A small buffer caps the packet: libopus lowers the bitrate to fit rather than failing.
  std::vector<uint8_t> small(20);
  auto n = enc->Encode(loud, small);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_LE(*n, small.size());
  EXPECT_GT(*n, 0u);
}

// Opus is a perceptual codec, so the test asks what a listener (and a speaker-verification model)
// needs: the decoded speech lines up with the input after the encoder's look-ahead, keeps its
// level and loudness envelope, and follows the waveform closely. Thresholds sit a margin below
// what libopus 1.3.1 measures on this utterance (noted beside them); a codec fed the wrong rate,
// frames out of order or dropped ones falls far below them.
class OpusRoundTripTest : public ::testing::TestWithParam<int> {};

TEST_P(OpusRoundTripTest, SpeechSurvives) {
  const int rate = GetParam();
  const std::vector<float> speech = Speech(rate);
  ASSERT_GT(speech.size(), static_cast<size_t>(rate));
  auto enc = MakeEncoder(rate);
  auto dec = MakeDecoder(rate);
  ASSERT_NE(enc, nullptr);
  ASSERT_NE(dec, nullptr);
  const auto packets = EncodeAll(*enc, speech);
  size_t bytes = 0;
  for (const auto& p : packets) bytes += p.size();
  const double kbps = bytes * 8.0 / (packets.size() * 0.02) / 1000.0;
  EXPECT_NEAR(kbps, 24.0, 6.0) << "average bitrate";

  const std::vector<float> decoded = DecodeAll(*dec, packets);
  ASSERT_EQ(decoded.size(), packets.size() * static_cast<size_t>(rate / 50));

  const int lookahead = enc->lookahead_samples();
  // The best lag is the look-ahead to within 1/8 ms (at 48 kHz it comes out 3 samples short:
  // SILK codes speech at 16 kHz inside, and its resamplers' delays do not add up to whole samples).
  const auto align = BestAlignment(speech, decoded, 2 * lookahead);
  EXPECT_NEAR(align.lag, lookahead, rate / 8000);
  const auto lag = static_cast<size_t>(lookahead);
  const std::span<const float> aligned = std::span(decoded).subspan(lag);
  const double corr = CorrelationAtLag(speech, decoded, lookahead);
  const double seg_snr = SegmentalSnrDb(speech, aligned, rate);
  const double env = Pearson(EnvelopeDb(speech, rate), EnvelopeDb(aligned, rate));
  const double level_db =
      20 * std::log10(Rms(aligned) / Rms(std::span(speech).first(aligned.size())));
  // Measured: 16 kHz: corr 0.927, seg. SNR 5.6 dB, envelope r 0.993, level -0.3 dB;
  // 48 kHz: 0.885, 4.1 dB, 0.993, -0.3 dB (the same 16 kHz recording upsampled: the same band).
  EXPECT_GT(corr, 0.85);
  EXPECT_GT(seg_snr, 3.0);
  EXPECT_GT(env, 0.98);
  EXPECT_NEAR(level_db, 0.0, 1.0);
}

INSTANTIATE_TEST_SUITE_P(Rates, OpusRoundTripTest, ::testing::Values(16000, 48000));

// Decodes the first `n` packets and returns the output.
std::vector<float> DecodeFirst(OpusDecoder& dec, const std::vector<std::vector<uint8_t>>& packets,
                               size_t n) {
  return DecodeAll(dec, {packets.begin(), packets.begin() + static_cast<long>(n)});
}

// Concealment continues the voice for a short gap, stays bounded, and fades out over a long one
// instead of buzzing; the next real packet decodes normally.
TEST(OpusCodecTest, ConcealmentIsBoundedAndDecays) {
  constexpr int kRate = 16000, kFrame = kRate / 50;
  const std::vector<float> speech = Speech(kRate);
  auto enc = MakeEncoder(kRate);
  auto dec = MakeDecoder(kRate);
  ASSERT_NE(enc, nullptr);
  ASSERT_NE(dec, nullptr);
  const auto packets = EncodeAll(*enc, speech);
  // Lose 300 ms starting inside voiced speech (after the loudest frame of the first two seconds).
  size_t start = 0;
  double loudest = 0;
  for (size_t k = 5; k < 100; ++k) {
    const double rms = Rms(std::span(speech).subspan(k * kFrame, kFrame));
    if (rms > loudest) loudest = rms, start = k + 1;
  }
  const std::vector<float> before = DecodeFirst(*dec, packets, start);
  const double level_before = Rms(std::span(before).last(kFrame));
  ASSERT_GT(level_before, 0.01);

  std::vector<double> rms;
  std::vector<float> buf(kFrame);
  for (int i = 0; i < 15; ++i) {
    auto n = dec->Conceal(kFrame, buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, kFrame);
    for (float v : buf) ASSERT_TRUE(std::isfinite(v) && std::abs(v) <= 1.0f);
    rms.push_back(Rms(buf));
  }
  // Measured (libopus 1.3.1, level before 0.175): 0.115 0.075 0.029 0.009 0.002, then ~2e-4.
  EXPECT_EQ(dec->last_packet_duration(), kFrame);
  EXPECT_GT(rms[0], 0.1 * level_before) << "the first 20 ms should continue the voice";
  EXPECT_LT(rms[0], 2.0 * level_before);
  for (size_t i = 1; i < rms.size(); ++i) EXPECT_LE(rms[i], rms[0] * 1.2) << i;
  EXPECT_LT(rms.back(), 0.01 * rms[0]) << "a long loss must fade out";

  auto n = dec->Decode(packets[start + 15], buf);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, kFrame);
}

TEST(OpusCodecTest, ConcealChecksTheGap) {
  auto dec = MakeDecoder(48000);
  ASSERT_NE(dec, nullptr);
  std::vector<float> buf(5760);
  for (int samples : {0, -120, 100, 121, 5880}) {
    EXPECT_EQ(dec->Conceal(samples, buf).status().code(), StatusCode::kInvalidArgument) << samples;
  }
  EXPECT_EQ(dec->Conceal(960, std::span(buf).first(480)).status().code(),
            StatusCode::kInvalidArgument);
  for (int samples : {120, 480, 960, 2880, 5760}) {
    auto n = dec->Conceal(samples, buf);
    ASSERT_TRUE(n.ok()) << samples << ": " << n.status().ToString();
    EXPECT_EQ(*n, samples);
  }
}

// With 10 % of packets lost, recovering each from the next packet's in-band FEC comes much closer
// to the loss-free decode than concealment does.
TEST(OpusCodecTest, InbandFecBeatsConcealment) {
  constexpr int kRate = 16000, kFrame = kRate / 50;
  const std::vector<float> speech = Speech(kRate);
  auto enc = MakeEncoder(kRate);
  ASSERT_NE(enc, nullptr);
  ASSERT_TRUE(enc->SetExpectedLossPct(10).ok());
  const auto packets = EncodeAll(*enc, speech);
  auto clean_dec = MakeDecoder(kRate);
  ASSERT_NE(clean_dec, nullptr);
  const std::vector<float> clean = DecodeAll(*clean_dec, packets);

  // SNR, over the lost frames only, of a decode that loses every 10th packet, against the
  // loss-free decode.
  auto lossy_snr_db = [&](bool use_fec) {
    auto dec = MakeDecoder(kRate);
    std::vector<float> buf(kFrame);
    double err = 0, ref = 0;
    for (size_t k = 0; k + 1 < packets.size(); ++k) {
      const bool lost = k % 10 == 5;
      auto n = !lost     ? dec->Decode(packets[k], buf)
               : use_fec ? dec->DecodeFec(packets[k + 1], kFrame, buf)
                         : dec->Conceal(kFrame, buf);
      EXPECT_TRUE(n.ok()) << n.status().ToString();
      if (!lost) continue;
      for (size_t i = 0; i < kFrame; ++i) {
        const double c = clean[k * kFrame + i];
        err += (buf[i] - c) * (buf[i] - c);
        ref += c * c;
      }
    }
    return 10 * std::log10(ref / err);
  };
  const double fec_snr = lossy_snr_db(true), plc_snr = lossy_snr_db(false);
  // Measured: FEC 10.3 dB, concealment 2.0 dB.
  EXPECT_GT(fec_snr, plc_snr + 3.0) << "FEC " << fec_snr << " dB, PLC " << plc_snr << " dB";
}

// Packets that break RFC 6716's framing rules are refused with kDataLoss, random bytes never
// crash or produce non-finite samples, and the decoder carries on with real packets afterwards.
TEST(OpusCodecTest, GarbagePacketsAreRejectedSafely) {
  constexpr int kRate = 16000, kFrame = kRate / 50;
  auto dec = MakeDecoder(kRate);
  ASSERT_NE(dec, nullptr);
  std::vector<float> buf(static_cast<size_t>(kRate / 1000 * 120));
  EXPECT_EQ(dec->Decode({}, buf).status().code(), StatusCode::kInvalidArgument);

  const std::vector<std::vector<uint8_t>> invalid = {
      {0x03, 0x00},                    // code 3 with zero frames
      {0x01, 0xAA, 0xBB, 0xCC},        // code 1 (two equal frames) with an odd payload
      {0x02, 0xFF, 0x01},              // code 2 whose first frame runs past the end
      {0x83, 0x31, 0x00, 0x00, 0x00},  // code 3 with 49 x 2.5 ms frames: over 120 ms
  };
  for (const auto& p : invalid) {
    auto n = dec->Decode(p, buf);
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(n.status().message().find("corrupted"), std::string::npos) << n.status().message();
    EXPECT_EQ(dec->DecodeFec(p, kFrame, buf).status().code(), StatusCode::kDataLoss);
  }

  std::mt19937 rng(1234);
  int refused = 0, decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> p(1 + rng() % 300);
    for (auto& b : p) b = static_cast<uint8_t>(rng());
    auto n = dec->Decode(p, buf);
    if (!n.ok()) {
      ASSERT_TRUE(n.status().code() == StatusCode::kDataLoss ||
                  n.status().code() == StatusCode::kInvalidArgument)
          << n.status().ToString();
      ++refused;
      continue;
    }
    ++decoded;
    for (int j = 0; j < *n; ++j) ASSERT_TRUE(std::isfinite(buf[static_cast<size_t>(j)]));
  }
  // Measured: 9612 refused, 10388 decoded.
  EXPECT_GT(refused, 0);
  EXPECT_GT(decoded, 0);  // random bytes are often well-framed Opus: they decode to noise

  // A packet longer than the output is refused, not truncated.
  const std::vector<float> speech = Speech(kRate);
  auto enc = MakeEncoder(kRate);
  ASSERT_NE(enc, nullptr);
  const auto packets = EncodeAll(*enc, std::vector<float>(speech.begin(), speech.begin() + 16000));
  ASSERT_EQ(packets.size(), 50u);
  EXPECT_EQ(dec->Decode(packets[0], std::span(buf).first(kFrame - 1)).status().code(),
            StatusCode::kInvalidArgument);
  // Real packets still decode after all that.
  dec->Reset();
  for (const auto& p : packets) {
    auto n = dec->Decode(p, buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, kFrame);
  }
}

// A stereo stream (opus/48000/2, as WebRTC negotiates) decodes to mono speech.
TEST(OpusCodecTest, StereoStreamDecodesToMono) {
  constexpr int kRate = 48000;
  constexpr size_t kFrame = kRate / 50;
  const std::vector<float> speech = Speech(kRate);
  auto enc = OpusEncoder::Create(kRate, 2, 64000);
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  auto dec = MakeDecoder(kRate, 2);
  ASSERT_NE(dec, nullptr);
  std::vector<float> stereo(2 * kFrame);
  std::vector<uint8_t> packet(kMaxPacketBytes);
  std::vector<float> decoded, buf(kFrame);
  for (size_t pos = 0; pos + kFrame <= speech.size(); pos += kFrame) {
    for (size_t i = 0; i < kFrame; ++i) stereo[2 * i] = stereo[2 * i + 1] = speech[pos + i];
    auto bytes = (*enc)->Encode(stereo, packet);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    auto n = dec->Decode(std::span(packet).first(*bytes), buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, static_cast<int>(kFrame));
    decoded.insert(decoded.end(), buf.begin(), buf.end());
  }
  // An odd number of interleaved samples is not a stereo frame.
  EXPECT_EQ((*enc)->Encode(std::span(stereo).first(2 * kFrame - 1), packet).status().code(),
            StatusCode::kInvalidArgument);
  const int lookahead = (*enc)->lookahead_samples();
  const double corr = CorrelationAtLag(speech, decoded, lookahead);
  // Measured: 0.890.
  EXPECT_GT(corr, 0.85);
}

}  // namespace
}  // namespace voxgate::audio
