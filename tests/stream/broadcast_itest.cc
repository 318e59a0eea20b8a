// Live broadcast against a real RTMP server: nginx with Debian's libnginx-mod-rtmp on loopback,
// started by the test with a temporary config that records every published stream to FLV; the
// recording is read back with ffprobe.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "stream/broadcast_session.h"
#include "stream/nginx_rtmp.h"

namespace voxgate::stream {
namespace {

namespace fs = std::filesystem;

using namespace voxgate::testing::rtmp;  // NOLINT(google-build-using-namespace)

class BroadcastItest : public ::testing::Test {
 protected:
  void SetUp() override { VOXGATE_REQUIRE_PEER(Available(), "nginx with libnginx-mod-rtmp"); }
};

TEST_F(BroadcastItest, PushesH264AndAacInSyncToNginxRtmp) {
  NginxRtmp nginx;
  ASSERT_TRUE(nginx.Start()) << nginx.ErrorLog();
  BroadcastSessionConfig c;  // the default preset: 960x540@25, 2 Mbps, GOP 50
  c.output.url = nginx.Url();
  c.output.encoder_threads = 1;
  c.presenter_name = "Ada Lovelace";
  c.max_duration_s = 60;
  auto session = BroadcastSession::Start(c);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  ASSERT_TRUE((*session)
                  ->Say("Good evening, and welcome to the Voxgate live broadcast. The audio "
                        "clock drives the picture, so my mouth moves with my words.")
                  .ok());
  const Status done = (*session)->Wait();
  ASSERT_TRUE(done.ok()) << done.ToString();
  const BroadcastStats st = (*session)->stats();
  EXPECT_EQ(st.state, "stopped");
  EXPECT_NEAR(st.stream_time_s, 60.0, 0.05);
  EXPECT_EQ(st.frames_sent, 60 * 25 + 1);
  EXPECT_EQ(st.reconnects, 0);
  EXPECT_GT(st.bytes_sent, 60 * 2000 * 1000 / 8 / 2);  // CBR: at least half the target rate
  std::printf(
      "broadcast: sent=%lld dropped=%lld repeated=%lld queue_drops=%lld drift=%.1f ms "
      "written_drift=%.1f ms bytes=%lld\n",
      (long long)st.frames_sent, (long long)st.frames_dropped, (long long)st.frames_repeated,
      (long long)st.queue_drops, st.drift_ms, st.written_drift_ms, (long long)st.bytes_sent);
  nginx.Quit();  // closes the recording

  const fs::path rec = nginx.Recording();
  ASSERT_TRUE(fs::exists(rec)) << nginx.ErrorLog();
  const std::string streams = RunCommand(
      "ffprobe -v error -show_entries stream=codec_type,codec_name,width,height,sample_rate "
      "-of compact " +
      rec.string() + " 2>&1");
  EXPECT_NE(streams.find("codec_name=h264|codec_type=video|width=960|height=540"),
            std::string::npos)
      << streams;
  EXPECT_NE(streams.find("codec_name=aac|codec_type=audio|sample_rate=44100"), std::string::npos)
      << streams;

  const std::vector<Packet> packets = ReadPackets(rec);
  std::vector<const Packet*> video, audio;
  for (const Packet& p : packets) (p.video ? video : audio).push_back(&p);
  ASSERT_GT(video.size(), 1450u);
  ASSERT_GT(audio.size(), 2500u);  // 44.1 kHz AAC: 43 frames a second
  // Frame rate as asked: 25 fps over the recording.
  const double span = video.back()->pts_s - video.front()->pts_s;
  EXPECT_NEAR((video.size() - 1) / span, 25.0, 0.25) << video.size() << " frames in " << span;
  // Keyframe interval as asked: every 50 frames (2 s).
  std::vector<size_t> keys;
  for (size_t i = 0; i < video.size(); ++i) {
    if (video[i]->key) keys.push_back(i);
  }
  ASSERT_GE(keys.size(), 29u);
  for (size_t k = 1; k < keys.size(); ++k) EXPECT_EQ(keys[k] - keys[k - 1], 50u) << k;
  // A/V drift at the end within one frame duration (40 ms): end of the last video frame against
  // the end of the last audio frame.
  const double video_end = video.back()->pts_s + 0.040;
  const double audio_end = audio.back()->pts_s + audio.back()->duration_s;
  EXPECT_LE(std::abs(video_end - audio_end), 0.040 + 1e-3)
      << "video ends " << video_end << " s, audio " << audio_end << " s";
  EXPECT_LE(std::abs(st.drift_ms), 40.0 + 1e-6);
}

TEST_F(BroadcastItest, NoServerFailsClearlyAfterTheAttemptsWithoutTheKey) {
  BroadcastSessionConfig c;
  c.output.url = "rtmp://127.0.0.1:" + std::to_string(FreePort()) + "/live/" + kKey;
  c.output.reconnect_backoff_s = 0.1;
  const auto t0 = std::chrono::steady_clock::now();
  auto session = BroadcastSession::Start(c);
  const double waited_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(session.ok());
  const Status& s = session.status();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("failed after 3 attempt(s)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("/live/***"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find(kKey), std::string::npos) << s.message();
  EXPECT_EQ(s.ToString().find(kKey), std::string::npos);
  EXPECT_EQ(c.ToString().find(kKey), std::string::npos);
  EXPECT_GE(waited_s, 0.1 + 0.2);  // the backoff was honoured: 0.1 s, then 0.2 s
}

TEST_F(BroadcastItest, ReconnectsWhenTheServerComesBack) {
  NginxRtmp nginx;
  ASSERT_TRUE(nginx.Start()) << nginx.ErrorLog();
  BroadcastSessionConfig c;
  c.output = *BroadcastConfig::FromPreset("mobile");
  // The key from the environment this time: the URL in the config has none.
  setenv("VOXGATE_ITEST_STREAM_KEY", kKey, 1);
  c.output.url = nginx.AppUrl();
  c.output.stream_key_env = "VOXGATE_ITEST_STREAM_KEY";
  c.output.encoder_threads = 1;
  c.output.reconnect_backoff_s = 0.5;
  c.output.connect_timeout_s = 2;
  c.max_duration_s = 8;
  auto session = BroadcastSession::Start(c);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  ASSERT_TRUE((*session)->Say("One two three four five six seven eight nine ten.").ok());
  std::this_thread::sleep_for(std::chrono::seconds(3));
  nginx.Kill();  // the server dies mid-stream
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(nginx.Start());
  const Status done = (*session)->Wait();
  const BroadcastStats st = (*session)->stats();
  EXPECT_TRUE(done.ok()) << done.ToString();
  EXPECT_EQ(st.reconnects, 1) << st.error;
  EXPECT_EQ(st.state, "stopped");
  EXPECT_NEAR(st.stream_time_s, 8.0, 0.05);  // the clock kept running through the outage
  nginx.Quit();
  // The read-back stream resumed: the recording of the second connection has both streams.
  const std::vector<Packet> packets = ReadPackets(nginx.Recording());
  int v = 0, a = 0;
  for (const Packet& p : packets) (p.video ? v : a)++;
  EXPECT_GT(v, 15 * 2);
  EXPECT_GT(a, 43 * 2);
}

}  // namespace
}  // namespace voxgate::stream
