// Silero VAD on real speech (LibriSpeech test-other, decoded by tests/data/gen_vad_audio.sh).
#include "dsp/silero_vad.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace voxgate::dsp {

// gtest prints segments in failure messages (found by ADL, so outside the anonymous namespace).
void PrintTo(const SpeechSegment& s, std::ostream* os) {
  *os << "[" << s.start_sample << ", " << s.end_sample << ")";
}

namespace {

using ::voxgate::testing::RepoPath;
using ::voxgate::testing::TestDataPath;

constexpr int kRate = 16000;

std::vector<float> ReadF32(const std::string& name) {
  std::ifstream in(TestDataPath(name), std::ios::binary);
  EXPECT_TRUE(in) << "missing fixture " << TestDataPath(name)
                  << " (run tests/data/make_fixtures.sh)";
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> samples(bytes.size() / sizeof(float));
  if (!samples.empty()) std::memcpy(samples.data(), bytes.data(), samples.size() * sizeof(float));
  return samples;
}

std::shared_ptr<SileroVad> MakeVad(const VadConfig& config = {}) {
  auto vad = SileroVad::Create(config);
  EXPECT_TRUE(vad.ok()) << vad.status().ToString();
  return vad.ok() ? *vad : nullptr;
}

int64_t SpeechSamples(const std::vector<SpeechSegment>& segments) {
  int64_t n = 0;
  for (const auto& s : segments) n += s.end_sample - s.start_sample;
  return n;
}

// Streams `samples` in chunks of the given sizes (cycled) and returns every segment.
std::vector<SpeechSegment> Stream(const std::shared_ptr<SileroVad>& vad,
                                  const std::vector<float>& samples,
                                  const std::vector<size_t>& chunk_sizes) {
  VadStream stream(vad);
  std::vector<SpeechSegment> all;
  size_t pos = 0;
  for (size_t i = 0; pos < samples.size(); ++i) {
    const size_t n = std::min(chunk_sizes[i % chunk_sizes.size()], samples.size() - pos);
    auto got = stream.Accept(std::span<const float>(samples).subspan(pos, n));
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (got.ok()) all.insert(all.end(), got->begin(), got->end());
    pos += n;
  }
  auto tail = stream.Flush();
  all.insert(all.end(), tail.begin(), tail.end());
  return all;
}

// Silero's get_speech_timestamps() (utils_vad.py, v5; no max_speech_duration) written literally,
// as a batch algorithm over per-window probabilities: the reference the streaming code must match.
std::vector<SpeechSegment> ReferenceTimestamps(const std::vector<float>& probs,
                                               int64_t audio_length, const VadConfig& c) {
  const int64_t window = c.sample_rate_hz == 16000 ? 512 : 256;
  const double min_speech = c.sample_rate_hz * c.min_speech_ms / 1000.0;
  const double pad = c.sample_rate_hz * c.speech_pad_ms / 1000.0;
  const double min_silence = c.sample_rate_hz * c.min_silence_ms / 1000.0;
  const float neg = c.neg_threshold >= 0 ? c.neg_threshold : std::max(c.threshold - 0.15f, 0.01f);
  bool triggered = false;
  int64_t temp_end = 0;
  std::vector<SpeechSegment> speeches;
  SpeechSegment current;
  bool have_current = false;
  for (size_t i = 0; i < probs.size(); ++i) {
    const float p = probs[i];
    const int64_t pos = window * static_cast<int64_t>(i);
    if (p >= c.threshold && temp_end) temp_end = 0;
    if (p >= c.threshold && !triggered) {
      triggered = true;
      current.start_sample = pos;
      have_current = true;
      continue;
    }
    if (p < neg && triggered) {
      if (!temp_end) temp_end = pos;
      if (pos - temp_end < min_silence) continue;
      current.end_sample = temp_end;
      if (current.end_sample - current.start_sample > min_speech) speeches.push_back(current);
      have_current = false;
      temp_end = 0;
      triggered = false;
    }
  }
  if (have_current && audio_length - current.start_sample > min_speech) {
    current.end_sample = audio_length;
    speeches.push_back(current);
  }
  for (size_t i = 0; i < speeches.size(); ++i) {
    auto& s = speeches[i];
    if (i == 0) s.start_sample = static_cast<int64_t>(std::max(0.0, s.start_sample - pad));
    if (i != speeches.size() - 1) {
      const int64_t silence = speeches[i + 1].start_sample - s.end_sample;
      if (silence < 2 * pad) {
        s.end_sample += silence / 2;
        speeches[i + 1].start_sample =
            std::max<int64_t>(0, speeches[i + 1].start_sample - silence / 2);
      } else {
        s.end_sample = static_cast<int64_t>(std::min<double>(audio_length, s.end_sample + pad));
        speeches[i + 1].start_sample =
            static_cast<int64_t>(std::max(0.0, speeches[i + 1].start_sample - pad));
      }
    } else {
      s.end_sample = static_cast<int64_t>(std::min<double>(audio_length, s.end_sample + pad));
    }
  }
  return speeches;
}

// Per-window probabilities as get_speech_timestamps() computes them (last window zero-padded).
std::vector<float> WindowProbabilities(const std::shared_ptr<SileroVad>& vad,
                                       const std::vector<float>& samples) {
  const size_t window = vad->config().sample_rate_hz == 16000 ? 512 : 256;
  VadStream stream(vad);
  std::vector<float> probs;
  for (size_t pos = 0; pos < samples.size(); pos += window) {
    std::vector<float> chunk(window, 0.0f);
    std::copy_n(samples.begin() + pos, std::min(window, samples.size() - pos), chunk.begin());
    auto r = stream.Accept(chunk);
    EXPECT_TRUE(r.ok());
    probs.push_back(stream.last_probability());
  }
  return probs;
}

TEST(VadConfigTest, DefaultsValidateAndPrint) {
  VadConfig c;
  EXPECT_TRUE(c.Validate().ok());
  EXPECT_THAT(c.ToString(), ::testing::HasSubstr("threshold=0.5"));
  EXPECT_THAT(c.ToString(), ::testing::HasSubstr("auto: 0.35"));
}

TEST(VadConfigTest, RejectsBadValues) {
  auto bad = [](auto mutate) {
    VadConfig c;
    mutate(c);
    return c.Validate();
  };
  EXPECT_EQ(bad([](VadConfig& c) { c.sample_rate_hz = 44100; }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(bad([](VadConfig& c) { c.threshold = 1.5f; }).ok());
  EXPECT_FALSE(bad([](VadConfig& c) { c.neg_threshold = 0.7f; }).ok());
  EXPECT_FALSE(bad([](VadConfig& c) { c.min_silence_ms = -1; }).ok());
  EXPECT_FALSE(bad([](VadConfig& c) { c.num_threads = 0; }).ok());
  EXPECT_FALSE(bad([](VadConfig& c) { c.model_path.clear(); }).ok());
  EXPECT_EQ(SileroVad::Create([] {
              VadConfig c;
              c.sample_rate_hz = 22050;
              return c;
            }())
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(SileroVadTest, RelativeModelPathResolvesAgainstRepo) {
  // The default "weights/silero_vad.onnx" is relative; tests run in the build tree, where it does
  // not exist, so it must resolve against the repository root.
  auto vad = SileroVad::Create(VadConfig{});
  ASSERT_TRUE(vad.ok()) << vad.status().ToString();
}

TEST(SileroVadTest, DigitalSilenceHasNoSpeech) {
  auto vad = MakeVad();
  ASSERT_TRUE(vad);
  auto segments = vad->Detect(ReadF32("vad_silence.f32"));
  ASSERT_TRUE(segments.ok()) << segments.status().ToString();
  EXPECT_THAT(*segments, ::testing::IsEmpty());
  auto empty = vad->Detect({});
  ASSERT_TRUE(empty.ok());
  EXPECT_THAT(*empty, ::testing::IsEmpty());
}

TEST(SileroVadTest, LowLevelWhiteNoiseHasLittleSpeech) {
  auto vad = MakeVad();
  ASSERT_TRUE(vad);
  const auto noise = ReadF32("vad_noise.f32");
  auto segments = vad->Detect(noise);
  ASSERT_TRUE(segments.ok()) << segments.status().ToString();
  EXPECT_LT(SpeechSamples(*segments), static_cast<int64_t>(noise.size() / 10));
}

TEST(SileroVadTest, PaddedSpeechStartsAndEndsWhereTheUtteranceDoes) {
  auto vad = MakeVad();
  ASSERT_TRUE(vad);
  const auto speech = ReadF32("vad_speech.f32");
  const auto padded = ReadF32("vad_speech_padded.f32");
  ASSERT_EQ(padded.size(), speech.size() + 4 * kRate);
  auto segments = vad->Detect(padded);
  ASSERT_TRUE(segments.ok()) << segments.status().ToString();
  ASSERT_FALSE(segments->empty());
  const double start_s = static_cast<double>(segments->front().start_sample) / kRate;
  const double end_s = static_cast<double>(segments->back().end_sample) / kRate;
  const double utterance_s = static_cast<double>(speech.size()) / kRate;
  EXPECT_NEAR(start_s, 2.0, 0.3);
  EXPECT_NEAR(end_s, 2.0 + utterance_s, 0.3);
  for (size_t i = 0; i < segments->size(); ++i) {
    const auto& s = (*segments)[i];
    EXPECT_LT(s.start_sample, s.end_sample);
    if (i > 0) {
      EXPECT_LE((*segments)[i - 1].end_sample, s.start_sample);
    }
  }
  // Nothing in the digital silence: the last segment ends within the 2 s of trailing silence.
  EXPECT_LE(segments->back().end_sample, static_cast<int64_t>(padded.size()) - kRate);
}

TEST(SileroVadTest, UtteranceIsMostlySpeech) {
  auto vad = MakeVad();
  ASSERT_TRUE(vad);
  const auto speech = ReadF32("vad_speech.f32");
  auto segments = vad->Detect(speech);
  ASSERT_TRUE(segments.ok()) << segments.status().ToString();
  const double ratio = static_cast<double>(SpeechSamples(*segments)) / speech.size();
  EXPECT_GT(ratio, 0.75);
  EXPECT_LE(ratio, 1.0);
  const auto kept = KeepSegments(speech, *segments);
  EXPECT_EQ(static_cast<int64_t>(kept.size()), SpeechSamples(*segments));
}

TEST(SileroVadTest, StreamingInOddChunksMatchesDetect) {
  auto vad = MakeVad();
  ASSERT_TRUE(vad);
  for (const char* name : {"vad_speech.f32", "vad_speech_padded.f32", "vad_noise.f32"}) {
    SCOPED_TRACE(name);
    const auto samples = ReadF32(name);
    auto whole = vad->Detect(samples);
    ASSERT_TRUE(whole.ok());
    for (const std::vector<size_t>& chunks :
         std::vector<std::vector<size_t>>{{160}, {333}, {4000}, {1}, {512}, {7, 1000, 511, 160}}) {
      EXPECT_THAT(Stream(vad, samples, chunks), ::testing::ElementsAreArray(*whole))
          << "chunk size " << chunks.front();
    }
  }
}

// With the defaults a segment is emitted as soon as it closes: at most min_silence_ms plus about
// two windows (and the chunk) after its padded end, long before Flush().
TEST(SileroVadTest, SegmentsComeOutWhenTheyCloseNotAtFlush) {
  auto vad = MakeVad();
  ASSERT_TRUE(vad);
  const auto padded = ReadF32("vad_speech_padded.f32");
  VadStream stream(vad);
  constexpr size_t kChunk = 160;  // 10 ms frames, as the pipeline feeds them
  const int64_t max_latency = vad->config().min_silence_ms * kRate / 1000 + 2 * 512 + kChunk;
  size_t emitted = 0;
  for (size_t pos = 0; pos < padded.size(); pos += kChunk) {
    const size_t n = std::min(kChunk, padded.size() - pos);
    auto got = stream.Accept(std::span<const float>(padded).subspan(pos, n));
    ASSERT_TRUE(got.ok());
    for (const SpeechSegment& s : *got) {
      const auto now = static_cast<int64_t>(pos + n);
      EXPECT_GE(now, s.end_sample) << "a segment cannot end in the future";
      EXPECT_LE(now - s.end_sample, max_latency) << "segment ending at " << s.end_sample;
      ++emitted;
    }
  }
  EXPECT_GE(emitted, 2u);
  EXPECT_LT(stream.last_probability(), 0.1f);  // digital silence
  // 2 s of trailing silence is far more than min_silence_ms: everything closed before Flush().
  EXPECT_THAT(stream.Flush(), ::testing::IsEmpty());
}

TEST(SileroVadTest, StreamResetsAfterFlushAndOnReset) {
  auto vad = MakeVad();
  ASSERT_TRUE(vad);
  const auto speech = ReadF32("vad_speech.f32");
  auto whole = vad->Detect(speech);
  ASSERT_TRUE(whole.ok());
  VadStream stream(vad);
  for (int round = 0; round < 2; ++round) {
    auto got = stream.Accept(speech);
    ASSERT_TRUE(got.ok());
    auto tail = stream.Flush();
    got->insert(got->end(), tail.begin(), tail.end());
    EXPECT_THAT(*got, ::testing::ElementsAreArray(*whole)) << "round " << round;
  }
  ASSERT_TRUE(stream.Accept(std::span<const float>(speech).first(30000)).ok());
  stream.Reset();
  auto got = stream.Accept(speech);
  ASSERT_TRUE(got.ok());
  auto tail = stream.Flush();
  got->insert(got->end(), tail.begin(), tail.end());
  EXPECT_THAT(*got, ::testing::ElementsAreArray(*whole));
}

// The streaming segmentation equals Silero's batch get_speech_timestamps() over the same
// probabilities, including configurations where the padding of neighbouring segments interacts
// (min_silence_ms < 2 * speech_pad_ms) and where short bursts are dropped.
TEST(SileroVadTest, MatchesReferenceGetSpeechTimestamps) {
  const auto padded = ReadF32("vad_speech_padded.f32");
  const auto speech = ReadF32("vad_speech.f32");
  struct Case {
    float threshold;
    int min_speech_ms, min_silence_ms, speech_pad_ms;
  };
  for (const Case& k :
       {Case{0.5f, 250, 100, 30}, Case{0.5f, 0, 0, 30}, Case{0.6f, 250, 30, 100},
        Case{0.3f, 500, 20, 200}, Case{0.5f, 50, 50, 0}, Case{0.8f, 1000, 10, 60}}) {
    VadConfig c;
    c.threshold = k.threshold;
    c.min_speech_ms = k.min_speech_ms;
    c.min_silence_ms = k.min_silence_ms;
    c.speech_pad_ms = k.speech_pad_ms;
    auto vad = MakeVad(c);
    ASSERT_TRUE(vad);
    for (const auto* samples : {&padded, &speech}) {
      SCOPED_TRACE(c.ToString());
      const auto expected =
          ReferenceTimestamps(WindowProbabilities(vad, *samples), samples->size(), c);
      auto got = vad->Detect(*samples);
      ASSERT_TRUE(got.ok());
      EXPECT_THAT(*got, ::testing::ElementsAreArray(expected));
      EXPECT_THAT(Stream(vad, *samples, {333}), ::testing::ElementsAreArray(expected));
    }
  }
}

TEST(SileroVadTest, EightKilohertzAgreesWithSixteen) {
  VadConfig c;
  c.sample_rate_hz = 8000;
  auto vad8 = MakeVad(c);
  auto vad16 = MakeVad();
  ASSERT_TRUE(vad8 && vad16);
  const auto padded = ReadF32("vad_speech_padded.f32");
  std::vector<float> decimated;  // 2:1 with a 2-tap average: crude, but enough for a VAD
  for (size_t i = 0; i + 1 < padded.size(); i += 2) {
    decimated.push_back(0.5f * (padded[i] + padded[i + 1]));
  }
  auto s8 = vad8->Detect(decimated);
  auto s16 = vad16->Detect(padded);
  ASSERT_TRUE(s8.ok() && s16.ok()) << s8.status().ToString();
  ASSERT_FALSE(s8->empty());
  EXPECT_NEAR(s8->front().start_sample / 8000.0, s16->front().start_sample / 16000.0, 0.1);
  EXPECT_NEAR(s8->back().end_sample / 8000.0, s16->back().end_sample / 16000.0, 0.1);
}

TEST(SileroVadTest, ConcurrentDetectGivesIdenticalResults) {
  auto vad = MakeVad();
  ASSERT_TRUE(vad);
  const auto padded = ReadF32("vad_speech_padded.f32");
  auto expected = vad->Detect(padded);
  ASSERT_TRUE(expected.ok());
  constexpr int kThreads = 4;
  std::vector<std::vector<std::vector<SpeechSegment>>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int run = 0; run < 3; ++run) {
        auto r = vad->Detect(padded);
        results[t].push_back(r.ok() ? *r : std::vector<SpeechSegment>{{-1, -1}});
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    for (const auto& r : results[t]) EXPECT_THAT(r, ::testing::ElementsAreArray(*expected));
  }
}

TEST(SileroVadTest, MissingModelIsNotFound) {
  VadConfig c;
  c.model_path = "weights/no_such_model.onnx";
  auto vad = SileroVad::Create(c);
  ASSERT_FALSE(vad.ok());
  EXPECT_EQ(vad.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(vad.status().message(), ::testing::HasSubstr("no_such_model.onnx"));
}

TEST(SileroVadTest, CorruptModelIsDataLoss) {
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) / "corrupt_silero.onnx").lexically_normal();
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>((i * 2654435761u) >> 13));
  }
  VadConfig c;
  c.model_path = path;
  auto vad = SileroVad::Create(c);
  ASSERT_FALSE(vad.ok());
  EXPECT_EQ(vad.status().code(), StatusCode::kDataLoss) << vad.status().ToString();
  EXPECT_THAT(vad.status().message(), ::testing::HasSubstr(path));

  std::ofstream(path, std::ios::binary | std::ios::trunc).close();  // empty file
  vad = SileroVad::Create(c);
  ASSERT_FALSE(vad.ok());
  EXPECT_EQ(vad.status().code(), StatusCode::kDataLoss) << vad.status().ToString();
  std::filesystem::remove(path);
}

TEST(SileroVadTest, OtherOnnxModelIsUnsupported) {
  // A valid ONNX file that is not Silero v5 (a tiny speaker model from gen_tiny_models.py).
  VadConfig c;
  c.model_path = TestDataPath("tiny_sherpa.onnx");
  ASSERT_TRUE(std::filesystem::exists(c.model_path));
  auto vad = SileroVad::Create(c);
  ASSERT_FALSE(vad.ok());
  EXPECT_EQ(vad.status().code(), StatusCode::kUnsupported) << vad.status().ToString();
}

TEST(SileroVadTest, NullModelStreamReportsError) {
  VadStream stream(nullptr);
  std::vector<float> samples(1000, 0.0f);
  auto r = stream.Accept(samples);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(stream.Flush(), ::testing::IsEmpty());
}

TEST(KeepSegmentsTest, ConcatenatesAndClamps) {
  std::vector<float> samples(100);
  for (int i = 0; i < 100; ++i) samples[i] = static_cast<float>(i);
  const auto kept = KeepSegments(samples, {{10, 13}, {50, 52}, {98, 150}, {-5, 1}});
  EXPECT_THAT(kept, ::testing::ElementsAre(10, 11, 12, 50, 51, 98, 99, 0));
  EXPECT_THAT(KeepSegments(samples, {}), ::testing::IsEmpty());
}

}  // namespace
}  // namespace voxgate::dsp
