// The synthesised voice is speech to the pipeline: Silero VAD (weights/silero_vad.onnx) finds it,
// where the word timings say it is. (Lives in tests/dsp: dsp sits above audio.)
#include <gtest/gtest.h>

#include <vector>

#include "audio/speech_synth.h"
#include "dsp/silero_vad.h"

namespace voxgate::dsp {
namespace {

TEST(SpeechSynthVadTest, SileroFindsSynthesisedSpeech) {
  auto synth = audio::SpeechSynth::Create({});
  ASSERT_TRUE(synth.ok()) << synth.status().ToString();
  auto r = (*synth)->Synthesize("Please say your pass phrase after the tone", 16000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Half a second of silence either side, as a prompt would be played.
  std::vector<float> audio(8000, 0.0f);
  audio.insert(audio.end(), r->clip.samples.begin(), r->clip.samples.end());
  audio.resize(audio.size() + 8000, 0.0f);

  auto vad = SileroVad::Create({});
  ASSERT_TRUE(vad.ok()) << vad.status().ToString();
  auto segments = (*vad)->Detect(audio);
  ASSERT_TRUE(segments.ok()) << segments.status().ToString();
  ASSERT_FALSE(segments->empty()) << "no speech found in the synthesised prompt";

  int64_t speech = 0;
  for (const auto& s : *segments) speech += s.end_sample - s.start_sample;
  const auto clip_len = static_cast<int64_t>(r->clip.samples.size());
  EXPECT_GT(speech, clip_len * 6 / 10) << "most of the prompt should count as speech";
  // Speech starts near the first word and ends near the end of the prompt, not in the silence.
  int64_t first_word = -1;
  for (const auto& e : r->events) {
    if (e.kind == audio::SynthEvent::Kind::kWord) {
      first_word = e.sample;
      break;
    }
  }
  ASSERT_GE(first_word, 0);
  EXPECT_NEAR(static_cast<double>(segments->front().start_sample),
              static_cast<double>(8000 + first_word), 0.25 * 16000);
  EXPECT_LE(segments->back().end_sample, 8000 + clip_len + 0.25 * 16000);
  EXPECT_GE(segments->front().start_sample, 8000 - 0.1 * 16000);
}

}  // namespace
}  // namespace voxgate::dsp
