#include "stream/live_audio_input.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "audio/audio_decoder.h"
#include "stream/broadcast_session.h"
#include "stream/loudness_envelope.h"
#include "stream/speech_track.h"
#include "test_util.h"

namespace voxgate::stream {
namespace {

std::vector<float> Ramp(size_t n, float start) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + static_cast<float>(i) * 1e-4f;
  return v;
}

TEST(LiveAudioInputTest, WaitsForItsCushionThenPlaysInOrderAndMixes) {
  LiveAudioInput in("call", 16000, /*prebuffer_ms=*/20, /*max_latency_ms=*/200);  // 320 samples
  const std::vector<float> a = Ramp(160, 0.1f);
  ASSERT_TRUE(in.Push(a));
  std::vector<float> out(160, 0.5f);
  EXPECT_EQ(in.MixInto(out), 0u);  // 160 < 320 queued: still buffering
  for (float x : out) EXPECT_EQ(x, 0.5f);
  const std::vector<float> b = Ramp(160, 0.2f);
  ASSERT_TRUE(in.Push(b));
  EXPECT_EQ(in.MixInto(out), 160u);
  for (size_t i = 0; i < 160; ++i) EXPECT_FLOAT_EQ(out[i], 0.5f + a[i]);  // added, in order
  std::fill(out.begin(), out.end(), 0.0f);
  EXPECT_EQ(in.MixInto(out), 160u);
  for (size_t i = 0; i < 160; ++i) EXPECT_FLOAT_EQ(out[i], b[i]);
  EXPECT_EQ(in.underruns(), 0);
  EXPECT_EQ(in.samples_in(), 320);
  EXPECT_EQ(in.samples_out(), 320);
}

TEST(LiveAudioInputTest, UnderrunRebuffersAndLatencyIsBounded) {
  LiveAudioInput in("ws", 16000, 20, 100);  // cushion 320, bound 1600 samples
  ASSERT_TRUE(in.Push(Ramp(400, 0.0f)));
  std::vector<float> out(320, 0.0f);
  EXPECT_EQ(in.MixInto(out), 320u);
  EXPECT_EQ(in.MixInto(out), 80u);  // ran dry part way: counted, and it buffers again
  EXPECT_EQ(in.underruns(), 1);
  ASSERT_TRUE(in.Push(Ramp(100, 0.0f)));
  EXPECT_EQ(in.MixInto(out), 0u);  // under the cushion again

  // A producer far ahead of the consumer: the oldest audio is skipped down to the cushion.
  ASSERT_TRUE(in.Push(Ramp(2000, 0.0f)));
  EXPECT_EQ(in.MixInto(out), 320u);
  EXPECT_EQ(in.skipped_samples(), 2100 - 320);

  // More than the ring holds is refused and counted, never blocks.
  EXPECT_FALSE(in.Push(std::vector<float>(10000, 0.0f)));
  EXPECT_GT(in.overflow_samples(), 0);
}

TEST(LiveAudioInputTest, AClosedInputPlaysOutWhatIsLeft) {
  LiveAudioInput in("call", 16000, 100, 400);
  ASSERT_TRUE(in.Push(Ramp(50, 0.3f)));
  in.Close();
  std::vector<float> out(320, 0.0f);
  EXPECT_EQ(in.MixInto(out), 50u);  // below the cushion, but the producer is gone
  EXPECT_TRUE(in.drained());
  EXPECT_EQ(in.underruns(), 0);  // the end of a source is not an underrun
}

std::string TempFlv(const std::string& tag) {
  return (std::filesystem::temp_directory_path() /
          ("voxgate_live_" + tag + "_" + std::to_string(getpid()) + ".flv"))
      .string();
}

TEST(BroadcastLiveInputTest, LiveSpeechPushedInRealTimeIsWhatTheStreamCarries) {
  auto clip = audio::DecodeFile(voxgate::testing::DevSetUtterance("1688-142285", 0), {});
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  const size_t n = std::min<size_t>(clip->samples.size(), 16000 * 6);  // 6 s of read speech
  const std::string path = TempFlv("mix");
  BroadcastSessionConfig c;
  c.output = *BroadcastConfig::FromPreset("mobile");
  c.output.url = "file:" + path;
  c.output.encoder_threads = 1;
  c.max_duration_s = 8;
  auto session = BroadcastSession::Start(c);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  (*session)->SetPresenterName("Caller 1688");
  EXPECT_EQ((*session)->presenter_name(), "Caller 1688");
  std::shared_ptr<LiveAudioInput> in = (*session)->AddLiveInput("session-1");
  EXPECT_EQ((*session)->stats().live_inputs, 1);
  // The producer: 20 ms frames at the pace a live session delivers them.
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0, k = 0; i < n; i += 320, ++k) {
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(20 * k));
    in->Push(std::span<const float>(clip->samples.data() + i, std::min<size_t>(320, n - i)));
  }
  in->Close();
  ASSERT_TRUE((*session)->Wait().ok());
  const BroadcastStats st = (*session)->stats();
  EXPECT_EQ(in->samples_out(), static_cast<int64_t>(n));  // every sample reached the mix
  EXPECT_EQ(in->skipped_samples(), 0);

  // Read the stream back: its audio follows the pushed speech, within the live cushion.
  const std::string wav = path + ".wav";
  const std::string cmd = "ffmpeg -v error -y -i " + path + " -vn -ac 1 -ar 16000 " + wav;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto back = audio::DecodeFile(wav, {});
  std::filesystem::remove(wav);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  const std::vector<float> sent =
      voxgate::testing::Levels(std::span<const float>(clip->samples.data(), n), 1600);
  const std::vector<float> got = voxgate::testing::Levels(back->samples, 1600);  // 100 ms blocks
  const double r = voxgate::testing::BestCorrelation(sent, got, 15);
  EXPECT_GT(r, 0.8) << "envelope correlation " << r << " underruns " << st.live_underruns;
  std::filesystem::remove(path);
}

TEST(BroadcastLiveInputTest, ExternalPicturesAreWhatTheStreamShows) {
  const std::string path = TempFlv("ext");
  BroadcastSessionConfig c;
  c.output = *BroadcastConfig::FromPreset("mobile");  // 640x360
  c.output.url = "file:" + path;
  c.output.encoder_threads = 1;
  c.video_source = "external";
  c.max_duration_s = 3;
  auto session = BroadcastSession::Start(c);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::vector<uint8_t> red(640 * 360 * 4);
  for (size_t i = 0; i < red.size(); i += 4) {
    red[i] = 0;        // B
    red[i + 1] = 0;    // G
    red[i + 2] = 230;  // R
    red[i + 3] = 255;
  }
  EXPECT_EQ((*session)->PushVideoFrame(std::span<const uint8_t>(red.data(), 100)).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE((*session)->PushVideoFrame(red).ok());
  ASSERT_TRUE((*session)->Wait().ok());
  EXPECT_EQ((*session)->stats().external_frames, 1);
  // The last picture of the stream, as raw RGB: the pushed red.
  const std::string raw = path + ".rgb";
  const std::string cmd = "ffmpeg -v error -y -sseof -0.5 -i " + path +
                          " -frames:v 1 -f rawvideo -pix_fmt rgb24 " + raw;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::FILE* f = std::fopen(raw.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::vector<uint8_t> rgb(640 * 360 * 3);
  ASSERT_EQ(std::fread(rgb.data(), 1, rgb.size(), f), rgb.size());
  std::fclose(f);
  double r = 0, g = 0, b = 0;
  for (size_t i = 0; i < rgb.size(); i += 3) {
    r += rgb[i];
    g += rgb[i + 1];
    b += rgb[i + 2];
  }
  const double px = 640.0 * 360.0;
  EXPECT_GT(r / px, 200);
  EXPECT_LT(g / px, 40);
  EXPECT_LT(b / px, 40);
  std::filesystem::remove(path);
  std::filesystem::remove(raw);

  // A presenter broadcast draws its own pictures.
  BroadcastSessionConfig p;
  p.output.url = "file:/dev/null";
  p.realtime = false;
  p.max_duration_s = 0.2;
  auto presenter = BroadcastSession::Start(p);
  ASSERT_TRUE(presenter.ok());
  EXPECT_EQ((*presenter)->PushVideoFrame(red).code(), StatusCode::kUnusable);
  (*presenter)->Stop();
  p.video_source = "avatar";
  EXPECT_EQ(BroadcastSession::Start(p).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace voxgate::stream
