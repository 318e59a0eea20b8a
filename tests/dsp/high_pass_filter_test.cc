// HighPassFilter: Butterworth response against the closed form, DC and hum removal, exact
// chunking invariance on real speech.
#include "dsp/high_pass_filter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <tuple>
#include <vector>

#include "audio/audio_decoder.h"
#include "audio/signal_metrics.h"
#include "test_util.h"

namespace voxgate::dsp {
namespace {

using audio::testing::FitTone;
using audio::testing::Sine;
using ::voxgate::testing::DevSetUtterance;

// The digital Butterworth high-pass of order n from the bilinear transform, pre-warped at fc:
// |H(f)|^2 = 1 / (1 + (tan(pi fc / fs) / tan(pi f / fs))^(2n)).
double ButterworthGainDb(double f, double fc, int fs, int order) {
  const double r = std::tan(std::numbers::pi * fc / fs) / std::tan(std::numbers::pi * f / fs);
  return -10.0 * std::log10(1.0 + std::pow(r, 2 * order));
}

HighPassFilter MakeFilter(double cutoff_hz, int order, int rate) {
  HighPassConfig config;
  config.cutoff_hz = cutoff_hz;
  config.order = order;
  auto f = HighPassFilter::Create(config, rate);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return std::move(f).value();
}

TEST(HighPassConfigTest, ValidatesAndPrints) {
  HighPassConfig config;
  EXPECT_TRUE(config.Validate().ok());
  EXPECT_EQ(config.ToString(), "HighPassConfig(cutoff_hz=80, order=2)");
  for (double cutoff : {0.0, -10.0, std::nan(""), double{INFINITY}}) {
    config.cutoff_hz = cutoff;
    EXPECT_EQ(config.Validate().code(), StatusCode::kInvalidArgument) << cutoff;
  }
  config = {};
  for (int order : {0, 1, 3, 6}) {
    config.order = order;
    EXPECT_EQ(config.Validate().code(), StatusCode::kInvalidArgument) << order;
    EXPECT_NE(config.Validate().message().find("order"), std::string::npos);
  }
}

TEST(HighPassConfigTest, LoadsFromYaml) {
  auto node = ConfigNode::Parse("high_pass:\n  cutoff_hz: 100\n  order: 4\n");
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  HighPassConfig config;
  ASSERT_TRUE(config.Load(node->Child("high_pass")).ok());
  EXPECT_EQ(config.cutoff_hz, 100.0);
  EXPECT_EQ(config.order, 4);
  auto bad = ConfigNode::Parse("high_pass:\n  order: four\n");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(config.Load(bad->Child("high_pass")).code(), StatusCode::kInvalidArgument);
}

TEST(HighPassFilterTest, CreateRejectsBadArguments) {
  HighPassConfig config;
  for (int rate : {0, -16000, audio::kMaxSampleRateHz + 1}) {
    EXPECT_EQ(HighPassFilter::Create(config, rate).status().code(), StatusCode::kInvalidArgument);
  }
  config.cutoff_hz = 3700;  // > 0.45 x 8000
  EXPECT_EQ(HighPassFilter::Create(config, 8000).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(HighPassFilter::Create(config, 16000).ok());
  config.order = 3;
  EXPECT_EQ(HighPassFilter::Create(config, 16000).status().code(), StatusCode::kInvalidArgument);
}

// (rate, order)
class HighPassResponseTest : public ::testing::TestWithParam<std::tuple<int, int>> {};

// Steady-state sine gains match the Butterworth closed form: mains hum at 50/60 Hz loses what the
// order promises, the cutoff sits at -3 dB, and the voice band passes within 0.1 dB.
TEST_P(HighPassResponseTest, ButterworthGains) {
  const auto [rate, order] = GetParam();
  for (double freq : {20.0, 50.0, 60.0, 80.0, 150.0, 300.0, 1000.0, 3000.0}) {
    HighPassFilter filter = MakeFilter(80.0, order, rate);
    std::vector<float> x = Sine(freq, 0.5, rate, 3.0);
    filter.Process(x);
    // Skip the first second (the start transient); fit the rest.
    const auto steady = std::span<const float>(x).subspan(static_cast<size_t>(rate));
    const double gain_db = 20.0 * std::log10(FitTone(steady, rate, freq).amplitude / 0.5);
    const double expected_db = ButterworthGainDb(freq, 80.0, rate, order);
    EXPECT_NEAR(gain_db, expected_db, 0.02) << freq << " Hz";
    EXPECT_NEAR(20.0 * std::log10(filter.MagnitudeAt(freq)), expected_db, 1e-6) << freq << " Hz";
    if (freq == 80.0) {
      EXPECT_NEAR(gain_db, -3.01, 0.02);
    }
    if (freq >= 300.0) {
      EXPECT_NEAR(gain_db, 0.0, 0.1) << freq << " Hz";
    }
  }
  // Hum: 50 Hz is 8.7 dB down at order 2 and 16.4 dB at order 4 (80 Hz cutoff).
  EXPECT_NEAR(ButterworthGainDb(50.0, 80.0, rate, order), order == 2 ? -8.7 : -16.4, 0.1);
}

INSTANTIATE_TEST_SUITE_P(RatesAndOrders, HighPassResponseTest,
                         ::testing::Combine(::testing::Values(8000, 16000, 48000),
                                            ::testing::Values(2, 4)));

TEST(HighPassFilterTest, RemovesDc) {
  for (int order : {2, 4}) {
    HighPassFilter filter = MakeFilter(80.0, order, 16000);
    std::vector<float> x(32000, 0.5f);  // a DC offset switched on at t = 0
    filter.Process(x);
    double tail = 0;
    for (size_t i = 8000; i < x.size(); ++i) tail = std::max(tail, std::abs(double{x[i]}));
    EXPECT_LT(tail, 1e-5) << "order " << order << ": DC left after 0.5 s";
  }
}

// Filtering in frames of any size gives bit-for-bit the output of filtering the whole signal.
TEST(HighPassFilterTest, ChunkingInvariantOnSpeech) {
  auto clip = audio::DecodeFile(DevSetUtterance("1688-142285", 0));
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  for (int order : {2, 4}) {
    std::vector<float> whole = clip->samples;
    MakeFilter(80.0, order, 16000).Process(whole);

    HighPassFilter filter = MakeFilter(80.0, order, 16000);
    std::vector<float> chunked = clip->samples;
    std::mt19937 rng(7);
    for (size_t pos = 0; pos < chunked.size();) {
      const size_t n = std::min<size_t>(rng() % 700, chunked.size() - pos);  // 0 included
      filter.Process(std::span(chunked).subspan(pos, n));
      pos += n;
    }
    EXPECT_EQ(chunked, whole) << "order " << order;
    EXPECT_NE(whole, clip->samples);

    // Reset() starts over: the same head filters to the same output again.
    filter.Reset();
    std::vector<float> head(clip->samples.begin(), clip->samples.begin() + 4000);
    filter.Process(head);
    EXPECT_TRUE(std::equal(head.begin(), head.end(), whole.begin()));
  }
}

// Silence after loud input decays to exact zeros rather than lingering in subnormal numbers.
TEST(HighPassFilterTest, DecaysToZeroInSilence) {
  HighPassFilter filter = MakeFilter(80.0, 4, 48000);
  std::vector<float> x = Sine(100.0, 0.9, 48000, 0.1);
  x.resize(48000 * 10, 0.0f);
  filter.Process(x);
  EXPECT_EQ(x.back(), 0.0f);
  for (float v : x) ASSERT_TRUE(std::isfinite(v));
}

}  // namespace
}  // namespace voxgate::dsp
