// SpeechSynth (espeak-ng): audio, word/phoneme timings, input checks and concurrent use.
#include "audio/speech_synth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "signal_metrics.h"

namespace voxgate::audio {
namespace {

using testing::Rms;
using Kind = SynthEvent::Kind;

constexpr char kPrompt[] = "Please say your pass phrase after the tone";

std::shared_ptr<SpeechSynth> MakeSynth(const SynthConfig& config = {}) {
  auto s = SpeechSynth::Create(config);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : nullptr;
}

std::vector<SynthEvent> OfKind(const SynthResult& r, Kind kind) {
  std::vector<SynthEvent> out;
  std::copy_if(r.events.begin(), r.events.end(), std::back_inserter(out),
               [&](const SynthEvent& e) { return e.kind == kind; });
  return out;
}

std::vector<std::string> WordsOf(const SynthResult& r, std::string_view text) {
  std::vector<std::string> words;
  for (const auto& e : OfKind(r, Kind::kWord)) {
    words.emplace_back(
        text.substr(static_cast<size_t>(e.text_position), static_cast<size_t>(e.text_length)));
  }
  return words;
}

TEST(SynthConfigTest, ValidatesAndPrints) {
  SynthConfig c;
  EXPECT_TRUE(c.Validate().ok());
  EXPECT_EQ(c.ToString(),
            "SynthConfig(voice=\"en-us\", rate_wpm=160, pitch=50, max_text_chars=20000, "
            "data_path=\"\")");
  for (const char* voice : {"", "../../etc/passwd", "en us", "en/us", "en-us;rm"}) {
    SynthConfig b;
    b.voice = voice;
    EXPECT_EQ(b.Validate().code(), StatusCode::kInvalidArgument) << voice;
  }
  SynthConfig b;
  b.rate_wpm = 79;
  EXPECT_EQ(b.Validate().code(), StatusCode::kInvalidArgument);
  b.rate_wpm = 451;
  EXPECT_EQ(b.Validate().code(), StatusCode::kInvalidArgument);
  b = {};
  b.pitch = 101;
  EXPECT_EQ(b.Validate().code(), StatusCode::kInvalidArgument);
  b = {};
  b.max_text_chars = 0;
  EXPECT_EQ(b.Validate().code(), StatusCode::kInvalidArgument);
  c.voice = "en-us+f3";
  EXPECT_TRUE(c.Validate().ok());
}

TEST(SpeechSynthTest, CreateRefusesMissingDataAndUnknownVoice) {
  SynthConfig c;
  c.data_path = "/nonexistent/espeak";
  auto s = SpeechSynth::Create(c);
  ASSERT_FALSE(s.ok());
  // kNotFound when this is the process's first SpeechSynth (as in a full run of this binary, where
  // this test comes first), else a clash with the data already in use; the message names the path.
  EXPECT_TRUE(s.status().code() == StatusCode::kNotFound ||
              s.status().code() == StatusCode::kInvalidArgument)
      << s.status().ToString();
  EXPECT_NE(s.status().message().find("/nonexistent/espeak"), std::string::npos);

  c = {};
  c.voice = "xx-nosuchvoice";
  s = SpeechSynth::Create(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("xx-nosuchvoice"), std::string::npos);
  // A good config still works after those failures.
  EXPECT_TRUE(SpeechSynth::Create({}).ok());
}

// The verification prompt: 1.5-6 s of audible speech at 16 kHz, a word event for each word in
// text order at increasing positions inside the clip, phoneme events, and an end.
TEST(SpeechSynthTest, SpeaksThePromptWithTimings) {
  auto synth = MakeSynth();
  ASSERT_NE(synth, nullptr);
  auto r = synth->Synthesize(kPrompt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->clip.sample_rate_hz, 16000);
  EXPECT_GE(r->clip.DurationS(), 1.5);
  EXPECT_LE(r->clip.DurationS(), 6.0);
  EXPECT_GT(Rms(r->clip.samples), 0.02);
  float peak = 0;
  for (float v : r->clip.samples) peak = std::max(peak, std::abs(v));
  EXPECT_GT(peak, 0.2f);
  EXPECT_LE(peak, 1.0f);

  EXPECT_EQ(WordsOf(*r, kPrompt), (std::vector<std::string>{"Please", "say", "your", "pass",
                                                            "phrase", "after", "the", "tone"}));
  const auto words = OfKind(*r, Kind::kWord);
  const auto clip_len = static_cast<int64_t>(r->clip.samples.size());
  for (size_t i = 0; i < words.size(); ++i) {
    EXPECT_GE(words[i].sample, 0);
    EXPECT_LT(words[i].sample, clip_len);
    if (i > 0) {
      EXPECT_GT(words[i].sample, words[i - 1].sample) << "word " << i;
      EXPECT_GT(words[i].text_position, words[i - 1].text_position);
    }
  }
  // Words are spread over the speech, not bunched at one end.
  EXPECT_GT(words.back().sample, clip_len / 2);

  const auto phonemes = OfKind(*r, Kind::kPhoneme);
  EXPECT_GE(phonemes.size(), 20u);
  for (const auto& p : phonemes) {
    EXPECT_FALSE(p.phoneme.empty());
    EXPECT_LE(p.sample, clip_len);
  }
  // "Please" starts with /p/ and "tone" with /t/.
  EXPECT_EQ(phonemes.front().phoneme, "p");

  ASSERT_FALSE(r->events.empty());
  EXPECT_EQ(r->events.front().kind, Kind::kSentence);
  EXPECT_EQ(r->events.back().kind, Kind::kEnd);
  EXPECT_NEAR(static_cast<double>(r->events.back().sample), static_cast<double>(clip_len), 160.0);
  for (size_t i = 1; i < r->events.size(); ++i) {
    EXPECT_GE(r->events[i].sample, r->events[i - 1].sample) << "event " << i;
  }
}

// Positions are byte offsets into the UTF-8 text, whatever espeak-ng counts internally.
TEST(SpeechSynthTest, WordPositionsAreUtf8ByteOffsets) {
  auto synth = MakeSynth();
  ASSERT_NE(synth, nullptr);
  const std::string text = "Héllo wörld, ünïcode straße.";
  auto r = synth->Synthesize(text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(WordsOf(*r, text), (std::vector<std::string>{"Héllo", "wörld", "ünïcode", "straße"}));
}

TEST(SpeechSynthTest, RefusesBadText) {
  SynthConfig c;
  c.max_text_chars = 12;
  auto synth = MakeSynth(c);
  ASSERT_NE(synth, nullptr);
  EXPECT_EQ(synth->Synthesize("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(synth->Synthesize(" \t\n ").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(synth->Synthesize("ab\xC3\x28").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(synth->Synthesize("\xED\xA0\x80").status().code(), StatusCode::kInvalidArgument)
      << "a UTF-16 surrogate";
  EXPECT_EQ(synth->Synthesize("\xC0\xAF").status().code(), StatusCode::kInvalidArgument)
      << "an overlong '/'";
  EXPECT_EQ(synth->Synthesize(std::string_view("hi\0there", 8)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(synth->Synthesize("thirteen chrs").status().code(), StatusCode::kTooLarge);
  // The limit counts characters, not bytes: 12 two-byte letters fit.
  EXPECT_TRUE(synth->Synthesize("éééééééééééé").ok());
  for (int rate : {0, 7999, 48001}) {
    EXPECT_EQ(synth->Synthesize("hello", rate).status().code(), StatusCode::kInvalidArgument);
  }
}

// The clip and the event positions follow the requested output rate.
TEST(SpeechSynthTest, OutputRateScalesClipAndEvents) {
  auto synth = MakeSynth();
  ASSERT_NE(synth, nullptr);
  auto r16 = synth->Synthesize(kPrompt, 16000);
  auto r48 = synth->Synthesize(kPrompt, 48000);
  ASSERT_TRUE(r16.ok() && r48.ok());
  EXPECT_EQ(r48->clip.sample_rate_hz, 48000);
  // espeak-ng is not bit-exact from call to call (a few samples of jitter), hence the tolerance.
  EXPECT_NEAR(r48->clip.DurationS(), r16->clip.DurationS(), 0.005);
  const auto w16 = OfKind(*r16, Kind::kWord), w48 = OfKind(*r48, Kind::kWord);
  ASSERT_EQ(w16.size(), w48.size());
  for (size_t i = 0; i < w16.size(); ++i) {
    EXPECT_NEAR(static_cast<double>(w48[i].sample) / 48000.0,
                static_cast<double>(w16[i].sample) / 16000.0, 0.005);
  }
}

// Each SpeechSynth keeps its own voice settings even when calls alternate between them.
TEST(SpeechSynthTest, SettingsArePerObject) {
  SynthConfig fast_config;
  fast_config.rate_wpm = 320;
  auto slow = MakeSynth();
  auto fast = MakeSynth(fast_config);
  ASSERT_NE(slow, nullptr);
  ASSERT_NE(fast, nullptr);
  for (int round = 0; round < 2; ++round) {
    auto a = slow->Synthesize(kPrompt);
    auto b = fast->Synthesize(kPrompt);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_LT(b->clip.DurationS(), 0.7 * a->clip.DurationS()) << "round " << round;
  }
}

// Two threads synthesising different texts at once both get complete, correct results.
TEST(SpeechSynthTest, ConcurrentCallsAreSerialisedCorrectly) {
  auto synth = MakeSynth();
  ASSERT_NE(synth, nullptr);
  const std::string texts[2] = {kPrompt, "Your call may be recorded for quality and training"};
  SynthResult reference[2];
  for (int t = 0; t < 2; ++t) {
    auto r = synth->Synthesize(texts[t]);
    ASSERT_TRUE(r.ok());
    reference[t] = std::move(r).value();
  }
  constexpr int kRounds = 5;
  std::vector<SynthResult> got[2];
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        auto r = synth->Synthesize(texts[t]);
        if (r.ok()) got[t].push_back(std::move(r).value());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 2; ++t) {
    ASSERT_EQ(got[t].size(), static_cast<size_t>(kRounds)) << "thread " << t;
    for (const auto& r : got[t]) {
      EXPECT_NEAR(r.clip.DurationS(), reference[t].clip.DurationS(), 0.005) << "thread " << t;
      EXPECT_EQ(WordsOf(r, texts[t]), WordsOf(reference[t], texts[t])) << "thread " << t;
      EXPECT_EQ(OfKind(r, Kind::kPhoneme).size(), OfKind(reference[t], Kind::kPhoneme).size());
    }
  }
}

}  // namespace
}  // namespace voxgate::audio
