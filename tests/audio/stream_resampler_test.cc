// StreamResampler (speexdsp) frame by frame: frame sizes, tones, latency, and agreement with the
// whole-clip swresample path on real speech.
#include "audio/stream_resampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <tuple>
#include <vector>

#include "audio/audio_decoder.h"
#include "audio/resampler.h"
#include "signal_metrics.h"
#include "test_util.h"

namespace voxgate::audio {
namespace {

using testing::FitTone;
using testing::Middle;
using testing::Rms;
using testing::Sine;
using testing::ZeroCrossingFrequency;
using ::voxgate::testing::DevSetUtterance;

std::unique_ptr<StreamResampler> MakeResampler(int in_hz, int out_hz, int quality = 5) {
  auto r = StreamResampler::Create(in_hz, out_hz, quality);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

// Feeds `in` in frames of `frame_ms` and returns the concatenated output plus each frame's count.
std::vector<float> StreamThrough(StreamResampler& r, const std::vector<float>& in, int frame_ms,
                                 std::vector<size_t>* counts = nullptr) {
  const size_t frame = static_cast<size_t>(r.in_rate_hz()) * frame_ms / 1000;
  std::vector<float> out;
  std::vector<float> buf(r.MaxOutputSamples(frame));
  for (size_t pos = 0; pos < in.size(); pos += frame) {
    const size_t n = std::min(frame, in.size() - pos);
    const size_t got = r.Process(std::span(in).subspan(pos, n), buf);
    if (counts) counts->push_back(got);
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<long>(got));
  }
  return out;
}

std::vector<float> Speech16k() {
  auto clip = DecodeFile(DevSetUtterance("1688-142285", 0));
  EXPECT_TRUE(clip.ok()) << clip.status().ToString();
  return clip.ok() ? clip->samples : std::vector<float>{};
}

TEST(StreamResamplerTest, RejectsBadArguments) {
  for (auto [in_hz, out_hz, q] : {std::tuple{0, 16000, 5},
                                  {16000, 0, 5},
                                  {-8000, 16000, 5},
                                  {kMaxSampleRateHz + 1, 16000, 5},
                                  {8000, 16000, -1},
                                  {8000, 16000, 11}}) {
    auto r = StreamResampler::Create(in_hz, out_hz, q);
    ASSERT_FALSE(r.ok()) << in_hz << " -> " << out_hz << " q" << q;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(StreamResamplerTest, IdentityWhenRatesMatch) {
  auto r = MakeResampler(16000, 16000);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->latency_samples(), 0);
  EXPECT_EQ(r->MaxOutputSamples(320), 320u);
  const std::vector<float> in = Sine(440.0, 0.5, 16000, 0.02);
  std::vector<float> out(320, 9.0f);
  ASSERT_EQ(r->Process(in, out), 320u);
  EXPECT_EQ(out, in);
  // Too small an output: what fits is copied, the rest counted as dropped.
  std::vector<float> small(100);
  EXPECT_EQ(r->Process(in, small), 100u);
  EXPECT_EQ(r->dropped_samples(), 220u);
}

// (input rate, output rate, frame ms)
class StreamResamplerFrameTest : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

// Every frame in gives exactly one frame out at the output rate, the first one included, so a
// live pipeline can keep fixed-size frames; nothing is lost or invented over a long stream.
TEST_P(StreamResamplerFrameTest, OneFrameOutPerFrameIn) {
  const auto [in_hz, out_hz, frame_ms] = GetParam();
  auto r = MakeResampler(in_hz, out_hz);
  ASSERT_NE(r, nullptr);
  const std::vector<float> in = Sine(440.0, 0.5, in_hz, 3.0);
  std::vector<size_t> counts;
  const std::vector<float> out = StreamThrough(*r, in, frame_ms, &counts);
  const size_t expected = static_cast<size_t>(out_hz) * frame_ms / 1000;
  ASSERT_EQ(counts.size(), 3000u / frame_ms);
  for (size_t i = 0; i < counts.size(); ++i) ASSERT_EQ(counts[i], expected) << "frame " << i;
  EXPECT_EQ(out.size(), static_cast<size_t>(3 * out_hz));
  EXPECT_EQ(r->dropped_samples(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Rates, StreamResamplerFrameTest,
    ::testing::Values(std::tuple{8000, 16000, 20}, std::tuple{8000, 16000, 10},
                      std::tuple{48000, 16000, 20}, std::tuple{48000, 16000, 10},
                      std::tuple{44100, 16000, 20}, std::tuple{16000, 8000, 20},
                      std::tuple{16000, 48000, 10}, std::tuple{12000, 16000, 20},
                      std::tuple{24000, 16000, 20}));

// (input rate, output rate, tone frequency)
class StreamResamplerToneTest : public ::testing::TestWithParam<std::tuple<int, int, double>> {};

// A sine streamed frame by frame keeps its frequency and its amplitude (within 0.5 dB anywhere in
// the passband, the speech band), and is delayed by exactly latency_samples().
TEST_P(StreamResamplerToneTest, KeepsSineAndReportsLatency) {
  const auto [in_hz, out_hz, freq_hz] = GetParam();
  constexpr double kAmplitude = 0.5, kSeconds = 2.0, kPhase = 0.3;
  auto r = MakeResampler(in_hz, out_hz);
  ASSERT_NE(r, nullptr);
  const std::vector<float> out =
      StreamThrough(*r, Sine(freq_hz, kAmplitude, in_hz, kSeconds, kPhase), 20);
  // Skip the start-up (the filter's leading zeros) and the end.
  const auto mid = Middle(out, out_hz, 0.1);
  EXPECT_NEAR(ZeroCrossingFrequency(mid, out_hz), freq_hz, freq_hz * 1e-4);
  const auto fit = FitTone(mid, out_hz, freq_hz);
  EXPECT_NEAR(20.0 * std::log10(fit.amplitude / kAmplitude), 0.0, 0.5);

  // The delay measured from the tone's phase is latency_samples(): exactly when the rate ratio
  // is an integer, within the rounding to whole samples otherwise (44.1 kHz).
  const int lag = r->latency_samples();
  ASSERT_GT(lag, 0);
  const double rad_per_sample = 2.0 * std::numbers::pi * freq_hz / out_hz;
  const double expected_phase =
      kPhase - rad_per_sample * (static_cast<double>(lag) - static_cast<double>(0.1 * out_hz));
  const double residual_rad = std::remainder(fit.phase_rad - expected_phase, 2 * std::numbers::pi);
  const double residual_samples = -residual_rad / rad_per_sample;
  const bool integer_ratio = in_hz % out_hz == 0 || out_hz % in_hz == 0;
  EXPECT_NEAR(residual_samples, 0.0, integer_ratio ? 0.02 : 0.5) << "latency_samples()=" << lag;
}

INSTANTIATE_TEST_SUITE_P(
    Rates, StreamResamplerToneTest,
    ::testing::Values(std::tuple{8000, 16000, 300.0}, std::tuple{8000, 16000, 1000.0},
                      std::tuple{8000, 16000, 3400.0}, std::tuple{48000, 16000, 100.0},
                      std::tuple{48000, 16000, 1000.0}, std::tuple{48000, 16000, 6500.0},
                      std::tuple{16000, 8000, 3000.0}, std::tuple{44100, 16000, 2500.0}));

// A tone above the output's Nyquist frequency is filtered out, not folded back.
TEST(StreamResamplerTest, SuppressesAliases) {
  auto r = MakeResampler(48000, 16000);
  ASSERT_NE(r, nullptr);
  const std::vector<float> out = StreamThrough(*r, Sine(10000.0, 0.5, 48000, 1.0), 20);
  const auto mid = Middle(out, 16000, 0.1);
  EXPECT_LT(FitTone(mid, 16000, 6000.0).amplitude, 0.5 * 0.01) << "less than 40 dB rejection";
}

// Zero-phase low-pass (windowed sinc, Blackman, 511 taps): the band a test compares in.
std::vector<float> LowPass(const std::vector<float>& x, int rate_hz, double cutoff_hz) {
  constexpr int kHalf = 255;
  std::vector<double> h(2 * kHalf + 1);
  const double fc = cutoff_hz / rate_hz;
  for (int n = -kHalf; n <= kHalf; ++n) {
    const double sinc =
        n == 0 ? 2 * fc : std::sin(2 * std::numbers::pi * fc * n) / (std::numbers::pi * n);
    const double w = 0.42 + 0.5 * std::cos(std::numbers::pi * n / kHalf) +
                     0.08 * std::cos(2 * std::numbers::pi * n / kHalf);
    h[n + kHalf] = sinc * w;
  }
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    double acc = 0;
    for (int k = -kHalf; k <= kHalf; ++k) {
      const long j = static_cast<long>(i) + k;
      if (j >= 0 && j < static_cast<long>(x.size())) acc += h[k + kHalf] * x[j];
    }
    y[i] = static_cast<float>(acc);
  }
  return y;
}

double SnrDb(std::span<const float> reference, std::span<const float> got) {
  double signal = 0, noise = 0;
  for (size_t i = 0; i < std::min(reference.size(), got.size()); ++i) {
    signal += static_cast<double>(reference[i]) * reference[i];
    noise +=
        (static_cast<double>(got[i]) - reference[i]) * (static_cast<double>(got[i]) - reference[i]);
  }
  return 10.0 * std::log10(signal / noise);
}

// Real speech streamed in 20 ms frames matches the whole-clip swresample result once the stream's
// latency is taken out. The two filters differ only in their transition band (speexdsp's quality 5
// starts rolling off at about 92 % of the lower Nyquist frequency, swresample's at about 97 %):
// over the whole band they agree to ~33-37 dB, and below 90 % of the lower Nyquist frequency to
// far more. Both figures rise with the quality setting, which rules out a misalignment.
TEST(StreamResamplerTest, MatchesWholeClipResamplerOnSpeech) {
  const std::vector<float> speech = Speech16k();
  ASSERT_FALSE(speech.empty());
  for (int in_hz : {8000, 48000}) {
    // The source at in_hz, then back to 16 kHz both ways.
    auto source = Resample(speech, 16000, in_hz);
    ASSERT_TRUE(source.ok());
    auto reference = Resample(*source, in_hz, 16000);
    ASSERT_TRUE(reference.ok());
    auto r = MakeResampler(in_hz, 16000);
    ASSERT_NE(r, nullptr);
    const std::vector<float> streamed = StreamThrough(*r, *source, 20);
    const size_t lag = static_cast<size_t>(r->latency_samples());
    ASSERT_GT(streamed.size(), lag + 16000);
    const std::vector<float> aligned(streamed.begin() + static_cast<long>(lag), streamed.end());
    const double full_db = SnrDb(*reference, aligned);
    const double band_hz = 0.9 * std::min(in_hz, 16000) / 2;
    const double in_band_db =
        SnrDb(LowPass(*reference, 16000, band_hz), LowPass(aligned, 16000, band_hz));
    EXPECT_GT(full_db, 30.0) << in_hz << " Hz -> 16 kHz";
    EXPECT_GT(in_band_db, 50.0) << in_hz << " Hz -> 16 kHz, below " << band_hz << " Hz";
  }
}

// Reset() makes the resampler behave as a new one.
TEST(StreamResamplerTest, ResetStartsAFreshStream) {
  const std::vector<float> speech = Speech16k();
  ASSERT_FALSE(speech.empty());
  const std::vector<float> head(speech.begin(), speech.begin() + 16000);
  auto fresh = MakeResampler(16000, 8000);
  auto used = MakeResampler(16000, 8000);
  ASSERT_NE(fresh, nullptr);
  ASSERT_NE(used, nullptr);
  StreamThrough(*used, std::vector<float>(speech.begin() + 20000, speech.begin() + 30000), 20);
  used->Reset();
  EXPECT_EQ(StreamThrough(*used, head, 20), StreamThrough(*fresh, head, 20));
}

// When `out` is too small, the excess is dropped and counted, and the stream stays in step: the
// next frame is exactly what a resampler given enough room produces.
TEST(StreamResamplerTest, TooSmallOutputDropsButStaysInStep) {
  const std::vector<float> speech = Speech16k();
  ASSERT_GE(speech.size(), 640u);
  auto roomy = MakeResampler(16000, 48000);
  auto tight = MakeResampler(16000, 48000);
  ASSERT_NE(roomy, nullptr);
  ASSERT_NE(tight, nullptr);
  std::vector<float> a(roomy->MaxOutputSamples(320)), b(tight->MaxOutputSamples(320));
  const auto first = std::span(speech).subspan(0, 320),
             second = std::span(speech).subspan(320, 320);
  EXPECT_EQ(roomy->Process(first, a), 960u);
  EXPECT_EQ(tight->Process(first, std::span(b).first(100)), 100u);
  EXPECT_EQ(tight->dropped_samples(), 860u);
  for (size_t i = 0; i < 100; ++i) EXPECT_EQ(a[i], b[i]);
  ASSERT_EQ(roomy->Process(second, a), 960u);
  ASSERT_EQ(tight->Process(second, b), 960u);
  for (size_t i = 0; i < 960; ++i) ASSERT_EQ(a[i], b[i]) << i;
}

// A non-finite sample spoils only the outputs whose filter window covers it; the stream recovers.
TEST(StreamResamplerTest, RecoversFromNonFiniteInput) {
  auto r = MakeResampler(8000, 16000);
  ASSERT_NE(r, nullptr);
  std::vector<float> in = Sine(440.0, 0.5, 8000, 1.0);
  in[1000] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> out = StreamThrough(*r, in, 20);
  ASSERT_EQ(out.size(), 16000u);
  for (size_t i = 4000; i < out.size(); ++i) ASSERT_TRUE(std::isfinite(out[i])) << i;
}

}  // namespace
}  // namespace voxgate::audio
