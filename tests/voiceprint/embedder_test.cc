// Embedder on real speech with a tiny random-weight model: the numbers say nothing about speakers,
// but VAD trimming, windowing, limits and thread safety are the real code paths.
#include "voiceprint/embedder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <thread>

#include "test_util.h"
#include "voiceprint/scoring.h"

namespace voxgate::voiceprint {
namespace {

using voxgate::testing::TestDataPath;

audio::AudioClip ReadF32(const std::string& name) {
  std::ifstream in(TestDataPath(name), std::ios::binary | std::ios::ate);
  audio::AudioClip clip;
  clip.samples.resize(static_cast<size_t>(in.tellg()) / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(clip.samples.data()),
          static_cast<std::streamsize>(clip.samples.size() * sizeof(float)));
  clip.sample_rate_hz = 16000;
  return clip;
}

EmbedderConfig Config() {
  EmbedderConfig c;
  c.model.model_path = TestDataPath("tiny_sherpa.onnx");
  return c;
}

std::shared_ptr<Embedder> Make(const EmbedderConfig& c) {
  auto e = Embedder::Create(c);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? *e : nullptr;
}

TEST(EmbedderTest, UnitNormEmbeddingWithSpeechSecondsAndModelId) {
  auto embedder = Make(Config());
  ASSERT_TRUE(embedder);
  auto e = embedder->Embed(ReadF32("vad_speech.f32"));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->vector.size(), static_cast<size_t>(embedder->model_info().embedding_dim));
  double norm = 0;
  for (float v : e->vector) norm += v * v;
  EXPECT_NEAR(norm, 1.0, 1e-5);
  // 10.55 s utterance of which most is speech.
  EXPECT_GT(e->speech_s, 7.0);
  EXPECT_LE(e->speech_s, 10.6);
  EXPECT_EQ(e->model_id, embedder->model_info().id);
}

TEST(EmbedderTest, VadMakesSurroundingSilenceIrrelevant) {
  auto with_vad = Make(Config());
  EmbedderConfig no_vad_config = Config();
  no_vad_config.use_vad = false;
  auto no_vad = Make(no_vad_config);
  ASSERT_TRUE(with_vad && no_vad);
  const auto plain = ReadF32("vad_speech.f32");
  const auto padded = ReadF32("vad_speech_padded.f32");  // + 2 s of silence on each side

  auto a = with_vad->Embed(plain), b = with_vad->Embed(padded);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NEAR(a->speech_s, b->speech_s, 0.1);
  const float trimmed_score = Score(a->vector, b->vector);
  EXPECT_GT(trimmed_score, 0.995f);

  auto c = no_vad->Embed(plain), d = no_vad->Embed(padded);
  ASSERT_TRUE(c.ok() && d.ok());
  EXPECT_NEAR(d->speech_s - c->speech_s, 4.0, 0.01);  // without VAD all samples count
  EXPECT_LT(Score(c->vector, d->vector), trimmed_score);
}

TEST(EmbedderTest, SilenceAndTooLittleSpeechAreUnusable) {
  auto embedder = Make(Config());
  ASSERT_TRUE(embedder);
  auto silence = embedder->Embed(ReadF32("vad_silence.f32"));
  EXPECT_EQ(silence.status().code(), StatusCode::kUnusable);
  EXPECT_NE(silence.status().message().find("no speech"), std::string::npos);

  EmbedderConfig strict = Config();
  strict.min_speech_s = 30.0;
  auto short_speech = Make(strict)->Embed(ReadF32("vad_speech.f32"));
  EXPECT_EQ(short_speech.status().code(), StatusCode::kUnusable);
  EXPECT_NE(short_speech.status().message().find("too little speech"), std::string::npos);

  EXPECT_EQ(embedder->Embed(audio::AudioClip{}).status().code(), StatusCode::kInvalidArgument);
}

TEST(EmbedderTest, MaxSpeechCutsAndWindowsCoverLongSpeech) {
  EmbedderConfig cut = Config();
  cut.max_speech_s = 2.0;
  auto e = Make(cut)->Embed(ReadF32("vad_speech.f32"));
  ASSERT_TRUE(e.ok());
  EXPECT_DOUBLE_EQ(e->speech_s, 2.0);

  // Speech longer than one window: three copies of the utterance, windows of 4 s with 1 s overlap.
  audio::AudioClip plain = ReadF32("vad_speech.f32"), triple;
  for (int i = 0; i < 3; ++i) {
    triple.samples.insert(triple.samples.end(), plain.samples.begin(), plain.samples.end());
  }
  EmbedderConfig windowed = Config();
  windowed.use_vad = false;
  windowed.window_s = 4.0;
  windowed.window_overlap_s = 1.0;
  auto w = Make(windowed)->Embed(triple);
  ASSERT_TRUE(w.ok());
  EXPECT_NEAR(w->speech_s, 3 * plain.DurationS(), 1e-6);
  // Averaging windows over a repeated signal lands close to one pass over a single copy.
  EmbedderConfig one_window = windowed;
  one_window.window_s = 60.0;
  auto single = Make(one_window)->Embed(plain);
  ASSERT_TRUE(single.ok());
  EXPECT_GT(Score(w->vector, single->vector), 0.9f);
}

TEST(EmbedderTest, OtherSampleRatesAreResampled) {
  auto embedder = Make(Config());
  audio::AudioClip clip = ReadF32("vad_speech.f32");
  audio::AudioClip narrow;
  narrow.sample_rate_hz = 8000;
  for (size_t i = 0; i < clip.samples.size(); i += 2) narrow.samples.push_back(clip.samples[i]);
  auto e = embedder->Embed(narrow);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_GT(e->speech_s, 7.0);
}

TEST(EmbedderTest, ConcurrentCallsGiveIdenticalResults) {
  auto embedder = Make(Config());
  const auto clip = ReadF32("vad_speech.f32");
  auto reference = embedder->Embed(clip);
  ASSERT_TRUE(reference.ok());
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        auto e = embedder->Embed(clip);
        if (!e.ok() || e->vector != reference->vector) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(EmbedderTest, ConfigValidation) {
  EmbedderConfig c = Config();
  c.window_overlap_s = c.window_s;
  EXPECT_FALSE(c.Validate().ok());
  c = Config();
  c.max_speech_s = -1;
  EXPECT_FALSE(c.Validate().ok());
  c = Config();
  c.model.model_path = "/nonexistent.onnx";
  EXPECT_EQ(Embedder::Create(c).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace voxgate::voiceprint
