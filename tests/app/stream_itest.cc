// GET /api/v1/stream end to end: a real `voxgate serve` process with the starter model, real
// speech enrolled over REST, then streamed over a real WebSocket (Boost.Beast client) the way a
// browser or app streams microphone audio. Checks the protocol (docs/streaming.md), live
// decisions, the sessions API, backpressure and bad input.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/http_client.h"
#include "app/server_process.h"
#include "app/telephone_audio.h"
#include "app/ws_client.h"
#include "audio/audio_decoder.h"
#include "audio/g711.h"
#include "test_util.h"

namespace voxgate::testing {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

const std::vector<std::string> kSpeakers = {"1688-142285", "1998-15444", "2033-164914"};

std::vector<int16_t> ToS16(const std::vector<float>& x) {
  std::vector<int16_t> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    out[i] = static_cast<int16_t>(std::clamp(x[i], -1.0f, 1.0f) * 32767.0f);
  }
  return out;
}

std::vector<nlohmann::json> OfType(const std::vector<nlohmann::json>& msgs, const std::string& t) {
  std::vector<nlohmann::json> out;
  for (const auto& m : msgs) {
    if (m.value("type", "") == t) out.push_back(m);
  }
  return out;
}

class StreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("voxgate-stream");
    ServerProcess::Options o;
    o.data_dir = dir_->Sub("data");
    o.model = RepoPath("models/voxgate-starter.onnx");
    if (const char* e = std::getenv("XP")) o.env.push_back({e, "false"});
    server_ = new ServerProcess(o);
    ASSERT_TRUE(server_->Start()) << server_->error();
    HttpClient c(server_->port());
    for (const auto& s : kSpeakers) {
      std::vector<FormPart> parts = {{"user_id", s, "", ""}, {"name", "Speaker " + s, "", ""}};
      for (int n = 0; n < 3; ++n) {
        const std::string path = DevSetUtterance(s, n);
        std::ifstream in(path, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), {});
        parts.push_back({"audio", bytes, std::filesystem::path(path).filename().string(),
                         "application/octet-stream"});
      }
      auto r = c.PostMultipart("/api/v1/voiceprint/register", parts);
      ASSERT_EQ(r.status, 201) << r.body;
    }
  }
  static void TearDownTestSuite() {
    if (server_) {
      EXPECT_EQ(server_->Stop(), 0);
    }
    delete server_;
    delete dir_;
  }

  // Streams s16 audio in 20 ms messages, then stop; returns every message up to "final".
  std::vector<nlohmann::json> StreamS16(WsClient& ws, const nlohmann::json& start,
                                        const std::vector<int16_t>& pcm, int rate) {
    ws.SendText(start.dump());
    auto started = ws.Read();
    EXPECT_TRUE(started && started->value("type", "") == "started")
        << (started ? started->dump() : ws.error());
    const size_t chunk = static_cast<size_t>(rate / 50);
    for (size_t i = 0; i < pcm.size(); i += chunk) {
      ws.SendBinary(pcm.data() + i, std::min(chunk, pcm.size() - i) * 2);
    }
    ws.SendText(R"({"type":"stop"})");
    auto msgs = ws.ReadUntil("final");
    if (started) msgs.insert(msgs.begin(), *started);
    return msgs;
  }

  static TempDir* dir_;
  static ServerProcess* server_;
};
TempDir* StreamTest::dir_ = nullptr;
ServerProcess* StreamTest::server_ = nullptr;

TEST_F(StreamTest, IdentifiesTheSpeakerWhileStreaming) {
  WsClient ws;
  ASSERT_TRUE(ws.Connect(server_->port())) << ws.error();
  auto msgs = StreamS16(ws,
                        {{"type", "start"},
                         {"mode", "identify"},
                         {"encoding", "pcm_s16le"},
                         {"sample_rate", 16000},
                         {"channels", 1}},
                        ToS16(Utterances(kSpeakers[1], 4, 7, 16000)), 16000);
  ASSERT_FALSE(msgs.empty());
  EXPECT_EQ(msgs.back().value("type", ""), "final");
  auto decisions = OfType(msgs, "decision");
  ASSERT_FALSE(decisions.empty());
  EXPECT_EQ(decisions[0]["decision"], "identified");
  EXPECT_EQ(decisions[0]["user_id"], kSpeakers[1]);
  EXPECT_EQ(decisions[0]["name"], "Speaker " + kSpeakers[1]);
  EXPECT_FALSE(OfType(msgs, "vad").empty());
  EXPECT_FALSE(OfType(msgs, "score").empty());
  // The final summary carries QoS totals of the whole stream.
  const auto& fin = msgs.back();
  EXPECT_GT(fin["qos"]["totals"]["frames"].get<int>(), 500);
  EXPECT_GT(fin["speech_s"].get<double>(), 5.0);
  // And the session stays visible in the sessions API after it ended.
  HttpClient c(server_->port());
  auto r = c.Get("/api/v1/sessions/" + fin["session_id"].get<std::string>());
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["session"]["state"], "ended");
  EXPECT_EQ(j["session"]["decisions"][0]["user_id"], kSpeakers[1]);
  // What the console draws: the speaker timeline, the running scores, speech activity.
  const auto& timeline = j["session"]["timeline"];
  ASSERT_FALSE(timeline.empty()) << r.body.substr(0, 4000);
  EXPECT_EQ(timeline[0]["turn"], 0);
  EXPECT_EQ(timeline[0]["decision"], "identified");
  EXPECT_EQ(timeline[0]["user_id"], kSpeakers[1]);
  EXPECT_EQ(timeline[0]["name"], "Speaker " + kSpeakers[1]);
  ASSERT_TRUE(timeline.back()["end_s"].is_number()) << "an ended session's last turn has an end";
  EXPECT_GT(timeline.back()["end_s"].get<double>(), timeline[0]["start_s"].get<double>());
  const auto& scores = j["session"]["scores"];
  ASSERT_EQ(scores.size(), OfType(msgs, "score").size());
  for (size_t i = 1; i < scores.size(); ++i) {
    EXPECT_GE(scores[i]["t_s"].get<double>(), scores[i - 1]["t_s"].get<double>());
  }
  EXPECT_TRUE(scores[0].contains("threshold"));
  const auto& speech = j["session"]["speech"];
  ASSERT_EQ(speech.size(), j["session"]["speech_segments"].get<size_t>());
  double total = 0;
  for (const auto& seg : speech) total += seg["end_s"].get<double>() - seg["start_s"].get<double>();
  EXPECT_NEAR(total, j["session"]["speech_s"].get<double>(), 1e-6);
}

// Enrolling over the stream stores the display name the client gives (the console's enroll page),
// as text: markup in it is kept, not interpreted.
TEST_F(StreamTest, EnrollStoresTheGivenName) {
  WsClient ws;
  ASSERT_TRUE(ws.Connect(server_->port())) << ws.error();
  const std::string name = "Zo\u00eb <b>Live</b>";
  auto msgs = StreamS16(ws,
                        {{"type", "start"},
                         {"mode", "enroll"},
                         {"user_id", "live-enrolled"},
                         {"name", name},
                         {"encoding", "pcm_s16le"},
                         {"sample_rate", 16000}},
                        ToS16(Utterances("3005-163389", 0, 8, 16000)), 16000);
  auto enrolled = OfType(msgs, "enrolled");
  ASSERT_EQ(enrolled.size(), 1u) << (msgs.empty() ? ws.error() : msgs.back().dump());
  EXPECT_EQ(enrolled[0]["decision"], "enrolled");
  HttpClient c(server_->port());
  auto r = c.Get("/api/v1/voiceprint/live-enrolled");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["name"], name);
  // A name that is not a string is refused with a clear error.
  WsClient bad;
  ASSERT_TRUE(bad.Connect(server_->port())) << bad.error();
  bad.SendText(R"({"type":"start","mode":"enroll","user_id":"x","name":7})");
  auto err = bad.Read();
  ASSERT_TRUE(err.has_value()) << bad.error();
  EXPECT_EQ(err->value("type", ""), "error");
  EXPECT_NE(err->value("message", "").find("name"), std::string::npos) << err->dump();
}

// A caller enrolled over the phone is verified over the phone. (Enrolment on wideband audio and
// verification on narrowband is a channel mismatch the starter model handles poorly: impostor
// scores rise above its threshold; see models/MODEL.md.)
TEST_F(StreamTest, VerifyAcceptsTheTrueSpeakerAndRejectsAnImpostorOverG711) {
  HttpClient c(server_->port());
  std::vector<FormPart> parts = {{"user_id", "tel-caller", "", ""}, {"name", "Caller", "", ""}};
  for (int n = 0; n < 3; ++n) {
    parts.push_back({"audio", UlawWav(Ulaw8k(kSpeakers[0], n, n)), "call.wav", "audio/wav"});
  }
  auto r = c.PostMultipart("/api/v1/voiceprint/register", parts);
  ASSERT_EQ(r.status, 201) << r.body;
  for (auto [speaker, expected] :
       {std::pair{kSpeakers[0], "verified"}, std::pair{kSpeakers[2], "rejected"},
        std::pair{kSpeakers[1], "rejected"}}) {
    SCOPED_TRACE(speaker);
    std::vector<uint8_t> ulaw = Ulaw8k(speaker, 4, 7);
    WsClient ws;
    ASSERT_TRUE(ws.Connect(server_->port())) << ws.error();
    // The model's raw threshold (0.2878) is an equal-error point over short and clean
    // trials; on 20 s of narrowband speech these impostors score 0.29-0.31 and the true caller
    // 0.75, so the call centre's stricter operating point is passed per stream.
    ws.SendText(nlohmann::json{
        {"type", "start"},
        {"mode", "verify"},
        {"user_id", "tel-caller"},
        {"encoding", "pcmu"},
        {"sample_rate", 8000},
        {"threshold",
         0.45}}.dump());
    for (size_t i = 0; i < ulaw.size(); i += 160) {
      ws.SendBinary(ulaw.data() + i, std::min<size_t>(160, ulaw.size() - i));
    }
    ws.SendText(R"({"type":"stop"})");
    auto msgs = ws.ReadUntil("final");
    auto decisions = OfType(msgs, "decision");
    ASSERT_FALSE(decisions.empty());
    EXPECT_EQ(decisions[0]["decision"].get<std::string>(), std::string(expected))
        << decisions[0].dump();
    EXPECT_EQ(decisions[0]["user_id"], "tel-caller");
  }
}

TEST_F(StreamTest, BadMessagesGetErrorsAndTheStreamStillWorks) {
  WsClient ws;
  ASSERT_TRUE(ws.Connect(server_->port())) << ws.error();
  auto expect_error = [&](const std::string& text, const std::string& fragment) {
    ws.SendText(text);
    auto m = ws.Read();
    ASSERT_TRUE(m.has_value()) << ws.error();
    EXPECT_EQ(m->value("type", ""), "error") << text;
    EXPECT_NE(m->value("message", "").find(fragment), std::string::npos) << m->dump();
  };
  expect_error("not json", "JSON");
  expect_error(R"({"no":"type"})", "type");
  expect_error(R"({"type":"dance"})", "unknown message type");
  expect_error(R"({"type":"stop"})", "start first");
  expect_error(R"({"type":"start","mode":"verify"})", "user_id");
  expect_error(R"({"type":"start","mode":"identify","encoding":"mp3"})", "encoding");
  expect_error(R"({"type":"start","mode":"identify","sample_rate":4000})", "sample_rate");
  expect_error(R"({"type":"start","mode":"identify","channels":6})", "channels");
  expect_error(R"({"type":"start","mode":"verify","user_id":"../etc"})", "user_id");
  expect_error(R"({"type":"start","mode":"identify","encoding":"opus","sample_rate":44100})",
               "opus");
  // Audio before start is refused, not buffered.
  const char junk[64] = {1, 2, 3};
  ws.SendBinary(junk, sizeof junk);
  auto m = ws.Read();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->value("type", ""), "error");
  // A valid start still works on the same connection.
  auto msgs = StreamS16(ws, {{"type", "start"}, {"mode", "identify"}},
                        ToS16(Utterances(kSpeakers[2], 4, 6, 16000)), 16000);
  auto decisions = OfType(msgs, "decision");
  ASSERT_FALSE(decisions.empty());
  EXPECT_EQ(decisions[0]["user_id"], kSpeakers[2]);
}

TEST_F(StreamTest, UnknownClaimedUserIsRejectedWithAReason) {
  WsClient ws;
  ASSERT_TRUE(ws.Connect(server_->port())) << ws.error();
  auto msgs = StreamS16(ws, {{"type", "start"}, {"mode", "verify"}, {"user_id", "nobody"}},
                        ToS16(Utterances(kSpeakers[0], 4, 5, 16000)), 16000);
  auto decisions = OfType(msgs, "decision");
  ASSERT_FALSE(decisions.empty());
  EXPECT_EQ(decisions[0]["decision"], "rejected");
  EXPECT_NE(decisions[0].value("message", "").find("nobody"), std::string::npos);
}

TEST_F(StreamTest, OversizedMessageClosesTheConnectionAndTheServerLives) {
  WsClient ws;
  ASSERT_TRUE(ws.Connect(server_->port())) << ws.error();
  ws.SendText(R"({"type":"start","mode":"identify"})");
  ASSERT_TRUE(ws.Read().has_value());
  std::vector<uint8_t> big(2 << 20, 0);
  try {
    ws.SendBinary(big.data(), big.size());
  } catch (const std::exception&) {
    // The server may close while we are still writing.
  }
  while (auto m = ws.Read()) {
  }
  // The server refuses the message (1009, or a reset while the client is still writing) and counts
  // it; it keeps serving.
  if (ws.close_reason().code != 0) {
    EXPECT_EQ(ws.close_reason().code, websocket::close_code::too_big);
  }
  HttpClient c(server_->port());
  EXPECT_EQ(c.Get("/health").status, 200);
  EXPECT_NE(c.Get("/metrics").body.find("websocket_too_big"), std::string::npos);
}

TEST_F(StreamTest, PlainGetIsUpgradeRequiredAndSessionsAreListed) {
  HttpClient c(server_->port());
  auto r = c.Get("/api/v1/stream");
  EXPECT_EQ(r.status, 426);
  EXPECT_EQ(r.Header("Upgrade"), "websocket");
  r = c.Get("/api/v1/sessions?include_ended=true");
  ASSERT_EQ(r.status, 200);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_TRUE(j["sessions"].is_array());
  EXPECT_EQ(c.Get("/api/v1/sessions/no-such-session").status, 404);
  auto metrics = c.Get("/metrics").body;
  EXPECT_NE(metrics.find("voxgate_sessions_total"), std::string::npos);
}

TEST(StreamAuthTest, UpgradeNeedsAnApiKeyWhenAuthIsOn) {
  TempDir dir("voxgate-stream-auth");
  ServerProcess::Options o;
  o.data_dir = dir.Sub("data");
  o.dev = false;
  ServerProcess server(o);
  ASSERT_TRUE(server.Start()) << server.error();
  WsClient anon;
  EXPECT_FALSE(anon.Connect(server.port()));
  std::ifstream in(dir.Sub("data/admin.key"));
  std::string key;
  std::getline(in, key);
  WsClient ok;
  ASSERT_TRUE(ok.Connect(server.port(), "/api/v1/stream", key)) << ok.error();
  ok.SendText(R"({"type":"ping"})");
  auto m = ok.Read();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->value("type", ""), "pong");
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace voxgate::testing
