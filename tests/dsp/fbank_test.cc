#include "dsp/fbank.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <numbers>
#include <random>
#include <thread>

#include "dsp/real_fft.h"
#include "test_util.h"

namespace voxgate::dsp {
namespace {

using ::voxgate::testing::TestDataPath;

// Largest |ours - torchaudio| allowed on any element of any reference case, against torchaudio's
// exact (float64) result. Against its float32 output each element may in addition differ by as
// much as that output differs from the exact one: torchaudio's own float32 rounding, up to ~1e-2
// on bins 90+ dB below their frame's energy, is not something any implementation can reproduce.
constexpr double kTolerance = 1e-3;
// What we actually achieve against the exact result (~2e-5 measured); catches precision slips
// that would still pass kTolerance.
constexpr double kExactTolerance = 1e-4;

FbankConfig KaldiConfig() {
  FbankConfig c;
  c.mean_normalize = false;
  return c;
}

std::unique_ptr<Fbank> MustCreate(const FbankConfig& c) {
  auto fbank = Fbank::Create(c);
  EXPECT_TRUE(fbank.ok()) << fbank.status().ToString();
  return fbank.ok() ? std::move(fbank).value() : nullptr;
}

std::vector<float> ReadF32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.size() % sizeof(float), 0u) << path;
  std::vector<float> v(bytes.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

std::vector<float> Tone(double freq_hz, int num_samples, int sample_rate_hz, float amplitude) {
  std::vector<float> x(num_samples);
  for (int n = 0; n < num_samples; ++n) {
    x[n] = amplitude *
           static_cast<float>(std::sin(2.0 * std::numbers::pi * freq_hz * n / sample_rate_hz));
  }
  return x;
}

std::vector<float> Noise(int num_samples, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.1f);
  std::vector<float> x(num_samples);
  for (float& v : x) v = dist(rng);
  return x;
}

// --- Against torchaudio.compliance.kaldi.fbank (fixtures by tests/data/gen_fbank_ref.py) ---------

TEST(FbankTest, MatchesTorchaudioOnRealSpeech) {
  const std::string dir = TestDataPath("fbank");
  std::ifstream index_file(dir + "/index.json");
  ASSERT_TRUE(index_file) << dir << "/index.json missing: run tests/data/make_fixtures.sh";
  const nlohmann::json index = nlohmann::json::parse(index_file);

  std::map<std::string, std::vector<float>> waves;
  for (const auto& w : index.at("waves")) {
    waves[w.at("name")] = ReadF32(dir + "/" + w.at("file").get<std::string>());
    ASSERT_EQ(waves[w.at("name")].size(), w.at("num_samples").get<size_t>());
  }
  ASSERT_GE(index.at("cases").size(), 20u);

  int cases = 0;
  for (const auto& tc : index.at("cases")) {
    const std::string name =
        tc.at("wave").get<std::string>() + "." + tc.at("config_name").get<std::string>();
    SCOPED_TRACE(name);
    const auto& j = tc.at("config");
    FbankConfig c;
    c.sample_rate_hz = j.at("sample_rate_hz");
    c.num_mel_bins = j.at("num_mel_bins");
    c.frame_length_ms = j.at("frame_length_ms");
    c.frame_shift_ms = j.at("frame_shift_ms");
    c.preemphasis = j.at("preemphasis");
    c.remove_dc_offset = j.at("remove_dc_offset");
    c.window_type = j.at("window_type");
    c.low_freq_hz = j.at("low_freq_hz");
    c.high_freq_hz = j.at("high_freq_hz");
    c.snip_edges = j.at("snip_edges");
    c.scale_to_int16 = j.at("scale_to_int16");
    c.mean_normalize = j.at("mean_normalize");
    auto fbank = MustCreate(c);
    ASSERT_NE(fbank, nullptr);

    const std::vector<float>& wave = waves.at(tc.at("wave"));
    const std::vector<float> ref = ReadF32(dir + "/" + tc.at("file").get<std::string>());
    const std::vector<float> exact = ReadF32(dir + "/" + tc.at("exact_file").get<std::string>());
    const int ref_frames = tc.at("num_frames");
    const int ref_dim = tc.at("dim");
    ASSERT_EQ(ref.size(), static_cast<size_t>(ref_frames) * ref_dim);
    ASSERT_EQ(exact.size(), ref.size());

    const Features got = fbank->Compute(wave);
    ASSERT_EQ(got.num_frames, ref_frames);
    ASSERT_EQ(got.dim, ref_dim);
    ASSERT_EQ(got.data.size(), ref.size());
    EXPECT_EQ(fbank->NumFrames(wave.size()), ref_frames);

    double max_exact = 0.0, max_f32 = 0.0, max_excess = 0.0;
    size_t worst_exact = 0, worst_excess = 0, over_tolerance_f32 = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      const double ours = got.data[i];
      const double d_exact = std::abs(ours - exact[i]);
      const double d_f32 = std::abs(ours - ref[i]);
      // How far we are from torchaudio's float32 output beyond its own distance from exact.
      const double excess = d_f32 - std::abs(static_cast<double>(ref[i]) - exact[i]);
      if (d_exact > max_exact) max_exact = d_exact, worst_exact = i;
      if (excess > max_excess) max_excess = excess, worst_excess = i;
      max_f32 = std::max(max_f32, d_f32);
      over_tolerance_f32 += d_f32 > kTolerance;
    }
    // Printed so that the margins are visible in the test log, not only pass/fail.
    std::printf(
        "  fbank %-30s %5d x %-3d max|diff| vs torchaudio exact %.2g, float32 %.2g (%zu of %zu "
        "elements > %.0e)\n",
        name.c_str(), ref_frames, ref_dim, max_exact, max_f32, over_tolerance_f32, ref.size(),
        kTolerance);
    const int d = std::max(ref_dim, 1);
    EXPECT_LE(max_exact, kExactTolerance)
        << "at frame " << worst_exact / d << " bin " << worst_exact % d << ": ours "
        << got.data[worst_exact] << " torchaudio exact " << exact[worst_exact];
    EXPECT_LE(max_excess, kTolerance)
        << "at frame " << worst_excess / d << " bin " << worst_excess % d << ": ours "
        << got.data[worst_excess] << " torchaudio float32 " << ref[worst_excess] << " exact "
        << exact[worst_excess];
    ++cases;
  }
  EXPECT_EQ(cases, static_cast<int>(index.at("cases").size()));
}

// --- Framing ------------------------------------------------------------------------------------

TEST(FbankTest, FrameCountSnipEdges) {
  auto fbank = MustCreate(KaldiConfig());  // 400-sample frames every 160 samples
  ASSERT_NE(fbank, nullptr);
  EXPECT_EQ(fbank->NumFrames(0), 0);
  EXPECT_EQ(fbank->NumFrames(399), 0);
  EXPECT_EQ(fbank->NumFrames(400), 1);
  EXPECT_EQ(fbank->NumFrames(559), 1);
  EXPECT_EQ(fbank->NumFrames(560), 2);
  EXPECT_EQ(fbank->NumFrames(16000), 98);  // 1 + (16000 - 400) / 160
  for (size_t n : {0, 1, 399, 400, 401, 559, 560, 16000, 16001}) {
    const Features f = fbank->Compute(std::vector<float>(n, 0.25f));
    EXPECT_EQ(f.num_frames, fbank->NumFrames(n)) << n;
    EXPECT_EQ(f.dim, 80);
    EXPECT_EQ(f.data.size(), static_cast<size_t>(f.num_frames) * 80);
  }
}

TEST(FbankTest, FrameCountWithoutSnipEdges) {
  FbankConfig c = KaldiConfig();
  c.snip_edges = false;
  auto fbank = MustCreate(c);
  ASSERT_NE(fbank, nullptr);
  EXPECT_EQ(fbank->NumFrames(0), 0);
  EXPECT_EQ(fbank->NumFrames(79), 0);
  EXPECT_EQ(fbank->NumFrames(80), 1);  // (n + 80) / 160
  EXPECT_EQ(fbank->NumFrames(16000), 100);
  // Very short inputs need repeated reflections; they must stay in bounds and finite.
  for (size_t n : {80, 81, 100, 239, 240}) {
    const Features f = fbank->Compute(Noise(static_cast<int>(n), 7));
    ASSERT_EQ(f.num_frames, fbank->NumFrames(n));
    for (float v : f.data) EXPECT_TRUE(std::isfinite(v));
  }
}

TEST(FbankTest, EmptyInputGivesNoFrames) {
  auto fbank = MustCreate(FbankConfig{});
  ASSERT_NE(fbank, nullptr);
  const Features f = fbank->Compute({});
  EXPECT_EQ(f.num_frames, 0);
  EXPECT_EQ(f.dim, 80);
  EXPECT_TRUE(f.data.empty());
}

// --- Behaviour ----------------------------------------------------------------------------------

TEST(FbankTest, ToneLandsInTheNearestMelBin) {
  const FbankConfig c = KaldiConfig();
  auto fbank = MustCreate(c);
  ASSERT_NE(fbank, nullptr);
  auto mel = [](double f) { return 1127.0 * std::log(1.0 + f / 700.0); };
  const double mel_low = mel(c.low_freq_hz), mel_high = mel(c.sample_rate_hz / 2.0);
  const double delta = (mel_high - mel_low) / (c.num_mel_bins + 1);
  for (double freq : {500.0, 1000.0, 2000.0, 3000.0, 4500.0, 6000.0, 7200.0}) {
    SCOPED_TRACE(freq);
    int expected = 0;
    for (int m = 1; m < c.num_mel_bins; ++m) {
      if (std::abs(mel_low + (m + 1) * delta - mel(freq)) <
          std::abs(mel_low + (expected + 1) * delta - mel(freq))) {
        expected = m;
      }
    }
    const Features f = fbank->Compute(Tone(freq, 16000, c.sample_rate_hz, 0.5f));
    ASSERT_GT(f.num_frames, 0);
    for (int t = 0; t < f.num_frames; t += 17) {
      const float* row = f.data.data() + static_cast<size_t>(t) * f.dim;
      EXPECT_EQ(std::max_element(row, row + f.dim) - row, expected) << "frame " << t;
    }
  }
}

TEST(FbankTest, SilenceHitsTheLogFloor) {
  auto fbank = MustCreate(KaldiConfig());
  ASSERT_NE(fbank, nullptr);
  const Features f = fbank->Compute(std::vector<float>(1600, 0.0f));
  ASSERT_EQ(f.num_frames, 8);
  for (float v : f.data) EXPECT_FLOAT_EQ(v, std::log(FLT_EPSILON));
}

TEST(FbankTest, Int16ScalingAddsTheLogOfTheSquaredScale) {
  FbankConfig c = KaldiConfig();
  auto plain = MustCreate(c);
  c.scale_to_int16 = true;
  auto scaled = MustCreate(c);
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(scaled, nullptr);
  const std::vector<float> x = Noise(8000, 3);
  const Features a = plain->Compute(x), b = scaled->Compute(x);
  ASSERT_EQ(a.data.size(), b.data.size());
  const float shift = 2.0f * std::log(32768.0f);
  for (size_t i = 0; i < a.data.size(); ++i) EXPECT_NEAR(b.data[i] - a.data[i], shift, 1e-4);
}

TEST(FbankTest, MeanNormalizeZeroesEveryBinsMean) {
  auto fbank = MustCreate(FbankConfig{});  // mean_normalize defaults to true
  ASSERT_NE(fbank, nullptr);
  const Features f = fbank->Compute(Noise(16000, 5));
  ASSERT_GT(f.num_frames, 1);
  for (int m = 0; m < f.dim; ++m) {
    double sum = 0.0;
    for (int t = 0; t < f.num_frames; ++t) sum += f.data[static_cast<size_t>(t) * f.dim + m];
    EXPECT_NEAR(sum / f.num_frames, 0.0, 1e-5) << "bin " << m;
  }
}

TEST(FbankTest, ConcurrentComputeGivesIdenticalResults) {
  auto fbank = MustCreate(FbankConfig{});
  ASSERT_NE(fbank, nullptr);
  std::vector<std::vector<float>> inputs;
  for (uint32_t seed = 0; seed < 4; ++seed) inputs.push_back(Noise(48000 + 1000 * seed, seed));
  std::vector<Features> expected;
  for (const auto& x : inputs) expected.push_back(fbank->Compute(x));

  constexpr int kThreads = 4, kRounds = 5;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        const size_t i = (t + r) % inputs.size();
        const Features got = fbank->Compute(inputs[i]);
        // Bitwise: the same input must give the same floats whatever runs alongside.
        if (got.num_frames != expected[i].num_frames || got.data != expected[i].data) {
          ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

// --- The real FFT underneath --------------------------------------------------------------------

TEST(RealFftTest, PowerSpectrumMatchesNaiveDft) {
  for (int n : {4, 8, 16, 256, 512, 1024}) {
    SCOPED_TRACE(n);
    auto fft = RealFft::Create(n);
    ASSERT_TRUE(fft.ok()) << fft.status().ToString();
    ASSERT_EQ((*fft)->size(), n);
    // Noise plus a tone 100 dB down: the quiet bins must keep their precision too.
    std::vector<double> x(n);
    const std::vector<float> noise = Noise(n, static_cast<uint32_t>(n));
    for (int t = 0; t < n; ++t) x[t] = noise[t] + 1e-5 * std::cos(2.0 * std::numbers::pi * t / 4);
    std::vector<double> power(n / 2 + 1);
    std::vector<std::complex<double>> scratch((*fft)->scratch_size());
    (*fft)->PowerSpectrum(x, power, scratch);
    double total = 0.0;
    for (double v : x) total += v * v;
    for (int k = 0; k <= n / 2; ++k) {
      std::complex<double> acc = 0.0;
      for (int t = 0; t < n; ++t) {
        acc += x[t] *
               std::polar(1.0, -2.0 * std::numbers::pi * ((static_cast<int64_t>(k) * t) % n) / n);
      }
      // Parseval: the spectrum's total energy is n * sum x^2; double rounding stays far below.
      EXPECT_NEAR(power[k], std::norm(acc), 1e-9 * std::norm(acc) + 1e-13 * n * total)
          << "bin " << k;
    }
  }
}

TEST(RealFftTest, RejectsSizesThatAreNotPowersOfTwo) {
  for (int n : {-8, 0, 2, 3, 6, 400, 1 << 21}) EXPECT_FALSE(RealFft::Create(n).ok()) << n;
}

// --- Validation ---------------------------------------------------------------------------------

TEST(FbankConfigTest, DefaultsAreValid) {
  EXPECT_TRUE(FbankConfig{}.Validate().ok());
  for (const char* w : {"povey", "hanning", "hamming", "rectangular", "blackman"}) {
    FbankConfig c;
    c.window_type = w;
    EXPECT_TRUE(c.Validate().ok()) << w;
  }
}

TEST(FbankConfigTest, RejectsBadValuesWithAClearMessage) {
  struct Case {
    const char* what;
    void (*mutate)(FbankConfig&);
    const char* message_part;
  };
  const Case cases[] = {
      {"zero rate", [](FbankConfig& c) { c.sample_rate_hz = 0; }, "sample_rate_hz"},
      {"negative rate", [](FbankConfig& c) { c.sample_rate_hz = -16000; }, "sample_rate_hz"},
      {"two mel bins", [](FbankConfig& c) { c.num_mel_bins = 2; }, "num_mel_bins"},
      {"zero frame", [](FbankConfig& c) { c.frame_length_ms = 0; }, "frame_length_ms"},
      {"NaN frame", [](FbankConfig& c) { c.frame_length_ms = NAN; }, "frame_length_ms"},
      {"negative shift", [](FbankConfig& c) { c.frame_shift_ms = -10; }, "frame_shift_ms"},
      {"shift > length",
       [](FbankConfig& c) {
         c.frame_shift_ms = 30;
         c.frame_length_ms = 25;
       },
       "must not exceed frame_length_ms"},
      {"one-sample frame",
       [](FbankConfig& c) {
         c.frame_length_ms = 0.1f;
         c.frame_shift_ms = 0.05f;
       },
       "shorter than 2 samples"},
      {"huge frame", [](FbankConfig& c) { c.frame_length_ms = 1e9f; }, "too long"},
      {"preemphasis > 1", [](FbankConfig& c) { c.preemphasis = 1.5f; }, "preemphasis"},
      {"negative low", [](FbankConfig& c) { c.low_freq_hz = -1; }, "low_freq_hz"},
      {"low at Nyquist", [](FbankConfig& c) { c.low_freq_hz = 8000; }, "low_freq_hz"},
      {"high above Nyquist", [](FbankConfig& c) { c.high_freq_hz = 9000; }, "high_freq_hz"},
      {"offset below zero", [](FbankConfig& c) { c.high_freq_hz = -9000; }, "high_freq_hz"},
      {"low >= high",
       [](FbankConfig& c) {
         c.low_freq_hz = 4000;
         c.high_freq_hz = 3000;
       },
       "must be below the high frequency"},
      {"low >= high via offset",
       [](FbankConfig& c) {
         c.low_freq_hz = 4000;
         c.high_freq_hz = -4000;
       },
       "must be below the high frequency"},
      {"unknown window", [](FbankConfig& c) { c.window_type = "kaiser"; }, "unknown window_type"},
      {"too many mel bins", [](FbankConfig& c) { c.num_mel_bins = 200; }, "covers no FFT bin"},
  };
  for (const Case& tc : cases) {
    FbankConfig c;
    tc.mutate(c);
    const Status s = c.Validate();
    EXPECT_FALSE(s.ok()) << tc.what;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << tc.what;
    EXPECT_NE(s.message().find(tc.message_part), std::string::npos)
        << tc.what << ": " << s.message();
    EXPECT_FALSE(Fbank::Create(c).ok()) << tc.what;
  }
}

TEST(FbankConfigTest, ToStringNamesEveryField) {
  const std::string s = FbankConfig{}.ToString();
  for (const char* field :
       {"sample_rate_hz=16000", "num_mel_bins=80", "frame_length_ms=25", "frame_shift_ms=10",
        "preemphasis=0.97", "remove_dc_offset=1", "window_type=povey", "low_freq_hz=20",
        "high_freq_hz=0", "snip_edges=1", "scale_to_int16=0", "mean_normalize=1"}) {
    EXPECT_NE(s.find(field), std::string::npos) << field << " in " << s;
  }
}

}  // namespace
}  // namespace voxgate::dsp
