#include "stream/broadcast_session.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "audio/audio_decoder.h"
#include "stream/broadcast_config.h"
#include "stream/speech_track.h"
#include "test_util.h"

namespace voxgate::stream {
namespace {

using voxgate::testing::RunCommand;

TEST(SpeechTrackTest, SchedulesSpeechWithCaptionsAndMouth) {
  auto synth = audio::SpeechSynth::Create({});
  ASSERT_TRUE(synth.ok()) << synth.status().ToString();
  const std::string text = "Hello world from the presenter";
  auto speech = (*synth)->Synthesize(text, 16000);
  ASSERT_TRUE(speech.ok());
  auto seg = SpeechSegment::FromSynth(*speech, text);
  // espeak-ng may speak a function word with its neighbour as one word event ("from the").
  ASSERT_GE(seg->words.size(), 4u);
  EXPECT_EQ(seg->words.front().text, "Hello");
  EXPECT_EQ(seg->words.back().text, "presenter");
  std::vector<std::string> expected;
  for (const auto& w : seg->words) expected.push_back(w.text);

  SpeechTrack track(16000, 4800);
  EXPECT_EQ(track.Append(seg, 1000), 5800);  // lead: 0.3 s after now
  const int64_t second = track.Append(seg, 1000);
  EXPECT_EQ(second, 5800 + int64_t(seg->clip.samples.size()));  // queued after the first

  std::vector<float> chunk(320);
  track.Fill(0, chunk);
  for (float v : chunk) EXPECT_EQ(v, 0.0f);  // before the speech: silence
  track.Fill(5800 + 3200, chunk);
  for (int i = 0; i < 320; ++i) EXPECT_EQ(chunk[i], seg->clip.samples[3200 + i]);

  // Over the first segment the caption walks through the words in order and the mouth moves.
  TrackState st;
  std::vector<std::string> seen;
  float max_open = 0, min_open = 1;
  for (int64_t t = 5800; t < second; t += 160) {
    track.StateAt(t, &st);
    EXPECT_TRUE(st.speaking);
    if (!st.caption.empty() && (seen.empty() || seen.back() != st.caption)) {
      seen.push_back(st.caption);
    }
    max_open = std::max(max_open, st.mouth_open);
    min_open = std::min(min_open, st.mouth_open);
  }
  EXPECT_EQ(seen, expected);
  EXPECT_GT(max_open, 0.5f);
  EXPECT_LT(min_open, 0.1f);
  track.StateAt(100, &st);
  EXPECT_FALSE(st.speaking);
  EXPECT_EQ(st.mouth_open, 0.0f);
}

TEST(BroadcastSessionTest, FlatOutToFileKeepsSyncAndDropsNothing) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("voxgate_bcast_" + std::to_string(getpid()) + ".flv"))
                               .string();
  BroadcastSessionConfig c;
  c.output.url = "file:" + path;
  c.output.encoder_threads = 1;
  c.realtime = false;
  c.stop_when_idle = true;
  c.presenter_name = "Ada";
  auto session = BroadcastSession::Start(c);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  ASSERT_TRUE((*session)->Say("Good evening. This is a short test of the presenter.").ok());
  ASSERT_TRUE((*session)->Wait().ok());
  const BroadcastStats st = (*session)->stats();
  EXPECT_EQ(st.state, "stopped");
  EXPECT_GT(st.stream_time_s, 2.0);
  EXPECT_EQ(st.frames_dropped, 0);
  EXPECT_EQ(st.frames_repeated, 0);
  EXPECT_EQ(st.queue_drops, 0);
  EXPECT_GT(st.drift_ms, 0);
  EXPECT_LE(st.drift_ms, 40.0 + 1e-6);
  EXPECT_LE(std::abs(st.written_drift_ms), 40.0 + 1) << st.written_drift_ms;
  EXPECT_GT(st.bytes_sent, 20000);
  const std::string streams = RunCommand(
      "ffprobe -v error -show_entries stream=codec_name,width,height,avg_frame_rate -of compact " +
      path + " 2>&1");
  EXPECT_NE(streams.find("codec_name=h264|width=960|height=540|avg_frame_rate=25/1"),
            std::string::npos)
      << streams;
  EXPECT_NE(streams.find("codec_name=aac"), std::string::npos) << streams;
  std::filesystem::remove(path);
}

TEST(BroadcastSessionTest, PlaysARecordingWithTheMouthOnItsEnvelope) {
  const std::string speech =
      voxgate::testing::DevSetUtterance("1688-142285", 0);  // LibriSpeech FLAC
  auto clip = audio::DecodeFile(speech, {});
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  auto seg = SpeechSegment::FromClip(*clip);
  EXPECT_TRUE(seg->visemes.empty());
  EXPECT_TRUE(seg->words.empty());
  SpeechTrack track(16000, 0);
  ASSERT_EQ(track.Append(seg, 0), 0);
  TrackState st;
  int open_frames = 0, frames = 0;
  for (int64_t t = 0; t < int64_t(clip->samples.size()); t += 640) {
    track.StateAt(t, &st);
    EXPECT_EQ(st.mouth_open, st.level);
    open_frames += st.mouth_open > 0.3f;
    ++frames;
  }
  // Read speech: the mouth is open for much of it, and closed in the pauses.
  EXPECT_GT(open_frames, frames / 4);
  EXPECT_LT(open_frames, frames);

  const std::string path = (std::filesystem::temp_directory_path() /
                            ("voxgate_bcast_file_" + std::to_string(getpid()) + ".flv"))
                               .string();
  BroadcastSessionConfig c;
  c.output = *BroadcastConfig::FromPreset("mobile");
  c.output.url = "file:" + path;
  c.output.encoder_threads = 1;
  c.realtime = false;
  c.stop_when_idle = true;
  auto session = BroadcastSession::Start(c);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto start_s = (*session)->PlayFile(speech);
  ASSERT_TRUE(start_s.ok()) << start_s.status().ToString();
  ASSERT_TRUE((*session)->Wait().ok());
  const BroadcastStats bs = (*session)->stats();
  // The clock stopped at the end of the recording (to the 20 ms chunk).
  EXPECT_GE(*start_s, c.lead_ms / 1000);
  EXPECT_NEAR(bs.stream_time_s, *start_s + clip->DurationS(), 0.02 + 1e-6);
  EXPECT_EQ(bs.frames_dropped + bs.frames_repeated + bs.queue_drops, 0);
  EXPECT_EQ((*session)->PlayFile(speech).status().code(), StatusCode::kUnavailable);  // ended
  std::filesystem::remove(path);
}

TEST(BroadcastSessionTest, RefusesOversizedTextAndBadConfig) {
  BroadcastSessionConfig c;
  c.output.url = "file:/dev/null";
  c.realtime = false;
  c.max_duration_s = 0.2;
  auto session = BroadcastSession::Start(c);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const std::string huge(1 << 20, 'a');
  Status s = (*session)->Say(huge).status();
  EXPECT_EQ(s.code(), StatusCode::kTooLarge) << s.ToString();
  (*session)->Stop();

  c.output.url = "rtmp://host/live/SECRETKEY";
  c.chunk_ms = 7;  // 112 samples at 16 kHz: fine; at 44.1 kHz not whole
  c.audio_rate_hz = 44100;
  auto bad = BroadcastSession::Start(c);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("chunk_ms"), std::string::npos);
}

}  // namespace
}  // namespace voxgate::stream
