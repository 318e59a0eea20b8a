// MeasureSignalQuality on real speech: a clean LibriSpeech file as is, through the 8 kHz G.711
// channel, amplified into clipping, with white noise at measured SNRs, trimmed; degenerate inputs.
#include "dsp/signal_quality.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "audio/audio_decoder.h"
#include "audio/g711.h"
#include "audio/resampler.h"
#include "test_util.h"

namespace voxgate::dsp {
namespace {

constexpr int kRate = 16000;

// The first file of the first speaker of the development set (15 s, male, with pauses).
std::vector<float> CleanSpeech() {
  const std::string path = ::voxgate::testing::SpeechPath(
      "resemblyzer-librispeech/librispeech_test-other/1688/1688-142285-0000.flac");
  auto clip = audio::DecodeFile(path);
  EXPECT_TRUE(clip.ok()) << clip.status().ToString();
  if (!clip.ok()) return {};
  EXPECT_EQ(clip->sample_rate_hz, kRate);
  return std::move(clip->samples);
}

// As eval_command.cc's TelephoneChannel: down to 8 kHz, G.711 round trip, back up.
std::vector<float> TelephoneChannel(const std::vector<float>& x, audio::G711Law law) {
  auto narrow = audio::Resample(x, kRate, 8000);
  EXPECT_TRUE(narrow.ok()) << narrow.status().ToString();
  if (!narrow.ok()) return {};
  const std::vector<float> coded = audio::G711Decode(audio::G711Encode(*narrow, law), law);
  auto wide = audio::Resample(coded, 8000, kRate);
  EXPECT_TRUE(wide.ok()) << wide.status().ToString();
  return wide.ok() ? std::move(wide).value() : std::vector<float>{};
}

double MeanSquare(const std::vector<float>& x) {
  double sum = 0.0;
  for (float v : x) sum += static_cast<double>(v) * v;
  return sum / static_cast<double>(x.size());
}

// x plus white Gaussian noise scaled so that power(x) / power(noise) over the whole file (pauses
// included) is exactly snr_db.
std::vector<float> AddWhiteNoise(const std::vector<float>& x, double snr_db, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(0.0, 1.0);
  std::vector<double> noise(x.size());
  double noise_power = 0.0;
  for (double& n : noise) {
    n = dist(rng);
    noise_power += n * n;
  }
  noise_power /= static_cast<double>(noise.size());
  const double gain = std::sqrt(MeanSquare(x) / (noise_power * std::pow(10.0, snr_db / 10.0)));
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = static_cast<float>(x[i] + gain * noise[i]);
  return y;
}

std::vector<float> Gain(const std::vector<float>& x, float gain, float limit) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = std::clamp(x[i] * gain, -limit, limit);
  return y;
}

void Print(const char* name, const SignalQuality& q) {
  std::printf("%-28s snr %6.2f dB  bandwidth %5.0f Hz  clipping %.5f  narrowband %d\n", name,
              q.snr_db, q.bandwidth_hz, q.clipping_ratio, q.narrowband);
}

void ExpectZeros(const SignalQuality& q) {
  EXPECT_EQ(q.snr_db, 0.0);
  EXPECT_EQ(q.clipping_ratio, 0.0);
  EXPECT_EQ(q.bandwidth_hz, 0.0);
  EXPECT_FALSE(q.narrowband);
}

TEST(SignalQualityTest, CleanSpeechIsWidebandUnclippedAndClean) {
  const std::vector<float> x = CleanSpeech();
  ASSERT_FALSE(x.empty());
  const SignalQuality q = MeasureSignalQuality(x, kRate);
  Print("clean", q);
  EXPECT_GT(q.bandwidth_hz, 6000.0);
  EXPECT_LE(q.bandwidth_hz, 8000.0);
  EXPECT_FALSE(q.narrowband);
  EXPECT_LT(q.clipping_ratio, 0.001);
  EXPECT_GT(q.snr_db, 20.0);
  EXPECT_LE(q.snr_db, 60.0);

  // Peak-normalised to 0.95 (so the own-peak plateau rule applies): still not clipped.
  float peak = 0.0f;
  for (float v : x) peak = std::max(peak, std::abs(v));
  const SignalQuality normalised = MeasureSignalQuality(Gain(x, 0.95f / peak, 1.0f), kRate);
  Print("clean, peak 0.95", normalised);
  EXPECT_LT(normalised.clipping_ratio, 0.001);
  EXPECT_NEAR(normalised.snr_db, q.snr_db, 0.01);  // level-independent
  EXPECT_NEAR(normalised.bandwidth_hz, q.bandwidth_hz, 1.0);
}

TEST(SignalQualityTest, TrimmedSpeechStillReadsClean) {
  // A VAD-trimmed recording has few quiet frames: cut every 20 ms frame more than 30 dB below the
  // loudest one, internal pauses included, which is harsher than a VAD (it keeps short pauses).
  const std::vector<float> x = CleanSpeech();
  ASSERT_FALSE(x.empty());
  const size_t frame = kRate / 50;
  std::vector<double> energy(x.size() / frame);
  for (size_t f = 0; f < energy.size(); ++f) {
    for (size_t i = 0; i < frame; ++i) {
      energy[f] += static_cast<double>(x[f * frame + i]) * x[f * frame + i];
    }
  }
  const double loudest = *std::max_element(energy.begin(), energy.end());
  std::vector<float> trimmed;
  for (size_t f = 0; f < energy.size(); ++f) {
    if (energy[f] >= loudest * 1e-3) {
      trimmed.insert(trimmed.end(), x.begin() + f * frame, x.begin() + (f + 1) * frame);
    }
  }
  const SignalQuality q = MeasureSignalQuality(trimmed, kRate);
  std::printf("trimmed to %.1f of %.1f s\n", trimmed.size() / double{kRate},
              x.size() / double{kRate});
  Print("trimmed", q);
  EXPECT_GT(q.snr_db, 15.0);
  EXPECT_GT(q.bandwidth_hz, 6000.0);
  EXPECT_LT(q.clipping_ratio, 0.001);
}

TEST(SignalQualityTest, TelephoneChannelIsNarrowband) {
  const std::vector<float> x = CleanSpeech();
  ASSERT_FALSE(x.empty());
  const SignalQuality clean = MeasureSignalQuality(x, kRate);
  for (audio::G711Law law : {audio::G711Law::kUlaw, audio::G711Law::kAlaw}) {
    const std::vector<float> tel = TelephoneChannel(x, law);
    ASSERT_FALSE(tel.empty());
    const SignalQuality q = MeasureSignalQuality(tel, kRate);
    Print(law == audio::G711Law::kUlaw ? "G.711 mu-law, 16 kHz" : "G.711 A-law, 16 kHz", q);
    EXPECT_TRUE(q.narrowband);
    EXPECT_LT(q.bandwidth_hz, kNarrowbandMaxHz);
    EXPECT_GT(q.bandwidth_hz, 3000.0);  // the channel still carries speech up to ~3.8 kHz
    EXPECT_LT(q.clipping_ratio, 0.001);
    EXPECT_NEAR(q.snr_db, clean.snr_db, 10.0);  // G.711's own noise stays ~35 dB down
  }
}

TEST(SignalQualityTest, EightKilohertzInputIsNarrowband) {
  const std::vector<float> x = CleanSpeech();
  ASSERT_FALSE(x.empty());
  auto narrow = audio::Resample(x, kRate, 8000);
  ASSERT_TRUE(narrow.ok()) << narrow.status().ToString();
  const SignalQuality q = MeasureSignalQuality(*narrow, 8000);
  Print("8 kHz", q);
  EXPECT_TRUE(q.narrowband);
  EXPECT_GT(q.bandwidth_hz, 3000.0);
  EXPECT_LE(q.bandwidth_hz, 4000.0);
  EXPECT_GT(q.snr_db, 20.0);
}

TEST(SignalQualityTest, AmplifiedSpeechIsClipped) {
  const std::vector<float> x = CleanSpeech();
  ASSERT_FALSE(x.empty());
  // What the measure should approach: the share of samples that hit the rail (it leaves out
  // lone ones, which are indistinguishable from a peak).
  auto share_at = [](const std::vector<float>& y, float rail) {
    const auto n =
        std::count_if(y.begin(), y.end(), [rail](float v) { return std::abs(v) >= rail; });
    return static_cast<double>(n) / static_cast<double>(y.size());
  };
  const std::vector<float> clipped = Gain(x, 8.0f, 1.0f);
  const double truth = share_at(clipped, 1.0f);
  const SignalQuality q = MeasureSignalQuality(clipped, kRate);
  Print("x8, clipped at 1", q);
  std::printf("samples on the rail: %.5f\n", truth);
  EXPECT_GT(q.clipping_ratio, 0.05);
  EXPECT_LE(q.clipping_ratio, truth);
  EXPECT_GT(q.clipping_ratio, 0.9 * truth);

  // Clipped at 0.8 by an earlier stage, then scaled to a 0.96 peak: caught by the plateau rule
  // though no sample reaches 0.99.
  const std::vector<float> early = Gain(Gain(x, 8.0f, 0.8f), 1.2f, 1.0f);
  const double early_truth = share_at(early, 0.959f);
  const SignalQuality e = MeasureSignalQuality(early, kRate);
  Print("x8, clipped at 0.8, x1.2", e);
  std::printf("samples on the rail: %.5f\n", early_truth);
  EXPECT_LE(e.clipping_ratio, early_truth);
  EXPECT_GT(e.clipping_ratio, 0.9 * early_truth);

  // Mild: x2.5 puts a few peaks into the rail.
  const std::vector<float> mild = Gain(x, 2.5f, 1.0f);
  const SignalQuality m = MeasureSignalQuality(mild, kRate);
  Print("x2.5, clipped at 1", m);
  std::printf("samples on the rail: %.5f\n", share_at(mild, 1.0f));
  EXPECT_GT(m.clipping_ratio, 0.0);
  EXPECT_LT(m.clipping_ratio, q.clipping_ratio);
}

TEST(SignalQualityTest, NoiseLowersTheSnrEstimate) {
  const std::vector<float> x = CleanSpeech();
  ASSERT_FALSE(x.empty());
  const SignalQuality clean = MeasureSignalQuality(x, kRate);
  const SignalQuality noisy20 = MeasureSignalQuality(AddWhiteNoise(x, 20.0, 1234), kRate);
  const SignalQuality noisy5 = MeasureSignalQuality(AddWhiteNoise(x, 5.0, 1234), kRate);
  Print("white noise at 20 dB", noisy20);
  Print("white noise at 5 dB", noisy5);
  // The estimate is of speech-active level against the noise, so it reads above the whole-file
  // SNR (speech is absent from ~40 % of this file); by a few dB, not more.
  EXPECT_GT(noisy5.snr_db, 0.0);
  EXPECT_LT(noisy5.snr_db, 15.0);
  EXPECT_LT(noisy5.snr_db, clean.snr_db - 15.0);
  EXPECT_GT(noisy20.snr_db, 15.0);
  EXPECT_LT(noisy20.snr_db, 30.0);
  EXPECT_LT(noisy20.snr_db, clean.snr_db);
  EXPECT_GT(noisy20.snr_db, noisy5.snr_db + 10.0);
  // White noise fills the whole band: still a wideband channel, and nothing is clipped.
  EXPECT_FALSE(noisy5.narrowband);
  EXPECT_LT(noisy5.clipping_ratio, 0.001);
}

TEST(SignalQualityTest, DegenerateInputsGiveZeros) {
  ExpectZeros(MeasureSignalQuality({}, kRate));
  ExpectZeros(MeasureSignalQuality(std::vector<float>(10, 0.5f), kRate));
  ExpectZeros(MeasureSignalQuality(std::vector<float>(kRate, 0.0f), kRate));
  ExpectZeros(MeasureSignalQuality(std::vector<float>(kRate, 0.0f), 8000));
  ExpectZeros(MeasureSignalQuality(std::vector<float>(kRate, 0.25f), kRate));      // pure DC
  ExpectZeros(MeasureSignalQuality(std::vector<float>(kRate / 20, 0.5f), kRate));  // < 100 ms

  const std::vector<float> x = CleanSpeech();
  ASSERT_FALSE(x.empty());
  ExpectZeros(MeasureSignalQuality(x, 0));
  ExpectZeros(MeasureSignalQuality(x, -16000));
  ExpectZeros(MeasureSignalQuality(x, 1'000'000'000));
  // The first 100 ms of speech is enough to measure something.
  const SignalQuality short_q = MeasureSignalQuality(std::span(x).first(kRate / 10), kRate);
  EXPECT_GE(short_q.snr_db, -10.0);
  EXPECT_LE(short_q.snr_db, 60.0);
}

TEST(SignalQualityTest, NonFiniteSamplesDoNotPoisonTheResult) {
  std::vector<float> x = CleanSpeech();
  ASSERT_FALSE(x.empty());
  for (size_t i = 1000; i + 1 < x.size(); i += 7919) {
    x[i] = std::numeric_limits<float>::quiet_NaN();
    x[i + 1] = std::numeric_limits<float>::infinity();
  }
  const SignalQuality q = MeasureSignalQuality(x, kRate);
  Print("with NaN and inf", q);
  EXPECT_TRUE(std::isfinite(q.snr_db));
  EXPECT_TRUE(std::isfinite(q.bandwidth_hz));
  EXPECT_GE(q.clipping_ratio, 0.0);
  EXPECT_LE(q.clipping_ratio, 1.0);
  EXPECT_GT(q.snr_db, 20.0);
}

TEST(SignalQualityTest, IsPureAcrossThreads) {
  const std::vector<float> x = CleanSpeech();
  ASSERT_FALSE(x.empty());
  const SignalQuality expected = MeasureSignalQuality(x, kRate);
  std::vector<SignalQuality> got(4);
  std::vector<std::thread> threads;
  threads.reserve(got.size());
  for (auto& g : got) {
    threads.emplace_back([&x, &g] { g = MeasureSignalQuality(x, kRate); });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) {
    EXPECT_EQ(g.snr_db, expected.snr_db);
    EXPECT_EQ(g.clipping_ratio, expected.clipping_ratio);
    EXPECT_EQ(g.bandwidth_hz, expected.bandwidth_hz);
    EXPECT_EQ(g.narrowband, expected.narrowband);
  }
}

TEST(SignalQualityTest, CostIsSmall) {
  // Printed, not asserted: timings on a shared machine are noise.
  const std::vector<float> x = CleanSpeech();
  constexpr size_t kTenSeconds = size_t{10} * kRate;
  ASSERT_GE(x.size(), kTenSeconds);
  const std::span<const float> clip = std::span(x).first(kTenSeconds);
  constexpr int kRuns = 50;
  double sink = 0.0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kRuns; ++i) sink += MeasureSignalQuality(clip, kRate).snr_db;
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
      kRuns;
  std::printf("MeasureSignalQuality: %.3f ms per 10 s clip, %.3f ms per second of audio (%g)\n", ms,
              ms / 10.0, sink > 0 ? 1.0 : 0.0);
}

}  // namespace
}  // namespace voxgate::dsp
