// /api/v1/broadcasts end to end: a real `voxgate serve`, a real nginx-rtmp on loopback recording
// what it receives, ffprobe/ffmpeg to read the recordings back. A presenter broadcast driven over
// REST, a broadcast of a live WebSocket session whose card names the identified speaker, pictures
// brought over the video WebSocket, and bad requests.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/http_client.h"
#include "app/server_process.h"
#include "app/telephone_audio.h"
#include "app/ws_client.h"
#include "audio/audio_decoder.h"
#include "stream/loudness_envelope.h"
#include "stream/nginx_rtmp.h"
#include "stream/speech_track.h"
#include "test_util.h"

namespace voxgate::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using rtmp::kKey;
using rtmp::NginxRtmp;

constexpr char kKeyEnv[] = "VOXGATE_RTMP_KEY_TEST";
const std::string kSpeaker = "1688-142285";

json Body(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

class BroadcastApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!rtmp::Available()) return;
    dir_ = new TempDir("voxgate-bcast-api");
    ServerProcess::Options o;
    o.data_dir = dir_->Sub("data");
    o.model = RepoPath("models/voxgate-starter.onnx");
    o.env.push_back({kKeyEnv, kKey});
    o.env.push_back({"VOXGATE_OTHER_SECRET", "do-not-read-me"});
    server_ = new ServerProcess(o);
    ASSERT_TRUE(server_->Start()) << server_->error();
    HttpClient c(server_->port());
    std::vector<FormPart> parts = {{"user_id", kSpeaker, "", ""},
                                   {"name", "Speaker " + kSpeaker, "", ""}};
    for (int n = 0; n < 3; ++n) {
      const std::string path = DevSetUtterance(kSpeaker, n);
      std::ifstream in(path, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), {});
      parts.push_back(
          {"audio", bytes, fs::path(path).filename().string(), "application/octet-stream"});
    }
    auto r = c.PostMultipart("/api/v1/voiceprint/register", parts);
    ASSERT_EQ(r.status, 201) << r.body;
  }
  static void TearDownTestSuite() {
    if (server_) {
      EXPECT_EQ(server_->Stop(), 0);
      // The stream key never reached the logs, whatever happened.
      EXPECT_EQ(server_->Stdout().find(kKey), std::string::npos);
      EXPECT_EQ(server_->Stderr().find(kKey), std::string::npos);
    }
    delete server_;
    delete dir_;
    server_ = nullptr;
    dir_ = nullptr;
  }
  void SetUp() override { VOXGATE_REQUIRE_PEER(rtmp::Available(), "nginx with libnginx-mod-rtmp"); }
  static HttpClient Client() {
    HttpClient::Options o;
    o.timeout = std::chrono::seconds(60);  // a POST waits for the connection attempts
    return HttpClient(server_->port(), o);
  }
  // Polls GET /api/v1/broadcasts/{id} until `pred` holds (or ~deadline_s); the last body.
  static json WaitFor(const std::string& id, double deadline_s,
                      const std::function<bool(const json&)>& pred) {
    HttpClient c = Client();
    json b;
    const auto end = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(static_cast<int>(deadline_s * 1000));
    while (std::chrono::steady_clock::now() < end) {
      auto r = c.Get("/api/v1/broadcasts/" + id);
      b = Body(r);
      if (r.status == 200 && pred(b["broadcast"])) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return b;
  }

  static TempDir* dir_;
  static ServerProcess* server_;
};
TempDir* BroadcastApiTest::dir_ = nullptr;
ServerProcess* BroadcastApiTest::server_ = nullptr;

TEST_F(BroadcastApiTest, PresenterBroadcastDrivenOverRest) {
  NginxRtmp nginx;
  ASSERT_TRUE(nginx.Start()) << nginx.ErrorLog();
  HttpClient c = Client();
  auto r = c.PostJson("/api/v1/broadcasts", {{"url", nginx.AppUrl()},
                                             {"stream_key_env", kKeyEnv},
                                             {"preset", "mobile"},
                                             {"name", "Ada"},
                                             {"say", "Good evening from the Voxgate API."}});
  ASSERT_EQ(r.status, 201) << r.body;
  const json b = Body(r)["broadcast"];
  const std::string id = b["id"];
  EXPECT_EQ(b["state"], "live");
  EXPECT_EQ(b["width"], 640);
  EXPECT_EQ(b["height"], 360);
  EXPECT_EQ(b["fps"], 15);
  EXPECT_EQ(b["presenter_name"], "Ada");
  EXPECT_EQ(r.body.find(kKey), std::string::npos) << r.body;

  // 1 MB of text is refused whole; the broadcast goes on.
  r = c.PostJson("/api/v1/broadcasts/" + id + "/say", {{"text", std::string(1 << 20, 'a')}});
  EXPECT_EQ(r.status, 413) << r.body.substr(0, 300);
  EXPECT_EQ(c.PostJson("/api/v1/broadcasts/" + id + "/say", {{"txt", "x"}}).status, 400);
  r = c.PostJson("/api/v1/broadcasts/" + id + "/say", {{"text", "And here is more to say."}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GT(Body(r)["say"]["starts_at_s"].get<double>(), 0.0);
  // Live: the clock runs, frames and bytes go out.
  json live = WaitFor(id, 20, [](const json& x) { return x["stream_time_s"] >= 4.0; });
  ASSERT_GE(live["broadcast"]["stream_time_s"].get<double>(), 4.0) << live.dump();
  EXPECT_GT(live["broadcast"]["frames_sent"].get<int>(), 50);
  EXPECT_GT(live["broadcast"]["bytes_sent"].get<int>(), 10000);
  EXPECT_GT(live["broadcast"]["bitrate_kbps"].get<double>(), 100);
  EXPECT_LE(std::abs(live["broadcast"]["av_drift_ms"].get<double>()), 1000.0 / 15 + 1e-6);
  // The console's preview: the picture being pushed, as a PNG.
  r = c.Get("/api/v1/broadcasts/" + id + "/preview");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  EXPECT_EQ(r.Header("Content-Type"), "image/png");
  ASSERT_GT(r.body.size(), 1000u);
  EXPECT_EQ(r.body.substr(1, 3), "PNG");
  EXPECT_EQ(r.body.substr(12, 4), "IHDR");
  EXPECT_EQ(static_cast<uint8_t>(r.body[18]) * 256 + static_cast<uint8_t>(r.body[19]), 640);
  EXPECT_EQ(static_cast<uint8_t>(r.body[22]) * 256 + static_cast<uint8_t>(r.body[23]), 360);
  EXPECT_EQ(c.Get("/api/v1/broadcasts/no-such/preview").status, 404);
  auto list = Body(c.Get("/api/v1/broadcasts"));
  ASSERT_EQ(list["broadcasts"].size(), 1u) << list.dump();
  const std::string metrics = c.Get("/metrics").body;
  EXPECT_NE(metrics.find("voxgate_broadcasts_active 1"), std::string::npos);
  EXPECT_NE(metrics.find("voxgate_broadcast_frames_total{result=\"sent\"}"), std::string::npos);

  r = c.Delete("/api/v1/broadcasts/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["broadcast"]["state"], "stopped");
  EXPECT_EQ(c.Delete("/api/v1/broadcasts/" + id).status, 200);  // idempotent
  nginx.Quit();
  const std::string streams = rtmp::RunCommand(
      "ffprobe -v error -show_entries stream=codec_name,width,height -of compact " +
      nginx.Recording().string() + " 2>&1");
  EXPECT_NE(streams.find("codec_name=h264|width=640|height=360"), std::string::npos) << streams;
  EXPECT_NE(streams.find("codec_name=aac"), std::string::npos) << streams;
}

TEST_F(BroadcastApiTest, LiveSessionIsBroadcastWithTheIdentifiedSpeakerOnTheCard) {
  NginxRtmp nginx;
  ASSERT_TRUE(nginx.Start()) << nginx.ErrorLog();
  WsClient ws;
  ASSERT_TRUE(ws.Connect(server_->port())) << ws.error();
  ws.SendText(json{
      {"type", "start"},
      {"mode", "identify"},
      {"encoding", "pcm_s16le"},
      {"sample_rate", 16000},
      {"channels",
       1}}.dump());
  auto started = ws.Read();
  ASSERT_TRUE(started && started->value("type", "") == "started") << ws.error();
  const std::string session_id = (*started)["session_id"];

  HttpClient c = Client();
  auto r = c.PostJson("/api/v1/broadcasts",
                      {{"url", nginx.Url()},
                       {"preset", "mobile"},
                       {"source", {{"type", "session"}, {"session_id", session_id}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = Body(r)["broadcast"]["id"];
  EXPECT_EQ(Body(r)["broadcast"]["source"], "session");
  EXPECT_EQ(Body(r)["broadcast"]["live_inputs"], 1);

  // 10 s of the speaker, paced like a microphone (20 ms messages in real time).
  const std::vector<float> speech = Utterances(kSpeaker, 3, 6, 16000);
  const size_t n = std::min<size_t>(speech.size(), 16000 * 10);
  std::vector<int16_t> pcm(n);
  for (size_t i = 0; i < n; ++i) {
    pcm[i] = static_cast<int16_t>(std::clamp(speech[i], -1.0f, 1.0f) * 32767.0f);
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0, k = 0; i < n; i += 320, ++k) {
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(20 * k));
    ws.SendBinary(pcm.data() + i, std::min<size_t>(320, n - i) * 2);
  }
  ws.SendText(R"({"type":"stop"})");
  auto msgs = ws.ReadUntil("final");
  ASSERT_FALSE(msgs.empty());

  // The broadcast ends by itself once its session has ended and played out.
  json done = WaitFor(id, 30, [](const json& x) { return x["state"] == "stopped"; });
  const json& bc = done["broadcast"];
  ASSERT_EQ(bc["state"], "stopped") << done.dump();
  EXPECT_EQ(bc["presenter_name"], "Speaker " + kSpeaker);  // from live identification
  EXPECT_GE(bc["stream_time_s"].get<double>(), 9.0);
  nginx.Quit();

  // What the platform received is the session's speech: its loudness envelope follows what was
  // sent (after the session's clean-up, within the live cushion's delay).
  const std::string wav = nginx.Recording().string() + ".wav";
  ASSERT_EQ(std::system(("ffmpeg -v error -y -i " + nginx.Recording().string() +
                         " -vn -ac 1 -ar 16000 " + wav)
                            .c_str()),
            0);
  auto back = audio::DecodeFile(wav, {});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  const std::vector<float> sent = Levels(std::span<const float>(speech.data(), n), 1600);
  const std::vector<float> got = Levels(back->samples, 1600);
  const double best = BestCorrelation(sent, got, 29);
  EXPECT_GT(best, 0.7) << "loudness envelope correlation";
  fs::remove(wav);
}

TEST_F(BroadcastApiTest, ExternalPicturesOverTheVideoWebSocket) {
  NginxRtmp nginx;
  ASSERT_TRUE(nginx.Start()) << nginx.ErrorLog();
  HttpClient c = Client();
  auto r = c.PostJson("/api/v1/broadcasts", {{"url", nginx.Url()},
                                             {"preset", "mobile"},
                                             {"video", "external"},
                                             {"options", {{"fps", 10}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = Body(r)["broadcast"]["id"];
  WsClient video;
  ASSERT_TRUE(video.Connect(server_->port(), "/api/v1/broadcasts/" + id + "/video"))
      << video.error();
  std::vector<uint8_t> green(640 * 360 * 4);
  for (size_t i = 0; i < green.size(); i += 4) {
    green[i] = 0;
    green[i + 1] = 220;
    green[i + 2] = 0;
    green[i + 3] = 255;
  }
  for (int k = 0; k < 20; ++k) {
    video.SendBinary(green.data(), green.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  json live = WaitFor(id, 5, [](const json& x) { return x["external_frames"] >= 20; });
  EXPECT_EQ(live["broadcast"]["external_frames"], 20) << live.dump();
  ASSERT_EQ(c.Delete("/api/v1/broadcasts/" + id).status, 200);
  nginx.Quit();
  const std::string raw = nginx.Recording().string() + ".rgb";
  ASSERT_EQ(std::system(("ffmpeg -v error -y -sseof -0.3 -i " + nginx.Recording().string() +
                         " -frames:v 1 -f rawvideo -pix_fmt rgb24 " + raw)
                            .c_str()),
            0);
  std::ifstream in(raw, std::ios::binary);
  std::string rgb((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(rgb.size(), 640u * 360 * 3);
  double g = 0, rb = 0;
  for (size_t i = 0; i < rgb.size(); i += 3) {
    g += uint8_t(rgb[i + 1]);
    rb += uint8_t(rgb[i]) + uint8_t(rgb[i + 2]);
  }
  EXPECT_GT(g / (640 * 360), 180);
  EXPECT_LT(rb / (640 * 360), 60);
  fs::remove(raw);

  // A presenter broadcast has no video socket.
  WsClient none;
  EXPECT_FALSE(none.Connect(server_->port(), "/api/v1/broadcasts/bc-nope/video"));
}

TEST_F(BroadcastApiTest, BadRequestsGetClearErrorsAndNoKeyLeaks) {
  HttpClient c = Client();
  struct Case {
    json body;
    int status;
    std::string says;
  };
  const int dead_port = rtmp::FreePort();
  const std::vector<Case> cases = {
      {{{"url", "file:/tmp/x.flv"}}, 400, "rtmp://"},
      {{{"url", std::string("http://127.0.0.1/live/") + kKey}}, 400, "rtmp://"},
      {{{"url", "rtmp://"}}, 400, "url"},
      {{{"url", "rtmp://127.0.0.1/live/k"}, {"preset", "8k"}}, 400, "preset"},
      {{{"url", "rtmp://127.0.0.1/live"}, {"stream_key_env", "VOXGATE_OTHER_SECRET"}},
       400,
       "VOXGATE_RTMP_KEY"},
      {{{"url", "rtmp://127.0.0.1/live/k"}, {"source", {{"type", "session"}, {"session_id", "x"}}}},
       404,
       "no live session"},
      {{{"url", "rtmp://127.0.0.1/live/k"}, {"source", "camera"}}, 400, "source"},
      {{{"url", "rtmp://127.0.0.1/live/k"}, {"options", {{"fps", "fast"}}}}, 400, "fps"},
      {{{"preset", "540p"}}, 400, "url"},
      {{{"url", "rtmp://127.0.0.1:" + std::to_string(dead_port) + "/live/" + kKey},
        {"options", {{"reconnect_attempts", 2}, {"connect_timeout_s", 1}}}},
       503,
       "connect"},
  };
  for (const Case& k : cases) {
    auto r = c.PostJson("/api/v1/broadcasts", k.body);
    EXPECT_EQ(r.status, k.status) << k.body.dump() << " -> " << r.body;
    EXPECT_NE(r.body.find(k.says), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find(kKey), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("do-not-read-me"), std::string::npos) << r.body;
  }
  EXPECT_EQ(c.Post("/api/v1/broadcasts", "{not json", {}, "application/json").status, 400);
  EXPECT_EQ(c.Get("/api/v1/broadcasts/bc-unknown").status, 404);
  EXPECT_EQ(c.Delete("/api/v1/broadcasts/bc-unknown").status, 404);
  EXPECT_EQ(c.PostJson("/api/v1/broadcasts/bc-unknown/say", {{"text", "hi"}}).status, 404);
  EXPECT_EQ(c.Get("/health").status, 200);
  for (const json& b : Body(c.Get("/api/v1/broadcasts"))["broadcasts"]) {
    EXPECT_EQ(b["state"], "stopped") << b.dump();  // nothing was left running by a bad request
  }
}

}  // namespace
}  // namespace voxgate::testing
