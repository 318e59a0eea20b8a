// PromptLibrary with the real espeak-ng: every prompt at the G.711 and Opus send rates, the tone
// that ends the prompts asking the caller to speak, and the text checks.
#include "telephony/prompt_library.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

namespace voxgate::telephony {
namespace {

constexpr Prompt kAll[] = {Prompt::kVerifyIntro,  Prompt::kVerified,    Prompt::kRejected,
                           Prompt::kInconclusive, Prompt::kEnrollIntro, Prompt::kEnrolled,
                           Prompt::kEnrollFailed};
static_assert(std::size(kAll) == kPromptCount);

bool IsIntro(Prompt p) { return p == Prompt::kVerifyIntro || p == Prompt::kEnrollIntro; }

double Rms(std::span<const float> x) {
  double s = 0;
  for (float v : x) s += static_cast<double>(v) * v;
  return x.empty() ? 0.0 : std::sqrt(s / static_cast<double>(x.size()));
}

// Share of the signal's energy at `hz` (Goertzel, normalised so a pure tone at a bin centre gives
// about 1).
double ToneShare(std::span<const float> x, double hz, int rate_hz) {
  const double w = 2.0 * std::numbers::pi * hz / rate_hz;
  const double coeff = 2.0 * std::cos(w);
  double s1 = 0, s2 = 0, energy = 0;
  for (float v : x) {
    const double s0 = v + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
    energy += static_cast<double>(v) * v;
  }
  const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;  // |X(hz)|^2
  const double n = static_cast<double>(x.size());
  return energy > 0 ? 2.0 * power / (n * energy) : 0.0;
}

int Words(const std::string& text) {
  std::istringstream in(text);
  int n = 0;
  for (std::string w; in >> w;) ++n;
  return n;
}

class PromptLibraryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto lib = PromptLibrary::Create(PromptTexts{}, audio::SynthConfig{}, {8000, 16000, 8000});
    ASSERT_TRUE(lib.ok()) << lib.status().ToString();
    library_ = *lib;
  }
  static void TearDownTestSuite() { library_.reset(); }
  static std::shared_ptr<const PromptLibrary> library_;
};
std::shared_ptr<const PromptLibrary> PromptLibraryTest::library_;

TEST_F(PromptLibraryTest, EveryPromptIsSpokenAtBothRates) {
  ASSERT_NE(library_, nullptr);
  const PromptTexts texts;
  for (Prompt p : kAll) {
    SCOPED_TRACE(texts.Text(p));
    double duration_8k = 0;
    for (int rate : {8000, 16000}) {
      SCOPED_TRACE(rate);
      const std::span<const float> audio = library_->Get(p, rate);
      ASSERT_FALSE(audio.empty());
      // espeak-ng speaks up to full scale and resampling overshoots it a little (measured up
      // to 1.011); the encoders clamp. A gain error would be far beyond this.
      for (float v : audio) ASSERT_TRUE(std::isfinite(v) && std::abs(v) <= 1.1f) << v;
      EXPECT_GT(Rms(audio), 0.01);  // speech, not silence
      // At 160 words a minute each word takes about 0.375 s; allow half to twice that, plus the
      // tone (0.7 s with its gap) and pauses at the punctuation.
      const double duration = static_cast<double>(audio.size()) / rate;
      const double words_s = Words(texts.Text(p)) * 60.0 / 160.0;
      const double extra = IsIntro(p) ? 0.7 : 0.0;
      EXPECT_GT(duration, 0.5 * words_s + extra) << duration;
      EXPECT_LT(duration, 2.0 * words_s + extra + 1.0) << duration;
      if (rate == 8000) {
        duration_8k = duration;
      } else {
        // The same speech at both rates. espeak-ng's own output varies by a few tens of ms from
        // one call to the next (measured up to 55 ms on these texts), so this is not exact.
        EXPECT_NEAR(duration, duration_8k, 0.1);
      }
    }
  }
  // The prompts differ from one another.
  for (Prompt a : kAll) {
    for (Prompt b : kAll) {
      if (a == b) continue;
      const auto x = library_->Get(a, 8000);
      const auto y = library_->Get(b, 8000);
      EXPECT_FALSE(x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin()));
    }
  }
}

TEST_F(PromptLibraryTest, UnrenderedRateIsEmpty) {
  ASSERT_NE(library_, nullptr);
  for (int rate : {0, -8000, 12000, 24000, 44100, 48000}) {
    for (Prompt p : kAll) EXPECT_TRUE(library_->Get(p, rate).empty()) << rate;
  }
}

TEST_F(PromptLibraryTest, IntroPromptsEndWithAOneKilohertzTone) {
  ASSERT_NE(library_, nullptr);
  for (int rate : {8000, 16000}) {
    for (Prompt p : kAll) {
      SCOPED_TRACE(::testing::Message() << "prompt " << static_cast<int>(p) << " at " << rate);
      const std::span<const float> audio = library_->Get(p, rate);
      const size_t tail_n = static_cast<size_t>(0.3 * rate);
      ASSERT_GT(audio.size(), tail_n);
      const std::span<const float> tail = audio.last(tail_n);
      const double share = ToneShare(tail, 1000.0, rate);
      const double level = Rms(tail);
      if (IsIntro(p)) {
        // An audible tone, and nearly all of the tail's energy is at 1 kHz (not at 900 or 1100).
        EXPECT_GT(level, 0.1) << level;
        EXPECT_GT(share, 0.9) << share;
        EXPECT_LT(ToneShare(tail, 900.0, rate), 0.1);
        EXPECT_LT(ToneShare(tail, 1100.0, rate), 0.1);
        // The tone is on its own after the words: the 0.1 s before the tone's last 0.4 s holds
        // no speech.
        const size_t tone_n = static_cast<size_t>(0.4 * rate);
        const std::span<const float> gap =
            audio.subspan(audio.size() - tone_n - static_cast<size_t>(0.1 * rate),
                          static_cast<size_t>(0.1 * rate));
        EXPECT_LT(Rms(gap), 0.01);
      } else {
        EXPECT_FALSE(level > 0.1 && share > 0.9) << "level " << level << " share " << share;
      }
    }
  }
}

TEST(PromptTextsTest, DefaultsValidateAndMapToPrompts) {
  PromptTexts t;
  EXPECT_TRUE(t.Validate().ok()) << t.Validate().ToString();
  EXPECT_EQ(&t.Text(Prompt::kVerifyIntro), &t.verify_intro);
  EXPECT_EQ(&t.Text(Prompt::kVerified), &t.verified);
  EXPECT_EQ(&t.Text(Prompt::kRejected), &t.rejected);
  EXPECT_EQ(&t.Text(Prompt::kInconclusive), &t.inconclusive);
  EXPECT_EQ(&t.Text(Prompt::kEnrollIntro), &t.enroll_intro);
  EXPECT_EQ(&t.Text(Prompt::kEnrolled), &t.enrolled);
  EXPECT_EQ(&t.Text(Prompt::kEnrollFailed), &t.enroll_failed);
  // The intros tell the caller about the tone the library appends.
  EXPECT_NE(t.verify_intro.find("tone"), std::string::npos);
  EXPECT_NE(t.enroll_intro.find("tone"), std::string::npos);
  const std::string s = t.ToString();
  EXPECT_NE(s.find("verified=\"Thank you. Your voice is verified. Goodbye.\""), std::string::npos)
      << s;
}

TEST(PromptTextsTest, BlankOrOverlongTextIsRefused) {
  for (const char* blank : {"", " ", "\t\r\n  "}) {
    PromptTexts t;
    t.rejected = blank;
    const Status s = t.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("prompts.rejected"), std::string::npos) << s.message();
    // Create checks the texts before starting espeak-ng.
    auto lib = PromptLibrary::Create(t, audio::SynthConfig{}, {8000});
    ASSERT_FALSE(lib.ok());
    EXPECT_EQ(lib.status().code(), StatusCode::kInvalidArgument);
  }
  PromptTexts t;
  t.enroll_failed = std::string(1000, 'a');
  EXPECT_TRUE(t.Validate().ok());
  t.enroll_failed.push_back('a');
  const Status s = t.Validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("prompts.enroll_failed"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("1000"), std::string::npos) << s.message();
}

TEST(PromptTextsTest, LoadsFromYaml) {
  auto root = ConfigNode::Parse(R"(
prompts:
  verified: "Welcome back."
  enroll_intro: "Talk to us after the tone."
)");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  PromptTexts t;
  ASSERT_TRUE(t.Load(root->Child("prompts")).ok());
  EXPECT_EQ(t.verified, "Welcome back.");
  EXPECT_EQ(t.enroll_intro, "Talk to us after the tone.");
  EXPECT_EQ(t.rejected, PromptTexts().rejected);  // absent keys keep their defaults

  auto blank = ConfigNode::Parse("prompts:\n  inconclusive: \"  \"\n");
  ASSERT_TRUE(blank.ok());
  PromptTexts b;
  const Status s = b.Load(blank->Child("prompts"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("prompts.inconclusive"), std::string::npos) << s.message();
}

TEST(PromptLibraryCreateTest, CustomTextsAndErrors) {
  PromptTexts t;
  t.verified = "OK.";
  t.rejected = "Sorry, we could not verify your voice today. Please call again later. Goodbye.";
  auto lib = PromptLibrary::Create(t, audio::SynthConfig{}, {16000});
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  const auto ok = (*lib)->Get(Prompt::kVerified, 16000);
  const auto rejected = (*lib)->Get(Prompt::kRejected, 16000);
  ASSERT_FALSE(ok.empty());
  EXPECT_LT(ok.size() * 4, rejected.size());  // two words against thirteen
  EXPECT_TRUE((*lib)->Get(Prompt::kVerified, 8000).empty());

  // A rate espeak-ng's output cannot be resampled to, and a voice it does not have.
  auto bad_rate = PromptLibrary::Create(PromptTexts{}, audio::SynthConfig{}, {4000});
  EXPECT_FALSE(bad_rate.ok());
  audio::SynthConfig voice;
  voice.voice = "xx-nosuchvoice";
  auto bad_voice = PromptLibrary::Create(PromptTexts{}, voice, {8000});
  ASSERT_FALSE(bad_voice.ok());
  EXPECT_EQ(bad_voice.status().code(), StatusCode::kInvalidArgument)
      << bad_voice.status().ToString();

  // No rates: nothing rendered, nothing to get.
  auto none = PromptLibrary::Create(PromptTexts{}, audio::SynthConfig{}, {});
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE((*none)->Get(Prompt::kVerifyIntro, 8000).empty());
}

}  // namespace
}  // namespace voxgate::telephony
