#include "stream/broadcast_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace voxgate::stream {
namespace {

TEST(BroadcastConfigTest, PresetsAndDerivedValues) {
  BroadcastConfig def;
  EXPECT_EQ(def.width, 960);
  EXPECT_EQ(def.height, 540);
  EXPECT_EQ(def.fps, 25);
  EXPECT_EQ(def.video_bitrate_kbps, 2000);
  EXPECT_EQ(def.GopFrames(), 50);
  EXPECT_EQ(def.KeyintMinFrames(), 25);
  EXPECT_EQ(def.VbvBufferKbits(), 2000);
  EXPECT_EQ(def.reconnect_attempts, 3);

  auto hd = BroadcastConfig::FromPreset("720p");
  ASSERT_TRUE(hd.ok());
  EXPECT_EQ(hd->width, 1280);
  EXPECT_EQ(hd->fps, 30);
  EXPECT_EQ(hd->video_bitrate_kbps, 3000);
  EXPECT_EQ(hd->GopFrames(), 60);
  EXPECT_EQ(hd->KeyintMinFrames(), 30);

  auto mobile = BroadcastConfig::FromPreset("mobile");
  ASSERT_TRUE(mobile.ok());
  EXPECT_EQ(mobile->fps, 15);
  EXPECT_EQ(mobile->video_bitrate_kbps, 1000);
  EXPECT_EQ(mobile->GopFrames(), 30);

  auto bad = BroadcastConfig::FromPreset("4k");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("4k"), std::string::npos);

  // Every parameter overridable.
  BroadcastConfig c = *hd;
  c.url = "rtmp://127.0.0.1/live/k";
  c.gop_frames = 90;
  c.keyint_min_frames = 10;
  c.fps = 24;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate().ToString();
  EXPECT_EQ(c.GopFrames(), 90);
  EXPECT_EQ(c.KeyintMinFrames(), 10);
}

TEST(BroadcastConfigTest, ValidateRejectsBadFields) {
  BroadcastConfig c;
  c.url = "rtmp://127.0.0.1:1935/live/key";
  ASSERT_TRUE(c.Validate().ok());
  auto check = [&](auto mutate, const char* field) {
    BroadcastConfig b = c;
    mutate(b);
    Status s = b.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << field;
    EXPECT_NE(s.message().find(field), std::string::npos) << s.message();
  };
  check([](BroadcastConfig& b) { b.width = 961; }, "width");
  check([](BroadcastConfig& b) { b.fps = 0; }, "fps");
  check([](BroadcastConfig& b) { b.video_bitrate_kbps = 1; }, "video_bitrate_kbps");
  check([](BroadcastConfig& b) { b.keyint_min_frames = 100; }, "keyint_min_frames");
  check([](BroadcastConfig& b) { b.audio_sample_rate_hz = 12345; }, "audio_sample_rate_hz");
  check([](BroadcastConfig& b) { b.audio_channels = 6; }, "audio_channels");
  check([](BroadcastConfig& b) { b.reconnect_attempts = 0; }, "reconnect_attempts");
  check([](BroadcastConfig& b) { b.connect_timeout_s = 0; }, "connect_timeout_s");
  BroadcastConfig forever = c;
  forever.reconnect_attempts = -1;
  EXPECT_TRUE(forever.Validate().ok());
}

TEST(BroadcastConfigTest, UrlErrorsAreClearAndRedacted) {
  struct Case {
    const char* url;
    const char* expect;
  };
  const Case cases[] = {
      {"http://example.com/live/SECRETKEY", "scheme \"http\""},
      {"srt://example.com/live/SECRETKEY", "scheme \"srt\""},
      {"example.com/live/SECRETKEY", "no scheme"},
      {"rtmp:///live/SECRETKEY", "no host"},
      {"rtmp://host:99999/live/SECRETKEY", "port"},
      {"rtmp://host:12ab/live/SECRETKEY", "bad port"},
      {"rtmp://host", "no application path"},
      {"rtmp://host/live /SECRETKEY", "whitespace"},
      {"", "empty"},
  };
  for (const Case& c : cases) {
    Status s = ValidateBroadcastUrl(c.url);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.url;
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << c.url << " -> " << s.message();
    EXPECT_EQ(s.message().find("SECRETKEY"), std::string::npos) << s.message();
  }
  EXPECT_TRUE(ValidateBroadcastUrl("rtmp://a.rtmp.youtube.com/live2/abcd-efgh").ok());
  EXPECT_TRUE(ValidateBroadcastUrl("rtmps://[::1]:443/app/key?x=1").ok());
  EXPECT_TRUE(ValidateBroadcastUrl("file:/tmp/out.flv").ok());
}

TEST(BroadcastConfigTest, RedactUrlHidesTheKey) {
  EXPECT_EQ(RedactUrl("rtmp://h:1935/live/SECRETKEY"), "rtmp://h:1935/live/***");
  EXPECT_EQ(RedactUrl("rtmp://h/live/SECRETKEY/"), "rtmp://h/live/***/");
  EXPECT_EQ(RedactUrl("rtmps://h/app/SECRETKEY?token=SECRETTOKEN"), "rtmps://h/app/***?***");
  EXPECT_EQ(RedactUrl("rtmp://user:SECRETPW@h/app/SECRETKEY"), "rtmp://***@h/app/***");
  EXPECT_EQ(RedactUrl("rtmp://h"), "rtmp://h");
  EXPECT_EQ(RedactUrl("http://h/app/SECRETKEY"), "http://h/app/***");
  EXPECT_EQ(RedactUrl("h/app/SECRETKEY"), "h/app/***");
  EXPECT_EQ(RedactUrl("file:/tmp/x.flv"), "file:/tmp/x.flv");
  EXPECT_EQ(RedactUrl(""), "");
  EXPECT_EQ(RedactUrl("rtmp://"), "rtmp://");
  EXPECT_EQ(RedactUrl("rtmp:///"), "rtmp:///");

  BroadcastConfig c;
  c.url = "rtmp://127.0.0.1/live/SECRETKEY";
  const std::string text = c.ToString();
  EXPECT_EQ(text.find("SECRETKEY"), std::string::npos) << text;
  EXPECT_NE(text.find("rtmp://127.0.0.1/live/***"), std::string::npos) << text;
  EXPECT_NE(text.find("960x540@25"), std::string::npos) << text;
}

TEST(BroadcastConfigTest, StreamKeyFromEnvOrFile) {
  BroadcastConfig c;
  c.url = "rtmp://127.0.0.1/live";
  auto plain = c.ConnectUrl();
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, "rtmp://127.0.0.1/live");

  c.stream_key_env = "VOXGATE_TEST_STREAM_KEY_UNSET_42";
  unsetenv(c.stream_key_env.c_str());
  EXPECT_EQ(c.ConnectUrl().status().code(), StatusCode::kNotFound);
  setenv(c.stream_key_env.c_str(), "SECRETKEY", 1);
  ASSERT_TRUE(c.Validate().ok());
  auto from_env = c.ConnectUrl();
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(*from_env, "rtmp://127.0.0.1/live/SECRETKEY");
  EXPECT_EQ(c.ToString().find("SECRETKEY"), std::string::npos) << c.ToString();
  setenv(c.stream_key_env.c_str(), "bad key", 1);
  Status s = c.ConnectUrl().status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().find("bad key"), std::string::npos) << s.message();
  unsetenv(c.stream_key_env.c_str());

  const std::string path = testing::TempDir() + "/voxgate_stream_key";
  {
    FILE* f = fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fputs("SECRETKEY2\n", f);
    fclose(f);
  }
  c.stream_key_env.clear();
  c.stream_key_file = path;
  auto from_file = c.ConnectUrl();
  ASSERT_TRUE(from_file.ok());
  EXPECT_EQ(*from_file, "rtmp://127.0.0.1/live/SECRETKEY2");
  c.stream_key_env = "X";
  EXPECT_EQ(c.Validate().code(), StatusCode::kInvalidArgument);  // both set
  c.stream_key_env.clear();
  c.stream_key_file = path + ".missing";
  EXPECT_EQ(c.ConnectUrl().status().code(), StatusCode::kNotFound);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace voxgate::stream
