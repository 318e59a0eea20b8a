#include "audio/audio_decoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <numbers>
#include <string>
#include <thread>
#include <vector>

#include "audio/resampler.h"
#include "signal_metrics.h"
#include "test_util.h"

namespace voxgate::audio {
namespace {

using testing::BestAlignment;
using testing::EnvelopeDb;
using testing::FitTone;
using testing::MaxAbsDiff;
using testing::Middle;
using testing::Pearson;
using testing::Rms;
using ::voxgate::testing::TestDataPath;

// Every speech fixture is the same 4.135 s LibriSpeech utterance (tests/data/gen_audio.sh).
constexpr double kSpeechS = 4.135;
constexpr double kOneFrameS = 0.02;

std::string Fixture(const std::string& name) { return TestDataPath("audio/" + name); }

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

AudioClip MustDecode(const std::string& name, const DecodeConfig& config = {}) {
  auto clip = DecodeFile(Fixture(name), config);
  EXPECT_TRUE(clip.ok()) << name << ": " << clip.status().ToString();
  return clip.ok() ? std::move(clip).value() : AudioClip{};
}

// The 16-bit WAV every other decode is compared with.
const AudioClip& Reference() {
  static const AudioClip clip = MustDecode("speech_s16.wav");
  return clip;
}

// A WAV of 32-bit float samples, written here so the test controls every value.
std::vector<uint8_t> MakeFloatWav(const std::vector<float>& interleaved, int rate_hz,
                                  int channels) {
  const uint32_t data_bytes = static_cast<uint32_t>(interleaved.size() * sizeof(float));
  std::vector<uint8_t> out(44 + data_bytes);
  size_t pos = 0;
  auto put = [&](const void* p, size_t n) {
    std::memcpy(out.data() + pos, p, n);
    pos += n;
  };
  auto put32 = [&](uint32_t v) { put(&v, 4); };  // little-endian host
  auto put16 = [&](uint16_t v) { put(&v, 2); };
  put("RIFF", 4);
  put32(36 + data_bytes);
  put("WAVEfmt ", 8);
  put32(16);
  put16(3);  // WAVE_FORMAT_IEEE_FLOAT
  put16(static_cast<uint16_t>(channels));
  put32(static_cast<uint32_t>(rate_hz));
  put32(static_cast<uint32_t>(rate_hz * channels * 4));
  put16(static_cast<uint16_t>(channels * 4));
  put16(32);
  put("data", 4);
  put32(data_bytes);
  put(interleaved.data(), data_bytes);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Every format decodes to 16 kHz mono of the right length and with the reference's content.

enum class Fidelity {
  kExact,      // bit-exact with the 16-bit reference (lossless re-encodings of it)
  kG711,       // 8-bit logarithmic companding
  kU8,         // 8-bit linear
  kResampled,  // resampled by ffmpeg on the way in and by us on the way out
  kLossy,      // perceptual codecs: compare after alignment, and the loudness envelope
};

struct FormatCase {
  const char* file;
  Fidelity fidelity;
};

void PrintTo(const FormatCase& c, std::ostream* os) { *os << c.file; }

class AudioDecoderFormatTest : public ::testing::TestWithParam<FormatCase> {};

TEST_P(AudioDecoderFormatTest, DecodesTo16kMonoMatchingTheReference) {
  const FormatCase& c = GetParam();
  const AudioClip clip = MustDecode(c.file);
  const AudioClip& ref = Reference();
  ASSERT_EQ(ref.samples.size(), 66160u);
  ASSERT_EQ(clip.sample_rate_hz, 16000);
  EXPECT_NEAR(clip.DurationS(), kSpeechS, kOneFrameS);
  for (float v : clip.samples) ASSERT_TRUE(std::isfinite(v));

  switch (c.fidelity) {
    case Fidelity::kExact:
      ASSERT_EQ(clip.samples.size(), ref.samples.size());
      EXPECT_EQ(MaxAbsDiff(clip.samples, ref.samples), 0.0);
      break;
    case Fidelity::kG711:
      EXPECT_GT(testing::CorrelationAtLag(clip.samples, ref.samples, 0), 0.999);
      break;
    case Fidelity::kU8:
      EXPECT_GT(testing::CorrelationAtLag(clip.samples, ref.samples, 0), 0.99);
      break;
    case Fidelity::kResampled: {
      EXPECT_GT(testing::CorrelationAtLag(clip.samples, ref.samples, 0), 0.99);
      EXPECT_NEAR(Rms(clip.samples) / Rms(ref.samples), 1.0, 0.03);
      break;
    }
    case Fidelity::kLossy: {
      const auto align = BestAlignment(clip.samples, ref.samples, 800);  // +-50 ms
      EXPECT_GT(align.correlation, 0.95) << "lag " << align.lag;
      EXPECT_LE(std::abs(align.lag), 2) << "the decoder should remove codec delay";
      EXPECT_GT(Pearson(EnvelopeDb(clip.samples, 16000), EnvelopeDb(ref.samples, 16000)), 0.97);
      EXPECT_NEAR(Rms(clip.samples) / Rms(ref.samples), 1.0, 0.1);
      break;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, AudioDecoderFormatTest,
                         ::testing::Values(FormatCase{"speech_s16.wav", Fidelity::kExact},
                                           FormatCase{"speech_s24le.wav", Fidelity::kExact},
                                           FormatCase{"speech_s32le.wav", Fidelity::kExact},
                                           FormatCase{"speech_f32le.wav", Fidelity::kExact},
                                           FormatCase{"speech_f64le.wav", Fidelity::kExact},
                                           FormatCase{"speech.flac", Fidelity::kExact},
                                           FormatCase{"speech_alaw.wav", Fidelity::kG711},
                                           FormatCase{"speech_mulaw.wav", Fidelity::kG711},
                                           FormatCase{"speech_u8.wav", Fidelity::kU8},
                                           FormatCase{"speech_stereo_44k.wav",
                                                      Fidelity::kResampled},
                                           FormatCase{"speech.mp3", Fidelity::kLossy},
                                           FormatCase{"speech.m4a", Fidelity::kLossy},
                                           FormatCase{"speech_vorbis.ogg", Fidelity::kLossy},
                                           FormatCase{"speech_opus.ogg", Fidelity::kLossy}),
                         [](const ::testing::TestParamInfo<FormatCase>& info) {
                           std::string name = info.param.file;
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

// The 8 kHz file has no content above 4 kHz, so compare it with the reference at 8 kHz too.
TEST(AudioDecoderTest, NarrowbandFileMatchesReferenceAt8k) {
  const AudioClip up = MustDecode("speech_8k.wav");
  EXPECT_EQ(up.sample_rate_hz, 16000);
  EXPECT_NEAR(up.DurationS(), kSpeechS, kOneFrameS);

  DecodeConfig at_8k;
  at_8k.target_sample_rate_hz = 8000;
  const AudioClip narrow = MustDecode("speech_8k.wav", at_8k);
  const AudioClip ref_8k = MustDecode("speech_s16.wav", at_8k);
  EXPECT_EQ(narrow.sample_rate_hz, 8000);
  ASSERT_NEAR(static_cast<double>(narrow.samples.size()), kSpeechS * 8000, 1.0);
  EXPECT_GT(testing::CorrelationAtLag(narrow.samples, ref_8k.samples, 0), 0.999);
  // Upsampled back, it is the reference minus its 4-8 kHz band.
  EXPECT_GT(testing::CorrelationAtLag(up.samples, Reference().samples, 0), 0.97);
}

TEST(AudioDecoderTest, TargetRateZeroKeepsTheSourceRate) {
  DecodeConfig keep;
  keep.target_sample_rate_hz = 0;
  const AudioClip clip = MustDecode("tones_stereo_44k.wav", keep);
  EXPECT_EQ(clip.sample_rate_hz, 44100);
  EXPECT_EQ(clip.samples.size(), 88200u);
  const AudioClip opus = MustDecode("speech_opus.ogg", keep);
  EXPECT_EQ(opus.sample_rate_hz, 48000);  // Opus always decodes at 48 kHz
}

// Left 440 Hz at 0.5, right 1000 Hz at 0.25: an averaging downmix halves both.
TEST(AudioDecoderTest, StereoDownmixAveragesChannels) {
  for (int rate : {0, 16000}) {
    DecodeConfig config;
    config.target_sample_rate_hz = rate;
    const AudioClip clip = MustDecode("tones_stereo_44k.wav", config);
    const auto mid = Middle(clip.samples, clip.sample_rate_hz, 0.05);
    EXPECT_NEAR(FitTone(mid, clip.sample_rate_hz, 440.0).amplitude, 0.25, 0.0025) << rate;
    EXPECT_NEAR(FitTone(mid, clip.sample_rate_hz, 1000.0).amplitude, 0.125, 0.0013) << rate;
    // Nothing else: the residual after removing both tones is noise-level.
    const auto t1 = FitTone(mid, clip.sample_rate_hz, 440.0);
    const auto t2 = FitTone(mid, clip.sample_rate_hz, 1000.0);
    std::vector<float> residual(mid.size());
    for (size_t i = 0; i < mid.size(); ++i) {
      const double t = static_cast<double>(i) / clip.sample_rate_hz;
      residual[i] = static_cast<float>(
          mid[i] - t1.amplitude * std::sin(2 * std::numbers::pi * 440 * t + t1.phase_rad) -
          t2.amplitude * std::sin(2 * std::numbers::pi * 1000 * t + t2.phase_rad));
    }
    EXPECT_LT(Rms(residual), 0.001) << rate;
  }
}

// ---------------------------------------------------------------------------------------------
// Memory and files give the same samples.

TEST(AudioDecoderTest, MemoryDecodeEqualsFileDecode) {
  for (const char* name :
       {"speech_s16.wav", "speech_u8.wav", "speech_s24le.wav", "speech_f64le.wav",
        "speech_alaw.wav", "speech_mulaw.wav", "speech_stereo_44k.wav", "speech.mp3", "speech.flac",
        "speech.m4a", "speech_vorbis.ogg", "speech_opus.ogg"}) {
    const AudioClip from_file = MustDecode(name);
    const std::vector<uint8_t> bytes = ReadBytes(Fixture(name));
    ASSERT_FALSE(bytes.empty()) << name;
    auto from_memory = DecodeMemory(bytes);
    ASSERT_TRUE(from_memory.ok()) << name << ": " << from_memory.status().ToString();
    EXPECT_EQ(from_memory->sample_rate_hz, from_file.sample_rate_hz) << name;
    EXPECT_EQ(from_memory->samples, from_file.samples) << name;
  }
}

// ---------------------------------------------------------------------------------------------
// Raw PCM.

TEST(AudioDecoderTest, RawPcmFormatsMatchTheirWavTwins) {
  const std::pair<const char*, const char*> cases[] = {
      {"s16le", "speech_s16.wav"}, {"s32le", "speech_s32le.wav"}, {"f32le", "speech_f32le.wav"},
      {"u8", "speech_u8.wav"},     {"mulaw", "speech_mulaw.wav"}, {"alaw", "speech_alaw.wav"}};
  for (const auto& [format, wav] : cases) {
    DecodeConfig config;
    config.raw_format = format;
    const std::string raw = std::string("speech_") + format + ".raw";
    const AudioClip clip = MustDecode(raw, config);
    const AudioClip twin = MustDecode(wav);
    EXPECT_EQ(clip.sample_rate_hz, 16000) << format;
    EXPECT_EQ(clip.samples, twin.samples) << format;
    // Same through memory.
    const std::vector<uint8_t> bytes = ReadBytes(Fixture(raw));
    auto mem = DecodeMemory(bytes, config);
    ASSERT_TRUE(mem.ok()) << format << ": " << mem.status().ToString();
    EXPECT_EQ(mem->samples, twin.samples) << format;
  }
}

TEST(AudioDecoderTest, RawPcmUsesTheGivenRateAndChannels) {
  // 8 kHz stereo with the speech in both channels == the 8 kHz mono WAV.
  DecodeConfig config;
  config.raw_format = "s16le";
  config.raw_sample_rate_hz = 8000;
  config.raw_channels = 2;
  const AudioClip stereo = MustDecode("speech_stereo_8k_s16le.raw", config);
  const AudioClip mono = MustDecode("speech_8k.wav");
  EXPECT_EQ(stereo.samples, mono.samples);

  // The 16 kHz file read as 8 kHz lasts twice as long.
  DecodeConfig slow;
  slow.raw_format = "s16le";
  slow.raw_sample_rate_hz = 8000;
  const AudioClip clip = MustDecode("speech_s16le.raw", slow);
  EXPECT_NEAR(clip.DurationS(), 2 * kSpeechS, kOneFrameS);
}

TEST(AudioDecoderTest, RawPcmNeedsRawFormat) {
  auto clip = DecodeFile(Fixture("speech_s16le.raw"));
  ASSERT_FALSE(clip.ok());
  EXPECT_EQ(clip.status().code(), StatusCode::kUnsupported);
}

TEST(AudioDecoderTest, RawPcmEndingMidSampleIsTruncated) {
  std::vector<uint8_t> bytes = ReadBytes(Fixture("speech_s16le.raw"));
  bytes.resize(1001);
  DecodeConfig config;
  config.raw_format = "s16le";
  auto clip = DecodeMemory(bytes, config);
  ASSERT_FALSE(clip.ok());
  EXPECT_EQ(clip.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(clip.status().message().find("truncated"), std::string::npos)
      << clip.status().message();
}

// ---------------------------------------------------------------------------------------------
// Bad input: the right code, and a message that names the problem.

struct BadCase {
  const char* file;
  StatusCode code;
  const char* says;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.file; }

class AudioDecoderBadInputTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(AudioDecoderBadInputTest, FileFailsWithCodeAndReason) {
  const BadCase& c = GetParam();
  const std::string path = Fixture(c.file);
  auto clip = DecodeFile(path);
  ASSERT_FALSE(clip.ok()) << c.file << " decoded to " << clip->samples.size() << " samples";
  EXPECT_EQ(clip.status().code(), c.code) << clip.status().ToString();
  EXPECT_NE(clip.status().message().find(c.says), std::string::npos) << clip.status().message();
  EXPECT_EQ(clip.status().message().rfind(path, 0), 0u) << "message should start with the path";
}

TEST_P(AudioDecoderBadInputTest, MemoryFailsTheSameWay) {
  const BadCase& c = GetParam();
  const std::vector<uint8_t> bytes = ReadBytes(Fixture(c.file));
  auto clip = DecodeMemory(bytes);
  ASSERT_FALSE(clip.ok());
  EXPECT_EQ(clip.status().code(), c.code) << clip.status().ToString();
  EXPECT_NE(clip.status().message().find(c.says), std::string::npos) << clip.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    BadFiles, AudioDecoderBadInputTest,
    ::testing::Values(BadCase{"empty.wav", StatusCode::kInvalidArgument, "empty"},
                      BadCase{"random.bin", StatusCode::kUnsupported, "not audio"},
                      BadCase{"text.txt", StatusCode::kUnsupported, "not audio"},
                      BadCase{"text.wav", StatusCode::kUnsupported, "not audio"},
                      BadCase{"video_only.mp4", StatusCode::kUnsupported, "no audio stream"},
                      BadCase{"unknown_codec.wav", StatusCode::kUnsupported, "unsupported codec"},
                      BadCase{"truncated.wav", StatusCode::kDataLoss, "truncated WAV"},
                      BadCase{"truncated.mp3", StatusCode::kDataLoss, "truncated"},
                      BadCase{"truncated.flac", StatusCode::kDataLoss, "truncated"},
                      BadCase{"truncated.m4a", StatusCode::kDataLoss, "truncated"},
                      BadCase{"truncated_opus.ogg", StatusCode::kDataLoss, "truncated"},
                      BadCase{"corrupt.flac", StatusCode::kDataLoss, "corrupt"},
                      BadCase{"zero_samples.wav", StatusCode::kUnusable, "no audio samples"}),
    [](const ::testing::TestParamInfo<BadCase>& info) {
      std::string name = info.param.file;
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(AudioDecoderTest, MissingFileIsNotFound) {
  auto clip = DecodeFile(Fixture("no_such_file.wav"));
  ASSERT_FALSE(clip.ok());
  EXPECT_EQ(clip.status().code(), StatusCode::kNotFound);
  EXPECT_NE(clip.status().message().find("no such file"), std::string::npos);
  EXPECT_NE(clip.status().message().find("no_such_file.wav"), std::string::npos);
}

TEST(AudioDecoderTest, DirectoryIsInvalid) {
  auto clip = DecodeFile(TestDataPath("audio"));
  ASSERT_FALSE(clip.ok());
  EXPECT_EQ(clip.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(clip.status().message().find("directory"), std::string::npos);
}

TEST(AudioDecoderTest, EmptyMemoryIsInvalid) {
  auto clip = DecodeMemory({});
  ASSERT_FALSE(clip.ok());
  EXPECT_EQ(clip.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(clip.status().message().find("empty"), std::string::npos);
}

// Every prefix of a real file fails cleanly or decodes; none crashes (ASan/valgrind catch leaks).
TEST(AudioDecoderTest, PrefixesOfRealFilesNeverCrash) {
  for (const char* name : {"speech.mp3", "speech_opus.ogg", "speech.m4a", "speech.flac"}) {
    const std::vector<uint8_t> bytes = ReadBytes(Fixture(name));
    for (size_t n = 1; n < bytes.size(); n += 1 + n / 3) {
      auto clip = DecodeMemory(std::span(bytes.data(), n));
      if (clip.ok()) {
        EXPECT_FALSE(clip->samples.empty()) << name << " prefix " << n;
      } else {
        EXPECT_NE(clip.status().code(), StatusCode::kInternal) << clip.status().ToString();
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Limits and configuration.

TEST(AudioDecoderTest, MaxDurationIsEnforced) {
  DecodeConfig config;
  config.max_duration_s = 10.0;
  // FLAC declares 30 s in its header: refused before decoding.
  // The MP3 without a Xing header does not: refused once decoding passes 10 s.
  for (const char* name : {"long_sine.flac", "long_sine_noxing.mp3"}) {
    auto clip = DecodeFile(Fixture(name), config);
    ASSERT_FALSE(clip.ok()) << name;
    EXPECT_EQ(clip.status().code(), StatusCode::kTooLarge) << clip.status().ToString();
    EXPECT_NE(clip.status().message().find("max_duration_s"), std::string::npos);
    EXPECT_NE(clip.status().message().find("10.00 s"), std::string::npos);
  }
  config.max_duration_s = 31.0;
  for (const char* name : {"long_sine.flac", "long_sine_noxing.mp3"}) {
    const AudioClip clip = MustDecode(name, config);
    EXPECT_NEAR(clip.DurationS(), 30.0, 0.15) << name;
  }
  // The speech is 4.135 s: a 4 s limit refuses it, a 4.2 s one does not.
  config.max_duration_s = 4.0;
  EXPECT_EQ(DecodeFile(Fixture("speech.flac"), config).status().code(), StatusCode::kTooLarge);
  EXPECT_EQ(DecodeFile(Fixture("speech_s16.wav"), config).status().code(), StatusCode::kTooLarge);
  config.max_duration_s = 4.2;
  EXPECT_TRUE(DecodeFile(Fixture("speech.flac"), config).ok());
}

TEST(AudioDecoderTest, NonFiniteSamplesBecomeZero) {
  std::vector<float> samples(16000, 0.25f);
  samples[100] = std::numeric_limits<float>::quiet_NaN();
  samples[200] = std::numeric_limits<float>::infinity();
  samples[300] = -std::numeric_limits<float>::infinity();
  const std::vector<uint8_t> wav = MakeFloatWav(samples, 16000, 1);
  auto clip = DecodeMemory(wav);
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  ASSERT_EQ(clip->samples.size(), samples.size());
  EXPECT_EQ(clip->samples[100], 0.0f);
  EXPECT_EQ(clip->samples[200], 0.0f);
  EXPECT_EQ(clip->samples[300], 0.0f);
  EXPECT_EQ(clip->samples[99], 0.25f);
  EXPECT_EQ(clip->samples[101], 0.25f);

  // Through the resampler and the downmix too: nothing non-finite comes out, and the damage
  // stays local (the filter is short).
  std::vector<float> stereo(2 * 44100, 0.25f);
  stereo[2 * 20000] = std::numeric_limits<float>::quiet_NaN();
  stereo[2 * 30000 + 1] = std::numeric_limits<float>::infinity();
  auto resampled = DecodeMemory(MakeFloatWav(stereo, 44100, 2));
  ASSERT_TRUE(resampled.ok()) << resampled.status().ToString();
  size_t off = 0;
  for (size_t i = 0; i < resampled->samples.size(); ++i) {
    ASSERT_TRUE(std::isfinite(resampled->samples[i])) << i;
    if (i > 100 && i + 100 < resampled->samples.size() &&
        std::abs(resampled->samples[i] - 0.25f) > 0.01f) {
      ++off;
    }
  }
  EXPECT_LT(off, 100u);
}

TEST(AudioDecoderTest, ConcurrentDecodesAgree) {
  const std::vector<std::string> names = {"speech.mp3", "speech_opus.ogg", "speech.m4a",
                                          "speech_stereo_44k.wav"};
  std::vector<AudioClip> serial;
  for (const auto& n : names) serial.push_back(MustDecode(n));
  std::vector<int> mismatches(names.size(), 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < names.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        auto clip = DecodeFile(Fixture(names[(t + round) % names.size()]));
        if (!clip.ok() || clip->samples != serial[(t + round) % names.size()].samples) {
          ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (size_t t = 0; t < names.size(); ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(AudioDecodeConfigTest, DefaultsAreValid) {
  DecodeConfig config;
  EXPECT_TRUE(config.Validate().ok());
  config.raw_format = "mulaw";
  config.raw_sample_rate_hz = 8000;
  EXPECT_TRUE(config.Validate().ok());
  config.target_sample_rate_hz = 0;
  EXPECT_TRUE(config.Validate().ok());
}

TEST(AudioDecodeConfigTest, ValidateNamesTheBadField) {
  struct Case {
    void (*mutate)(DecodeConfig&);
    const char* field;
  };
  const Case cases[] = {
      {[](DecodeConfig& c) { c.target_sample_rate_hz = -1; }, "target_sample_rate_hz"},
      {[](DecodeConfig& c) { c.target_sample_rate_hz = 10'000'000; }, "target_sample_rate_hz"},
      {[](DecodeConfig& c) { c.max_duration_s = 0; }, "max_duration_s"},
      {[](DecodeConfig& c) { c.max_duration_s = -5; }, "max_duration_s"},
      {[](DecodeConfig& c) { c.max_duration_s = std::nan(""); }, "max_duration_s"},
      {[](DecodeConfig& c) { c.max_duration_s = INFINITY; }, "max_duration_s"},
      {[](DecodeConfig& c) { c.raw_format = "s24be"; }, "raw_format"},
      {[](DecodeConfig& c) { c.raw_format = "wav"; }, "raw_format"},
      {[](DecodeConfig& c) { c.raw_format = "s16le", c.raw_sample_rate_hz = 0; },
       "raw_sample_rate_hz"},
      {[](DecodeConfig& c) { c.raw_format = "s16le", c.raw_channels = 0; }, "raw_channels"},
      {[](DecodeConfig& c) { c.raw_format = "s16le", c.raw_channels = 1000; }, "raw_channels"},
  };
  for (const Case& c : cases) {
    DecodeConfig config;
    c.mutate(config);
    const Status status = config.Validate();
    ASSERT_FALSE(status.ok()) << c.field;
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find(c.field), std::string::npos) << status.message();
    // Decoding with it is refused up front.
    auto clip = DecodeFile(Fixture("speech_s16.wav"), config);
    EXPECT_EQ(clip.status().code(), StatusCode::kInvalidArgument) << c.field;
  }
}

TEST(AudioDecodeConfigTest, ToStringShowsEveryField) {
  DecodeConfig config;
  config.raw_format = "alaw";
  config.raw_sample_rate_hz = 8000;
  const std::string s = config.ToString();
  EXPECT_EQ(s,
            "DecodeConfig(target_sample_rate_hz=16000, max_duration_s=600, raw_format=\"alaw\", "
            "raw_sample_rate_hz=8000, raw_channels=1)");
}

}  // namespace
}  // namespace voxgate::audio
