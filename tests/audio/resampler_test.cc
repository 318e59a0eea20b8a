#include "audio/resampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <tuple>
#include <vector>

#include "signal_metrics.h"

namespace voxgate::audio {
namespace {

using testing::FitTone;
using testing::Middle;
using testing::Rms;
using testing::Sine;
using testing::ZeroCrossingFrequency;

TEST(AudioResamplerTest, IdentityWhenRatesMatch) {
  const std::vector<float> in = {0.1f, -0.2f, 0.3f, std::numeric_limits<float>::quiet_NaN()};
  auto out = Resample(in, 16000, 16000);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), in.size());
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ((*out)[i], in[i]);
}

TEST(AudioResamplerTest, RejectsBadRates) {
  const std::vector<float> in(100, 0.0f);
  for (auto [in_hz, out_hz] : {std::pair{0, 16000},
                               {16000, 0},
                               {-8000, 16000},
                               {16000, -1},
                               {kMaxSampleRateHz + 1, 16000}}) {
    auto out = Resample(in, in_hz, out_hz);
    ASSERT_FALSE(out.ok()) << in_hz << " -> " << out_hz;
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(out.status().message().find("sample rate"), std::string::npos);
  }
  EXPECT_EQ(ResampleClip(AudioClip{in, 0}, 16000).status().code(), StatusCode::kInvalidArgument);
}

TEST(AudioResamplerTest, EmptyInputGivesEmptyOutput) {
  auto out = Resample({}, 44100, 16000);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->empty());
}

// (input rate, output rate, tone frequency)
class AudioResamplerToneTest : public ::testing::TestWithParam<std::tuple<int, int, double>> {};

// A sine keeps its frequency, amplitude and phase (no delay) and the output has the length the
// rate ratio implies.
TEST_P(AudioResamplerToneTest, PreservesSine) {
  const auto [in_hz, out_hz, freq_hz] = GetParam();
  constexpr double kAmplitude = 0.5, kSeconds = 1.5, kPhase = 0.3;
  const std::vector<float> in = Sine(freq_hz, kAmplitude, in_hz, kSeconds, kPhase);
  auto out = Resample(in, in_hz, out_hz);
  ASSERT_TRUE(out.ok()) << out.status().ToString();

  const double expected_len = static_cast<double>(in.size()) * out_hz / in_hz;
  EXPECT_NEAR(static_cast<double>(out->size()), expected_len, 1.0);

  const auto mid = Middle(*out, out_hz, 0.05);
  EXPECT_NEAR(ZeroCrossingFrequency(mid, out_hz), freq_hz, freq_hz * 1e-4);
  const auto fit = FitTone(*out, out_hz, freq_hz);  // whole output: edges count as well
  EXPECT_NEAR(fit.amplitude, kAmplitude, kAmplitude * 0.01);
  // Sample-exact alignment against the ideal sine at the output rate.
  const std::vector<float> ideal = Sine(freq_hz, kAmplitude, out_hz, kSeconds, kPhase);
  std::vector<float> error(mid.size());
  const size_t offset = static_cast<size_t>(0.05 * out_hz);
  for (size_t i = 0; i < mid.size(); ++i) error[i] = mid[i] - ideal[offset + i];
  EXPECT_LT(Rms(error), 0.002 * kAmplitude) << "phase or level error";
}

INSTANTIATE_TEST_SUITE_P(
    Rates, AudioResamplerToneTest,
    ::testing::Values(std::tuple{44100, 16000, 440.0}, std::tuple{44100, 16000, 3000.0},
                      std::tuple{44100, 16000, 6000.0}, std::tuple{8000, 16000, 1000.0},
                      std::tuple{8000, 16000, 3300.0}, std::tuple{48000, 16000, 1000.0},
                      std::tuple{16000, 8000, 700.0}, std::tuple{22050, 16000, 250.0},
                      std::tuple{16000, 44100, 5000.0}));

// Content above the new Nyquist frequency must be filtered out, not folded back as an alias.
TEST(AudioResamplerTest, SuppressesAliases) {
  const std::vector<float> in = Sine(10000.0, 0.5, 44100, 1.0);  // folds to 6 kHz at 16 kHz
  auto out = Resample(in, 44100, 16000);
  ASSERT_TRUE(out.ok());
  const auto mid = Middle(*out, 16000, 0.05);
  EXPECT_LT(Rms(mid), 0.5 / std::sqrt(2.0) * 0.01) << "less than 40 dB of alias rejection";
  EXPECT_LT(FitTone(mid, 16000, 6000.0).amplitude, 0.005);
}

// Inputs longer than the converter's internal chunk stay continuous across chunk boundaries.
TEST(AudioResamplerTest, LongInputIsContinuous) {
  constexpr int kIn = 44100, kOut = 16000;
  const std::vector<float> in = Sine(1000.0, 0.5, kIn, 20.0);
  auto out = Resample(in, kIn, kOut);
  ASSERT_TRUE(out.ok());
  ASSERT_NEAR(static_cast<double>(out->size()), 20.0 * kOut, 1.0);
  const std::vector<float> ideal = Sine(1000.0, 0.5, kOut, 20.0);
  double worst = 0;
  for (size_t i = kOut / 10; i + kOut / 10 < out->size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>((*out)[i]) - ideal[i]));
  }
  EXPECT_LT(worst, 0.005);
}

TEST(AudioResamplerTest, NonFiniteInputDoesNotSpread) {
  std::vector<float> in = Sine(440.0, 0.5, 44100, 0.5);
  in[10000] = std::numeric_limits<float>::quiet_NaN();
  in[10001] = std::numeric_limits<float>::infinity();
  auto out = Resample(in, 44100, 16000);
  ASSERT_TRUE(out.ok());
  for (float v : *out) ASSERT_TRUE(std::isfinite(v));
}

TEST(AudioResamplerTest, ResampleClipSetsRate) {
  AudioClip clip{Sine(440.0, 0.25, 8000, 1.0), 8000};
  auto out = ResampleClip(clip, 16000);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->sample_rate_hz, 16000);
  EXPECT_EQ(out->samples.size(), 16000u);
  EXPECT_NEAR(out->DurationS(), clip.DurationS(), 1e-3);
  EXPECT_NEAR(FitTone(out->samples, 16000, 440.0).amplitude, 0.25, 0.0025);

  auto same = ResampleClip(clip, 8000);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->samples, clip.samples);
}

}  // namespace
}  // namespace voxgate::audio
