#include "stream/av_muxer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.h"

namespace voxgate::stream {
namespace {

using voxgate::testing::RunCommand;

// Pushes `seconds` of a 440 Hz tone at `rate` and a moving gradient into `config`.
Status Push(AvMuxer& muxer, double seconds, int rate) {
  const BroadcastConfig& c = muxer.config();
  std::vector<uint8_t> rgba(size_t(c.width) * c.height * 4);
  const int chunk = rate / 50;
  std::vector<float> pcm(chunk);
  int64_t samples = 0, frame = 0;
  for (int i = 0; i < seconds * 50; ++i) {
    for (int k = 0; k < chunk; ++k) pcm[k] = 0.3f * std::sin(2 * M_PI * 440 * (samples + k) / rate);
    samples += chunk;
    Status s = muxer.WriteAudio(pcm, rate);
    if (!s.ok()) return s;
    while (frame * rate <= samples * c.fps) {
      for (size_t p = 0; p < rgba.size(); p += 4) {
        rgba[p] = uint8_t(frame * 4), rgba[p + 1] = uint8_t(p / 4 % c.width), rgba[p + 2] = 80;
        rgba[p + 3] = 255;
      }
      VideoFrameView v;
      v.format = VideoFrameView::Format::kRgba;
      v.width = c.width, v.height = c.height, v.data[0] = rgba.data(), v.stride[0] = c.width * 4;
      s = muxer.WriteVideo(v, frame++);
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

TEST(AvMuxerTest, WritesH264AndAacFlvWithTheAskedGeometry) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("voxgate_mux_" + std::to_string(getpid()) + ".flv"))
                               .string();
  auto config = BroadcastConfig::FromPreset("mobile");
  ASSERT_TRUE(config.ok());
  config->url = "file:" + path;
  config->encoder_threads = 1;
  auto muxer = AvMuxer::Open(*config);
  ASSERT_TRUE(muxer.ok()) << muxer.status().ToString();
  ASSERT_TRUE(Push(**muxer, 4.0, 16000).ok());
  ASSERT_TRUE((*muxer)->Close().ok());
  const MuxerStats& st = (*muxer)->stats();
  EXPECT_EQ(st.video_frames, 4 * 15 + 1);
  EXPECT_NEAR(st.audio_samples, 4 * 44100, 1024 + 64);  // + padding of the last AAC frame
  EXPECT_GT(st.bytes_written, 10000);
  EXPECT_EQ(st.connects, 1);
  EXPECT_LE(std::abs((*muxer)->WrittenDriftMs()), 1000.0 / 15 + 1) << (*muxer)->WrittenDriftMs();

  const std::string streams = RunCommand(
      "ffprobe -v error -show_entries stream=codec_name,width,height,avg_frame_rate,sample_rate "
      "-of compact " +
      path + " 2>&1");
  EXPECT_NE(streams.find("codec_name=h264"), std::string::npos) << streams;
  EXPECT_NE(streams.find("codec_name=aac"), std::string::npos) << streams;
  EXPECT_NE(streams.find("width=640|height=360"), std::string::npos) << streams;
  EXPECT_NE(streams.find("avg_frame_rate=15/1"), std::string::npos) << streams;
  EXPECT_NE(streams.find("sample_rate=44100"), std::string::npos) << streams;
  // Keyframes every GOP (30 frames): 0, 30, 60.
  const std::string keys = RunCommand(
      "ffprobe -v error -select_streams v -show_entries packet=flags "
      "-of csv=p=0 " +
      path + " 2>&1");
  std::vector<int> key_at;
  int index = 0;
  for (size_t pos = 0; pos < keys.size();) {
    size_t eol = keys.find('\n', pos);
    if (eol == std::string::npos) eol = keys.size();
    if (keys.compare(pos, 1, "K") == 0) key_at.push_back(index);
    ++index, pos = eol + 1;
  }
  EXPECT_EQ(index, 61);
  EXPECT_EQ(key_at, (std::vector<int>{0, 30, 60})) << keys;
  std::filesystem::remove(path);
}

TEST(AvMuxerTest, ClearErrorsForBadUrlsWithoutTheKey) {
  BroadcastConfig c;
  c.connect_timeout_s = 2;
  c.reconnect_backoff_s = 0.05;
  c.url = "ftp://127.0.0.1/live/SECRETKEY";
  auto r = AvMuxer::Open(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("scheme"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("SECRETKEY"), std::string::npos);

  c.url = "rtmp://:1935/live/SECRETKEY";
  r = AvMuxer::Open(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("malformed"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("SECRETKEY"), std::string::npos);

  // Port 1 on loopback: nothing listens, refused at once, three attempts.
  c.url = "rtmp://127.0.0.1:1/live/SECRETKEY";
  r = AvMuxer::Open(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("after 3 attempt"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("rtmp://127.0.0.1:1/live/***"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find("SECRETKEY"), std::string::npos) << r.status().message();

  // A host that does not resolve.
  c.url = "rtmp://no-such-host.invalid/live/SECRETKEY";
  c.reconnect_attempts = 1;
  r = AvMuxer::Open(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_EQ(r.status().message().find("SECRETKEY"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace voxgate::stream
