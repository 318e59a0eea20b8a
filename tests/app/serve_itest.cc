// `voxgate serve` end to end: a real server process (tests/app/server_process.h), real HTTP over
// loopback (tests/api/http_client.h), real speech from ../shared/speech and the tiny random-weight
// model. With random weights a recording scores 1.0 against itself but different speakers also
// score high, so these tests check the logic (routes, codes, bodies, persistence, consistency), not
// speaker discrimination.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/http_client.h"
#include "app/server_process.h"
#include "test_util.h"

namespace voxgate::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kV1 = "/api/v1";
constexpr double kTinyThreshold = 0.42;  // tests/data/gen_tiny_models.py

// ---- audio -----------------------------------------------------------------------------------

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// File contents, read once (the same clips are sent many times, from many threads).
const std::string& Bytes(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(path);
  if (it == cache.end()) it = cache.emplace(path, ReadFile(path)).first;
  return it->second;
}

std::string Utt(const std::string& speaker_chapter, int n) {
  return DevSetUtterance(speaker_chapter, n);
}

std::string AudioFixture(const std::string& name) { return TestDataPath("audio/" + name); }

// Utterances of 5-9 s with 3.6-8 s of net speech: enough for one-sample enrollment (3 s), quick
// to embed.
const std::vector<std::string>& Clips() {
  static const std::vector<std::string> clips = {
      Utt("1688-142285", 3), Utt("1688-142285", 6), Utt("1998-15444", 1),  Utt("1998-15444", 3),
      Utt("2033-164914", 1), Utt("2033-164914", 3), Utt("2414-128291", 1), Utt("2414-128291", 7),
      Utt("2609-156975", 1), Utt("3005-163389", 1), Utt("3080-5032", 1),   Utt("3331-159605", 2),
      Utt("367-130732", 4),  Utt("533-1066", 1),    Utt("1998-15444", 6),  Utt("2033-164914", 9),
  };
  return clips;
}

std::string Base64(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// A 16 kHz mono s16 WAV holding `repeat` copies of the speech in `wav_path` (a plain PCM WAV).
std::string RepeatedWav(const std::string& wav_path, int repeat) {
  const std::string& wav = Bytes(wav_path);
  // Find the "data" chunk; copy the "fmt " chunk as it is.
  std::string fmt, data;
  for (size_t pos = 12; pos + 8 <= wav.size();) {
    const std::string id = wav.substr(pos, 4);
    const uint32_t size = uint8_t(wav[pos + 4]) | (uint8_t(wav[pos + 5]) << 8) |
                          (uint8_t(wav[pos + 6]) << 16) | (uint32_t(uint8_t(wav[pos + 7])) << 24);
    if (id == "fmt ") fmt = wav.substr(pos, 8 + size);
    if (id == "data") data = wav.substr(pos + 8, std::min<size_t>(size, wav.size() - pos - 8));
    pos += 8 + size + (size & 1);
  }
  std::string pcm;
  for (int i = 0; i < repeat; ++i) pcm += data;
  auto le32 = [](uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
    return s;
  };
  return "RIFF" + le32(static_cast<uint32_t>(4 + fmt.size() + 8 + pcm.size())) + "WAVE" + fmt +
         "data" + le32(static_cast<uint32_t>(pcm.size())) + pcm;
}

// ---- requests --------------------------------------------------------------------------------

std::string FileName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

FormPart Field(std::string name, std::string value) {
  return {std::move(name), std::move(value), "", ""};
}

FormPart File(std::string name, std::string data, std::string filename,
              std::string content_type = "application/octet-stream") {
  return {std::move(name), std::move(data), std::move(filename), std::move(content_type)};
}

FormPart AudioPart(const std::string& path, const std::string& field = "audio") {
  return {field, Bytes(path), FileName(path), "application/octet-stream"};
}

std::string UserPath(const std::string& user_id) { return kV1 + "/voiceprint/" + user_id; }

HttpResponse Register(HttpClient& client, const std::string& user_id, const std::string& name,
                      const std::vector<std::string>& files, const std::string& field = "audio") {
  std::vector<FormPart> parts;
  if (!user_id.empty()) parts.push_back(Field("user_id", user_id));
  if (!name.empty()) parts.push_back(Field("name", name));
  for (const auto& f : files) parts.push_back(AudioPart(f, field));
  return client.PostMultipart(kV1 + "/voiceprint/register", parts);
}

HttpResponse Verify(HttpClient& client, const std::string& user_id, const std::string& file,
                    const std::string& threshold = "") {
  std::vector<FormPart> parts;
  if (!user_id.empty()) parts.push_back(Field("user_id", user_id));
  if (!threshold.empty()) parts.push_back(Field("threshold", threshold));
  parts.push_back(AudioPart(file));
  return client.PostMultipart(kV1 + "/voiceprint/verify", parts);
}

HttpResponse Identify(HttpClient& client, const std::string& file, int top_k) {
  return client.PostMultipart(kV1 + "/voiceprint/identify",
                              {Field("top_k", std::to_string(top_k)), AudioPart(file)});
}

// The JSON error every 4xx/5xx carries: {"success":false,"error","error_code","request_id"}.
::testing::AssertionResult IsJsonError(const HttpResponse& r, int status,
                                       const std::string& error_code = "") {
  if (r.status != status) {
    return ::testing::AssertionFailure()
           << "status " << r.status << " (want " << status << ") " << r.error << " " << r.body;
  }
  const json j = r.Json();
  if (!j.is_object()) return ::testing::AssertionFailure() << "not a JSON object: " << r.body;
  if (j.value("success", true) != false || !j.contains("error") || !j["error"].is_string() ||
      j["error"].get<std::string>().empty() || !j.contains("error_code") ||
      !j["error_code"].is_string() || !j.contains("request_id") || !j["request_id"].is_string() ||
      j["request_id"].get<std::string>().empty()) {
    return ::testing::AssertionFailure() << "not the error shape: " << r.body;
  }
  if (!error_code.empty() && j["error_code"] != error_code) {
    return ::testing::AssertionFailure()
           << "error_code " << j["error_code"] << " (want " << error_code << "): " << r.body;
  }
  if (r.Header("X-Request-Id") != j["request_id"].get<std::string>()) {
    return ::testing::AssertionFailure() << "X-Request-Id differs from request_id: " << r.body;
  }
  if (r.Header("Content-Type").rfind("application/json", 0) != 0) {
    return ::testing::AssertionFailure() << "Content-Type " << r.Header("Content-Type");
  }
  return ::testing::AssertionSuccess();
}

// The sum of the samples of Prometheus metric `name` whose labels contain `labels`.
double MetricSum(const std::string& text, const std::string& name, const std::string& labels = "") {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    if (line[name.size()] != '{' && line[name.size()] != ' ') continue;
    if (line.find(labels) == std::string::npos) continue;
    sum += std::atof(line.c_str() + line.rfind(' ') + 1);
  }
  return sum;
}

// Every user, through the paged list.
std::map<std::string, json> ListAll(HttpClient& client, const std::string& status = "") {
  std::map<std::string, json> users;
  for (int offset = 0;; offset += 50) {
    std::string target = kV1 + "/voiceprints?limit=50&offset=" + std::to_string(offset);
    if (!status.empty()) target += "&status=" + status;
    HttpResponse r = client.Get(target);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) break;
    const json j = r.Json();
    for (const auto& v : j["voiceprints"]) users[v["user_id"].get<std::string>()] = v;
    if (j["voiceprints"].size() < 50) break;
  }
  return users;
}

bool Healthy(uint16_t port) {
  HttpClient client(port);
  HttpResponse r = client.Get("/health");
  return r.status == 200 && r.Json().value("status", "") == "healthy";
}

// A fresh data directory and a server on it.
struct Served {
  TempDir dir;
  std::unique_ptr<ServerProcess> server;

  explicit Served(ServerProcess::Options options = {}) {
    if (options.data_dir.empty()) options.data_dir = dir.Sub("data");
    server = std::make_unique<ServerProcess>(std::move(options));
  }
  uint16_t port() const { return server->port(); }
};

#define START_OR_FAIL(server) ASSERT_TRUE((server).Start()) << (server).error()

// ---- 1. lifecycle ----------------------------------------------------------------------------

TEST(ServeTest, DevModeLifecycleOverMultipartAndJson) {
  Served s({.dev = true});
  START_OR_FAIL(*s.server);
  EXPECT_TRUE(s.server->WaitForOutput("AUTH IS OFF", 5s)) << "dev mode must say so loudly";
  HttpClient c(s.port());

  // Health and readiness.
  HttpResponse r = c.Get("/health");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.Json();
  EXPECT_EQ(j["status"], "healthy");
  EXPECT_TRUE(j["timestamp"].is_string());
  ASSERT_TRUE(j["components"].is_object());
  EXPECT_TRUE(j["components"].contains("store")) << j.dump();
  EXPECT_TRUE(j["components"].contains("model")) << j.dump();
  EXPECT_EQ(c.Get("/ready").status, 200);

  // Register: one sample as "audio", with metadata.
  const std::string a0 = Clips()[0];
  r = c.PostMultipart(kV1 + "/voiceprint/register",
                      {Field("user_id", "alice"), Field("name", "Alice"),
                       Field("metadata", R"({"dept":"qa"})"), AudioPart(a0)});
  ASSERT_EQ(r.status, 201) << r.body;
  j = r.Json();
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["user_id"], "alice");
  EXPECT_TRUE(j["message"].is_string());
  EXPECT_EQ(j["created"], true);
  EXPECT_EQ(j["samples_used"], 1);
  EXPECT_EQ(j["total_samples"], 1);
  EXPECT_GT(j["speech_s"].get<double>(), 2.0);
  EXPECT_TRUE(j["quality"].is_object());
  EXPECT_TRUE(j["warnings"].is_array());
  EXPECT_GE(j["version"].get<int>(), 1);
  const int alice_version = j["version"].get<int>();

  // Several samples as "audio[]".
  r = Register(c, "bob", "Bob", {Clips()[2], Clips()[3]}, "audio[]");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Json()["samples_used"], 2);
  EXPECT_EQ(r.Json()["total_samples"], 2);
  // Several repeated "audio" parts.
  r = Register(c, "dave", "Dave", {Clips()[6], Clips()[7]});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Json()["samples_used"], 2);

  // JSON with base64 audio: an array, then a single string with no user_id (one is generated).
  r = c.PostJson(kV1 + "/voiceprint/register",
                 {{"user_id", "carol"},
                  {"name", "Carol"},
                  {"metadata", {{"tier", 2}}},
                  {"audio", {Base64(Bytes(Clips()[4])), Base64(Bytes(Clips()[5]))}}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Json()["user_id"], "carol");
  EXPECT_EQ(r.Json()["samples_used"], 2);
  r = c.PostJson(kV1 + "/voiceprint/register",
                 {{"name", "Erin"}, {"audio", Base64(Bytes(Clips()[8]))}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string erin = r.Json()["user_id"].get<std::string>();
  EXPECT_FALSE(erin.empty());
  EXPECT_EQ(c.Get(UserPath(erin)).status, 200);

  // Adding samples to an existing user: 200, created false.
  r = Register(c, "bob", "Bob", {Clips()[14]});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["created"], false);
  EXPECT_EQ(r.Json()["total_samples"], 3);

  // Get.
  r = c.Get(UserPath("alice"));
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["user_id"], "alice");
  EXPECT_EQ(j["name"], "Alice");
  EXPECT_EQ(j["status"], "active");
  EXPECT_TRUE(j["created_at"].is_string());
  EXPECT_TRUE(j["updated_at"].is_string());
  EXPECT_EQ(j["metadata"], json({{"dept", "qa"}}));
  EXPECT_EQ(j["version"], alice_version);
  ASSERT_EQ(j["samples"].size(), 1u);
  EXPECT_GT(j["samples"][0]["speech_s"].get<double>(), 2.0);
  EXPECT_FALSE(j.contains("embedding")) << "embeddings only on request";
  EXPECT_EQ(c.Get(UserPath("bob")).Json()["samples"].size(), 3u);
  EXPECT_EQ(c.Get(UserPath("carol")).Json()["metadata"], json({{"tier", 2}}));
  r = c.Get(UserPath("alice") + "?include_embedding=true");  // dev mode is admin
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(r.Json()["embedding"].is_array());
  EXPECT_GT(r.Json()["embedding"].size(), 8u);

  // Verify 1:1, multipart: the enrolled recording itself scores 1.
  r = Verify(c, "alice", a0);
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["verified"], true);
  EXPECT_EQ(j["user_id"], "alice");
  EXPECT_NEAR(j["confidence"].get<double>(), 1.0, 1e-3);
  EXPECT_NEAR(j["threshold"].get<double>(), kTinyThreshold, 1e-6);
  EXPECT_GE(j["processing_time"].get<double>(), 0.0);
  EXPECT_TRUE(j["timestamp"].is_string());
  EXPECT_TRUE(j["all_scores"].is_array());
  EXPECT_FALSE(j.contains("inconclusive"));
  // JSON form, with a threshold given as a number and as a string.
  r = c.PostJson(kV1 + "/voiceprint/verify",
                 {{"user_id", "alice"}, {"threshold", 0.5}, {"audio", Base64(Bytes(a0))}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["verified"], true);
  EXPECT_NEAR(r.Json()["threshold"].get<double>(), 0.5, 1e-9);
  r = Verify(c, "alice", a0, "0.99999999");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NEAR(r.Json()["threshold"].get<double>(), 0.99999999, 1e-12);
  r = Verify(c, "alice", a0, "1");  // nothing but the identical recording passes 1.0
  ASSERT_EQ(r.status, 200) << r.body;

  // Verify without user_id: the best match over all active users.
  r = Verify(c, "", a0);
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  EXPECT_EQ(j["verified"], true);
  EXPECT_EQ(j["user_id"], "alice");
  ASSERT_FALSE(j["all_scores"].empty());
  EXPECT_EQ(j["all_scores"][0]["user_id"], "alice");
  EXPECT_EQ(j["all_scores"][0]["name"], "Alice");

  // Identify: top-k, best first.
  r = Identify(c, a0, 3);
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["identified"], true);
  EXPECT_EQ(j["user_id"], "alice");
  ASSERT_EQ(j["matches"].size(), 3u);
  EXPECT_EQ(j["matches"][0]["user_id"], "alice");
  EXPECT_NEAR(j["matches"][0]["score"].get<double>(), 1.0, 1e-3);
  for (size_t i = 1; i < j["matches"].size(); ++i) {
    EXPECT_LE(j["matches"][i]["score"].get<double>(), j["matches"][i - 1]["score"].get<double>());
    EXPECT_TRUE(j["matches"][i]["name"].is_string());
  }
  r = c.PostJson(kV1 + "/voiceprint/identify", {{"top_k", 1}, {"audio", Base64(Bytes(a0))}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["matches"].size(), 1u);

  // List: total, paging, status filter.
  const std::set<std::string> all = {"alice", "bob", "carol", "dave", erin};
  r = c.Get(kV1 + "/voiceprints");
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["total"], 5);
  EXPECT_EQ(j["voiceprints"].size(), 5u);
  EXPECT_TRUE(j["limit"].is_number());
  EXPECT_EQ(j["offset"], 0);
  std::set<std::string> paged;
  for (int offset = 0; offset < 6; offset += 2) {
    r = c.Get(kV1 + "/voiceprints?limit=2&offset=" + std::to_string(offset));
    ASSERT_EQ(r.status, 200) << r.body;
    j = r.Json();
    EXPECT_EQ(j["total"], 5);
    EXPECT_EQ(j["limit"], 2);
    EXPECT_EQ(j["offset"], offset);
    EXPECT_EQ(j["voiceprints"].size(), offset < 4 ? 2u : 1u);
    for (const auto& v : j["voiceprints"]) {
      EXPECT_TRUE(paged.insert(v["user_id"].get<std::string>()).second) << "listed twice";
      EXPECT_TRUE(v.contains("status"));
      EXPECT_TRUE(v.contains("name"));
    }
  }
  EXPECT_EQ(paged, all);
  EXPECT_EQ(c.Get(kV1 + "/voiceprints?offset=10").Json()["voiceprints"].size(), 0u);

  // Blocked users do not verify; the reason says why.
  r = c.Put(UserPath("alice") + "/status", R"({"status":"blocked"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["status"], "blocked");
  EXPECT_GT(r.Json()["version"].get<int>(), alice_version);
  EXPECT_EQ(c.Get(UserPath("alice")).Json()["status"], "blocked");
  r = c.Get(kV1 + "/voiceprints?status=blocked");
  EXPECT_EQ(r.Json()["total"], 1);
  EXPECT_EQ(r.Json()["voiceprints"][0]["user_id"], "alice");
  EXPECT_EQ(c.Get(kV1 + "/voiceprints?status=active").Json()["total"], 4);
  r = Verify(c, "alice", a0);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["verified"], false);
  EXPECT_NE(r.Json().value("reason", "").find("blocked"), std::string::npos) << r.body;
  r = Identify(c, a0, 10);
  ASSERT_EQ(r.status, 200) << r.body;
  for (const json body = r.Json(); const auto& m : body["matches"])
    EXPECT_NE(m["user_id"], "alice");
  r = Verify(c, "", a0);
  EXPECT_NE(r.Json()["user_id"], "alice");
  // ... and verify again once active.
  r = c.Put(UserPath("alice") + "/status", R"({"status":"active"})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = Verify(c, "alice", a0);
  EXPECT_EQ(r.Json()["verified"], true) << r.body;

  // Delete: gone from everything.
  r = c.Delete(UserPath("alice"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["success"], true);
  EXPECT_TRUE(r.Json()["message"].is_string());
  EXPECT_TRUE(IsJsonError(c.Get(UserPath("alice")), 404, "not_found"));
  EXPECT_TRUE(IsJsonError(c.Delete(UserPath("alice")), 404, "not_found"));
  EXPECT_TRUE(IsJsonError(Verify(c, "alice", a0), 404, "not_found"));
  EXPECT_TRUE(IsJsonError(c.Put(UserPath("alice") + "/status", R"({"status":"active"})"), 404));
  r = Identify(c, a0, 10);
  for (const json body = r.Json(); const auto& m : body["matches"])
    EXPECT_NE(m["user_id"], "alice");
  EXPECT_EQ(c.Get(kV1 + "/voiceprints").Json()["total"], 4);

  // Audit trail of what happened to alice.
  r = c.Get(kV1 + "/audit?user_id=alice");
  ASSERT_EQ(r.status, 200) << r.body;
  std::set<std::string> actions;
  for (const json body = r.Json(); const auto& e : body["events"])
    actions.insert(e["action"].get<std::string>());
  for (const char* a : {"register", "verify", "status", "delete"}) {
    EXPECT_TRUE(actions.count(a)) << a << " missing from " << r.body;
  }

  // Edge-VoMID's stats, storage stats and cluster status.
  r = c.Get(kV1 + "/stats");
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  EXPECT_EQ(j["success"], true);
  EXPECT_TRUE(j["timestamp"].is_string());
  ASSERT_TRUE(j["statistics"].is_object()) << r.body;
  EXPECT_TRUE(j["statistics"]["voiceprint_engine"].is_object());
  EXPECT_TRUE(j["statistics"]["distributed_storage"].is_object());
  EXPECT_TRUE(j["statistics"]["cluster"].is_object());
  EXPECT_EQ(j["statistics"]["voiceprint_engine"]["indexed_users"], 4);
  EXPECT_EQ(j["statistics"]["distributed_storage"]["users"], 4);
  r = c.Get(kV1 + "/storage/stats");
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  EXPECT_EQ(j["success"], true);
  ASSERT_TRUE(j["storage_stats"].is_object());
  EXPECT_EQ(j["storage_stats"]["users"], 4);
  EXPECT_EQ(j["storage_stats"]["samples"], 3 + 2 + 2 + 1);
  EXPECT_EQ(j["storage_stats"]["healthy"], true);
  r = c.Get(kV1 + "/cluster/status");
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["cluster_status"]["total_nodes"], 1);
  EXPECT_EQ(j["cluster_status"]["healthy_nodes"], 1);

  // Metrics: requests by route and status, inference.
  r = c.Get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.Header("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_NE(r.body.find("voxgate_http_requests_total"), std::string::npos);
  EXPECT_NE(r.body.find("/api/v1/voiceprint/register"), std::string::npos);
  EXPECT_NE(r.body.find("voxgate_http_request_duration_seconds"), std::string::npos);
  EXPECT_NE(r.body.find("voxgate_inference_queue_depth"), std::string::npos);
  EXPECT_NE(r.body.find("voxgate_inference_task_seconds"), std::string::npos);
  EXPECT_GE(MetricSum(r.body, "voxgate_inference_tasks_total"), 10.0);
  // Service metrics: enrolled users, enrollments, decisions.
  EXPECT_EQ(MetricSum(r.body, "voxgate_enrolled_users"), 4.0);
  EXPECT_EQ(MetricSum(r.body, "voxgate_enrollments_total", "\"created\""), 5.0);
  EXPECT_EQ(MetricSum(r.body, "voxgate_enrollments_total", "\"added\""), 1.0);
  EXPECT_GE(MetricSum(r.body, "voxgate_verifications_total", "\"verified\""), 6.0);
  EXPECT_GE(MetricSum(r.body, "voxgate_verifications_total", "\"rejected\""),
            1.0);  // the blocked user
  EXPECT_GE(MetricSum(r.body, "voxgate_identifications_total"), 4.0);
  EXPECT_NE(r.body.find("voxgate_store_errors_total"), std::string::npos);
  EXPECT_EQ(MetricSum(r.body, "voxgate_store_errors_total"), 0.0);
  EXPECT_EQ(MetricSum(r.body, "voxgate_http_requests_total", "status=\"5"), 0.0) << "no 5xx";

  // OpenAPI and the docs page.
  r = c.Get(kV1 + "/openapi.json");
  ASSERT_EQ(r.status, 200);
  j = r.Json();
  ASSERT_TRUE(j.is_object()) << r.body.substr(0, 200);
  EXPECT_EQ(j["openapi"].get<std::string>().rfind("3.1", 0), 0u);
  for (const char* p :
       {"/api/v1/voiceprint/register", "/api/v1/voiceprint/verify", "/api/v1/voiceprint/identify",
        "/api/v1/voiceprint/{user_id}", "/api/v1/voiceprint/{user_id}/status",
        "/api/v1/voiceprints", "/api/v1/stats", "/api/v1/storage/stats", "/api/v1/cluster/status",
        "/health", "/ready", "/metrics"}) {
    EXPECT_TRUE(j["paths"].contains(p)) << p;
  }
  r = c.Get(kV1 + "/docs");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.Header("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(r.body.find("<html"), std::string::npos);

  EXPECT_EQ(c.connects(), 1) << "keep-alive: every request on one connection";
  EXPECT_EQ(s.server->Stop(), 0) << s.server->Output();
}

TEST(ServeTest, RegistersAndVerifiesEveryAudioFormat) {
  Served s;
  START_OR_FAIL(*s.server);
  HttpClient c(s.port());
  // One 4-s utterance in each container; two copies of it make enough speech to enroll.
  for (const char* name :
       {"speech_s16.wav", "speech.flac", "speech.mp3", "speech.m4a", "speech_opus.ogg",
        "speech_vorbis.ogg", "speech_stereo_44k.wav", "speech_8k.wav", "speech_mulaw.wav"}) {
    SCOPED_TRACE(name);
    const std::string file = AudioFixture(name);
    std::string id = std::string("fmt_") + name;
    std::replace(id.begin(), id.end(), '.', '_');
    HttpResponse r = Register(c, id, name, {file, file});
    ASSERT_EQ(r.status, 201) << r.body;
    r = Verify(c, id, file);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json()["verified"], true) << r.body;
    EXPECT_NEAR(r.Json()["confidence"].get<double>(), 1.0, 1e-3);
  }
  // Across formats the scores stay close (same words, same voice).
  HttpResponse r = Verify(c, "fmt_speech_s16_wav", AudioFixture("speech.flac"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GT(r.Json()["confidence"].get<double>(), 0.99) << "FLAC is lossless";
  r = Verify(c, "fmt_speech_s16_wav", AudioFixture("speech.mp3"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GT(r.Json()["confidence"].get<double>(), 0.8);
  // The real FLAC from the corpus, too.
  r = Verify(c, "fmt_speech_s16_wav", Utt("1688-142285", 8));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GT(r.Json()["confidence"].get<double>(), 0.99);
  EXPECT_EQ(s.server->Stop(), 0);
}

// ---- 2. auth ---------------------------------------------------------------------------------

TEST(ServeTest, ApiKeysRolesAndRevocation) {
  Served s({.dev = false});
  START_OR_FAIL(*s.server);
  const std::string data_dir = s.server->options().data_dir;
  std::vector<HttpResponse> responses;  // every response, searched for the admin key at the end
  auto keep = [&](HttpResponse r) {
    responses.push_back(r);
    return r;
  };

  // The bootstrap admin key: a 0600 file in the data directory.
  const std::string key_file = data_dir + "/admin.key";
  struct stat st {};
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0) << "no " << key_file;
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string admin_key = ReadFile(key_file);
  while (!admin_key.empty() && std::isspace(static_cast<unsigned char>(admin_key.back()))) {
    admin_key.pop_back();
  }
  ASSERT_EQ(admin_key.rfind("vx_", 0), 0u);

  // Without a key: 401 everywhere but the public routes.
  HttpClient anon(s.port());
  HttpResponse r = keep(Register(anon, "alice", "Alice", {Clips()[0]}));
  EXPECT_TRUE(IsJsonError(r, 401, "unauthenticated"));
  EXPECT_NE(r.Header("WWW-Authenticate").find("Bearer"), std::string::npos);
  EXPECT_TRUE(IsJsonError(keep(anon.Get(UserPath("alice"))), 401));
  EXPECT_TRUE(IsJsonError(keep(anon.Get(kV1 + "/voiceprints")), 401));
  EXPECT_TRUE(IsJsonError(keep(anon.Get(kV1 + "/stats")), 401));
  EXPECT_TRUE(
      IsJsonError(keep(anon.Get(UserPath("alice"), {{"Authorization", "Bearer vx_nope"}})), 401));
  EXPECT_TRUE(IsJsonError(
      keep(anon.Get(UserPath("alice"), {{"Authorization", "Basic " + admin_key}})), 401));
  EXPECT_TRUE(IsJsonError(keep(anon.Get(UserPath("alice"), {{"X-API-Key", "vx_nope"}})), 401));
  EXPECT_EQ(keep(anon.Get("/health")).status, 200);
  EXPECT_EQ(keep(anon.Get("/ready")).status, 200);
  EXPECT_EQ(keep(anon.Get("/metrics")).status, 200);
  EXPECT_EQ(keep(anon.Get(kV1 + "/openapi.json")).status, 200);

  // The admin key, as Bearer and as X-API-Key.
  HttpClient admin(s.port());
  admin.SetHeader("Authorization", "Bearer " + admin_key);
  r = keep(Register(admin, "alice", "Alice", {Clips()[0]}));
  ASSERT_EQ(r.status, 201) << r.body;
  HttpClient admin_x(s.port());
  admin_x.SetHeader("X-API-Key", admin_key);
  EXPECT_EQ(keep(admin_x.Get(UserPath("alice"))).status, 200);
  EXPECT_EQ(keep(admin_x.Get(kV1 + "/voiceprints")).status, 200);
  EXPECT_EQ(keep(admin_x.Get(UserPath("alice") + "?include_embedding=true")).status, 200);

  // A client key from the CLI, while the server runs.
  CommandResult created =
      RunVoxgate({"keys", "--data-dir", data_dir, "create", "--name", "c", "--role", "client"});
  ASSERT_EQ(created.status, 0) << created.out;
  const json ck = json::parse(created.out, nullptr, false);
  ASSERT_TRUE(ck.is_object()) << created.out;
  const std::string client_key = ck["key"].get<std::string>();
  const std::string client_id = ck["id"].get<std::string>();
  EXPECT_EQ(ck["role"], "client");

  // The server picks the new key up within about a second.
  HttpClient client(s.port());
  client.SetHeader("Authorization", "Bearer " + client_key);
  const auto t_new = Clock::now();
  while (client.Get(kV1 + "/stats").status == 401 && Clock::now() - t_new < 30s) {
    std::this_thread::sleep_for(100ms);
  }
  r = keep(Register(client, "bob", "Bob", {Clips()[2]}));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(keep(Verify(client, "bob", Clips()[2])).status, 200);
  EXPECT_EQ(keep(Verify(client, "", Clips()[2])).status, 200);
  EXPECT_EQ(keep(Identify(client, Clips()[2], 2)).status, 200);
  EXPECT_EQ(keep(client.Get(UserPath("bob"))).status, 200);
  EXPECT_EQ(keep(client.Get(kV1 + "/stats")).status, 200);
  HttpClient client_x(s.port());
  client_x.SetHeader("X-API-Key", client_key);
  EXPECT_EQ(keep(client_x.Get(UserPath("bob"))).status, 200);
  // ... but nothing that needs an admin.
  EXPECT_TRUE(IsJsonError(keep(client.Delete(UserPath("bob"))), 403, "permission_denied"));
  EXPECT_TRUE(IsJsonError(keep(client.Put(UserPath("bob") + "/status", R"({"status":"blocked"})")),
                          403, "permission_denied"));
  EXPECT_TRUE(IsJsonError(keep(client.Get(kV1 + "/voiceprints")), 403, "permission_denied"));
  EXPECT_TRUE(IsJsonError(keep(client.Get(kV1 + "/audit")), 403));
  EXPECT_TRUE(IsJsonError(keep(client.Get(UserPath("bob") + "?include_embedding=true")), 403,
                          "permission_denied"));
  EXPECT_EQ(keep(admin.Get(UserPath("bob"))).Json()["status"], "active") << "nothing changed";

  // Revoked: 401 once the server has reloaded the key file (it checks it every second; the
  // deadline is generous so that a fully loaded machine passes, the point is that it happens).
  CommandResult revoked = RunVoxgate({"keys", "--data-dir", data_dir, "revoke", client_id});
  ASSERT_EQ(revoked.status, 0) << revoked.out;
  const auto t_revoke = Clock::now();
  int last = 0;
  while (Clock::now() - t_revoke < 30s) {
    last = keep(client.Get(UserPath("bob"))).status;
    if (last == 401) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(last, 401) << "the revoked key still works";
  EXPECT_TRUE(IsJsonError(keep(client_x.Get(UserPath("bob"))), 401));
  EXPECT_EQ(keep(admin.Delete(UserPath("bob"))).status, 200);

  CommandResult listed = RunVoxgate({"keys", "--data-dir", data_dir, "list"});
  ASSERT_EQ(listed.status, 0) << listed.out;
  EXPECT_EQ(listed.out.find(admin_key), std::string::npos);
  EXPECT_EQ(listed.out.find(client_key), std::string::npos);

  EXPECT_EQ(s.server->Stop(), 0);
  // Keys never leak: not in any response, not in the server's output.
  for (const auto& resp : responses) {
    EXPECT_EQ(resp.body.find(admin_key), std::string::npos) << resp.body;
    EXPECT_EQ(resp.body.find(client_key), std::string::npos) << resp.body;
    for (const auto& [k, v] : resp.headers) {
      EXPECT_EQ(v.find(admin_key), std::string::npos) << k;
    }
  }
  const std::string out = s.server->Stdout(), err = s.server->Stderr();
  EXPECT_FALSE(out.empty());
  EXPECT_EQ(out.find(admin_key), std::string::npos) << "admin key in stdout";
  EXPECT_EQ(err.find(admin_key), std::string::npos) << "admin key in stderr";
  EXPECT_EQ(out.find(client_key), std::string::npos) << "client key in stdout";
  EXPECT_EQ(err.find(client_key), std::string::npos) << "client key in stderr";
  // The secret part of the key does not show up on its own either.
  const std::string secret = admin_key.substr(3 + 8);
  EXPECT_EQ(out.find(secret), std::string::npos);
  EXPECT_EQ(err.find(secret), std::string::npos);
  EXPECT_EQ(out.find("AUTH IS OFF"), std::string::npos);
  EXPECT_EQ(err.find("AUTH IS OFF"), std::string::npos);

  // Restarted on the same directory: the admin key is kept, not replaced.
  ServerProcess again({.data_dir = data_dir, .dev = false});
  START_OR_FAIL(again);
  EXPECT_EQ(ReadFile(key_file).rfind(admin_key, 0), 0u);
  HttpClient admin2(again.port());
  admin2.SetHeader("Authorization", "Bearer " + admin_key);
  EXPECT_EQ(admin2.Get(UserPath("alice")).status, 200);
  EXPECT_EQ(again.Stop(), 0);
}

// ---- 3. restart persistence ------------------------------------------------------------------

// The console is in the binary: served at / with the browser security headers, gzip and
// revalidation; the page signs in through /api/v1/whoami; the list searches by id or name.
TEST(ServeTest, ServesTheConsoleAndWhatItNeeds) {
  Served s({.dev = false});
  START_OR_FAIL(*s.server);
  EXPECT_TRUE(s.server->WaitForOutput(
      "console at http://localhost:" + std::to_string(s.port()) + "/", std::chrono::seconds(5)))
      << s.server->Output();
  HttpClient anon(s.port());
  HttpResponse page = anon.Get("/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<!doctype html>"), std::string::npos);
  EXPECT_NE(page.Header("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(page.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(anon.Get("/", {{"If-None-Match", page.Header("ETag")}}).status, 304);
  HttpResponse js = anon.Get("/js/app.js", {{"Accept-Encoding", "gzip"}});
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.Header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.Header("Content-Encoding"), "gzip");
  EXPECT_EQ(js.body.substr(0, 2), "\x1f\x8b");
  EXPECT_EQ(anon.Get("/vendor/uplot/uPlot.esm.js").status, 200);
  EXPECT_EQ(anon.Get("/no-such-file.js").status, 404);
  // Static files are no API operations.
  const nlohmann::json doc = anon.Get(kV1 + "/openapi.json").Json();
  EXPECT_FALSE(doc["paths"].contains("/"));
  EXPECT_FALSE(doc["paths"].contains("/js/app.js"));
  EXPECT_TRUE(doc["paths"].contains("/api/v1/whoami"));

  std::string admin_key = ReadFile(s.server->options().data_dir + "/admin.key");
  while (!admin_key.empty() && std::isspace(static_cast<unsigned char>(admin_key.back()))) {
    admin_key.pop_back();
  }
  EXPECT_TRUE(IsJsonError(anon.Get(kV1 + "/whoami"), 401));
  HttpClient admin(s.port());
  admin.SetHeader("Authorization", "Bearer " + admin_key);
  HttpResponse me = admin.Get(kV1 + "/whoami");
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.Json()["role"], "admin");
  EXPECT_EQ(me.Json()["auth_enabled"], true);
  EXPECT_EQ(me.body.find(admin_key), std::string::npos);

  ASSERT_EQ(Register(admin, "alice", "Alice Smith", {Clips()[0]}).status, 201);
  ASSERT_EQ(Register(admin, "bob", "Robert", {Clips()[1]}).status, 201);
  ASSERT_EQ(Register(admin, "carol", "Caroline", {Clips()[2]}).status, 201);
  auto ids = [&](const std::string& query) {
    HttpResponse r = admin.Get(kV1 + "/voiceprints?" + query);
    std::vector<std::string> out;
    if (r.status != 200) return std::vector<std::string>{"status " + std::to_string(r.status)};
    const nlohmann::json page = r.Json();  // range-for over a temporary's member would dangle
    for (const auto& v : page["voiceprints"]) out.push_back(v["user_id"]);
    return out;
  };
  EXPECT_EQ(ids("q=SMITH"), std::vector<std::string>{"alice"});  // by name, any case
  EXPECT_EQ(ids("q=ro"), (std::vector<std::string>{"bob", "carol"}));
  EXPECT_EQ(ids("q=ro&limit=1&offset=1"), std::vector<std::string>{"carol"});
  EXPECT_EQ(admin.Get(kV1 + "/voiceprints?q=ro&limit=1").Json()["total"], 2);
  EXPECT_TRUE(ids("q=nobody").empty());
  EXPECT_TRUE(IsJsonError(admin.Get(kV1 + "/voiceprints?q=" + std::string(300, 'a')), 400));

  // The audit log by time: newest first, `since`/`until` inclusive ISO 8601 UTC.
  auto audit = [&](const std::string& query) {
    HttpResponse r = admin.Get(kV1 + "/audit?" + query);
    return r.status == 200 ? r.Json() : nlohmann::json{{"status", r.status}};
  };
  const nlohmann::json all = audit("action=register");
  ASSERT_EQ(all["events"].size(), 3u) << all.dump();
  const std::string oldest = all["events"][2]["ts"], newest = all["events"][0]["ts"];
  EXPECT_EQ(audit("since=2000-01-01T00:00:00Z&action=register")["events"].size(), 3u);
  EXPECT_EQ(audit("since=2999-01-01T00:00:00Z")["events"].size(), 0u);
  EXPECT_EQ(audit("until=2000-01-01T00:00:00.000Z")["events"].size(), 0u);
  const nlohmann::json first = audit("action=register&until=" + oldest);
  ASSERT_EQ(first["events"].size(), 1u) << first.dump();
  EXPECT_EQ(first["events"][0]["user_id"], "alice");
  const nlohmann::json paged = audit("action=register&since=" + oldest + "&limit=2");
  EXPECT_EQ(paged["events"].size(), 2u);
  EXPECT_EQ(paged["more"], true);
  EXPECT_EQ(paged["events"][0]["ts"], newest);
  EXPECT_EQ(audit("since=yesterday")["status"], 400);
  EXPECT_EQ(audit("until=2026-13-01T00:00:00Z")["status"], 400);

  const nlohmann::json stats = admin.Get(kV1 + "/stats").Json()["statistics"];
  EXPECT_GT(stats["http"]["requests_total"].get<int>(), 10);
  EXPECT_GT(stats["http"]["latency_p99_ms"].get<double>(), 0.0);
  EXPECT_EQ(stats["voiceprint_engine"]["quality_gates"]["enroll_min_total_speech_s"], 3.0);
}

TEST(ServeTest, KillNineMidLoadLosesNoAcknowledgedWrite) {
  TempDir dir;
  const std::string data_dir = dir.Sub("data");
  ServerProcess server({.data_dir = data_dir});
  START_OR_FAIL(server);
  const uint16_t port = server.port();

  struct Acked {
    int samples = 0;   // samples in 2xx answers
    std::string file;  // one of its enrolled recordings
  };
  std::mutex mu;
  std::map<std::string, Acked> acked;  // guarded by mu
  std::set<std::string> attempted;     // guarded by mu
  std::atomic<int> successes{0};
  std::atomic<bool> stop{false};
  std::atomic<int> in_flight{0};
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient c(port, {.timeout = 20000ms});
      std::mt19937 rng(t);
      for (int i = 0; !stop; ++i) {
        const std::string id = "u" + std::to_string(t) + "_" + std::to_string(i);
        const auto& clips = Clips();
        std::vector<std::string> files = {clips[rng() % clips.size()]};
        if (i % 3 == 1) files.push_back(clips[rng() % clips.size()]);  // several samples
        for (int round = 0; round < (i % 4 == 2 ? 2 : 1); ++round) {   // some add samples later
          {
            std::lock_guard lock(mu);
            attempted.insert(id);
          }
          ++in_flight;
          HttpResponse r = Register(c, id, "User " + id, files, round ? "audio" : "audio[]");
          --in_flight;
          if (r.status == 0) return;  // the server is gone
          if (r.status == 200 || r.status == 201) {
            std::lock_guard lock(mu);
            acked[id].samples += r.Json()["samples_used"].get<int>();
            acked[id].file = files[0];
            ++successes;
          } else {
            ADD_FAILURE() << id << ": " << r.status << " " << r.body;
          }
        }
      }
    });
  }
  const auto t0 = Clock::now();
  while (successes < 40 && Clock::now() - t0 < 120s) std::this_thread::sleep_for(5ms);
  ASSERT_GE(successes.load(), 40) << server.Output();
  // kill -9 while registrations are in flight (4 clients back to back: nearly always some are).
  const int in_flight_at_kill = in_flight;
  server.Kill();
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_GT(in_flight_at_kill, 0);

  ServerProcess restarted({.data_dir = data_dir});
  START_OR_FAIL(restarted);
  HttpClient c(restarted.port());
  const std::map<std::string, json> listed = ListAll(c);
  int samples = 0;
  for (const auto& [id, a] : acked) {
    SCOPED_TRACE(id);
    HttpResponse r = c.Get(UserPath(id));
    ASSERT_EQ(r.status, 200) << "acknowledged user lost: " << r.body;
    const json j = r.Json();
    // An add-samples call cut off by the kill may have committed without being acknowledged.
    EXPECT_GE(j["samples"].size(), static_cast<size_t>(a.samples));
    EXPECT_EQ(j["status"], "active");
    EXPECT_TRUE(listed.count(id));
    r = Verify(c, id, a.file);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json()["verified"], true) << r.body;
  }
  // Users whose registration was cut off are either complete or absent, never half there.
  for (const auto& [id, v] : listed) {
    EXPECT_TRUE(attempted.count(id)) << "unknown user " << id;
    HttpResponse r = c.Get(UserPath(id));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_GE(r.Json()["samples"].size(), 1u);
    EXPECT_EQ(r.Json()["samples"].size(), v["num_samples"].get<size_t>());
    samples += static_cast<int>(r.Json()["samples"].size());
  }
  HttpResponse r = c.Get(kV1 + "/storage/stats");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["storage_stats"]["users"].get<size_t>(), listed.size());
  EXPECT_EQ(r.Json()["storage_stats"]["samples"].get<int>(), samples);
  EXPECT_EQ(r.Json()["storage_stats"]["healthy"], true);
  r = c.Get(kV1 + "/stats");
  EXPECT_EQ(r.Json()["statistics"]["voiceprint_engine"]["indexed_users"].get<size_t>(),
            listed.size());
  EXPECT_EQ(MetricSum(c.Get("/metrics").body, "voxgate_enrolled_users"),
            static_cast<double>(listed.size()))
      << "the gauge starts from what the store holds";
  EXPECT_EQ(restarted.Stop(), 0) << restarted.Output();
}

// ---- 4. concurrency --------------------------------------------------------------------------

TEST(ServeTest, ParallelRegisterVerifyDeleteOnSameUsersStaysConsistent) {
  Served s;
  START_OR_FAIL(*s.server);
  const uint16_t port = s.port();
  const std::vector<std::string> users = {"c0", "c1", "c2", "c3"};
  auto file_of = [&](const std::string& id) { return Clips()[(id[1] - '0') * 2]; };

  std::mutex mu;
  std::map<int, int> codes;      // guarded by mu: status -> count
  std::vector<std::string> bad;  // guarded by mu
  constexpr int kThreads = 6, kOps = 30;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient c(port, {.timeout = 30000ms});
      std::mt19937 rng(100 + t);
      for (int i = 0; i < kOps; ++i) {
        const std::string& id = users[rng() % users.size()];
        const int op = static_cast<int>(rng() % 10);
        HttpResponse r;
        std::string what;
        if (op < 3) {
          what = "register";
          r = Register(c, id, "User " + id, {file_of(id)});
        } else if (op < 6) {
          what = "verify";
          r = Verify(c, id, file_of(id));
        } else if (op < 7) {
          what = "identify";
          r = Identify(c, file_of(id), 10);
        } else if (op < 8) {
          what = "delete";
          r = c.Delete(UserPath(id));
        } else if (op < 9) {
          what = "get";
          r = c.Get(UserPath(id));
        } else {
          what = "status";
          r = c.Put(UserPath(id) + "/status",
                    rng() % 2 ? R"({"status":"active"})" : R"({"status":"inactive"})");
        }
        std::lock_guard lock(mu);
        ++codes[r.status];
        const bool ok = r.status == 200 || r.status == 201 ||
                        (r.status == 404 && what != "identify") ||
                        (r.status == 503 && !r.Header("Retry-After").empty());
        if (!ok) bad.push_back(what + " " + id + ": " + std::to_string(r.status) + " " + r.body);
        if (r.status == 404 && !IsJsonError(r, 404, "not_found")) bad.push_back(r.body);
        if (what == "verify" && r.status == 200 && r.Json()["user_id"] != id) bad.push_back(r.body);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(bad.empty()) << bad.size() << " bad answers, first: " << bad.front();
  std::string summary;
  for (auto [code, n] : codes) summary += std::to_string(code) + "x" + std::to_string(n) + " ";
  SCOPED_TRACE("status counts: " + summary);
  EXPECT_GT(codes[200] + codes[201], kThreads * kOps / 2);

  // Afterwards every view agrees: GET, the list, verify, identify, the stats.
  HttpClient c(port);
  const std::map<std::string, json> listed = ListAll(c);
  std::set<std::string> active;
  int samples = 0;
  for (const auto& id : users) {
    SCOPED_TRACE(id);
    HttpResponse r = c.Get(UserPath(id));
    if (r.status == 404) {
      EXPECT_FALSE(listed.count(id)) << "deleted user still listed";
      EXPECT_TRUE(IsJsonError(Verify(c, id, file_of(id)), 404));
      continue;
    }
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_TRUE(listed.count(id)) << "present user not listed";
    const json j = r.Json();
    EXPECT_EQ(j["status"], listed.at(id)["status"]);
    EXPECT_EQ(j["version"], listed.at(id)["version"]);
    EXPECT_EQ(j["samples"].size(), listed.at(id)["num_samples"].get<size_t>());
    samples += static_cast<int>(j["samples"].size());
    r = Verify(c, id, file_of(id));
    ASSERT_EQ(r.status, 200) << r.body;
    if (j["status"] == "active") {
      active.insert(id);
      EXPECT_EQ(r.Json()["verified"], true) << r.body;
    } else {
      EXPECT_EQ(r.Json()["verified"], false) << r.body;
    }
  }
  EXPECT_EQ(listed.size(), [&] {
    size_t n = 0;
    for (const auto& id : users) n += c.Get(UserPath(id)).status == 200;
    return n;
  }());
  // The 1:N index holds exactly the active users.
  HttpResponse r = Identify(c, file_of(users[0]), 10);
  ASSERT_EQ(r.status, 200) << r.body;
  std::set<std::string> identified;
  for (const json body = r.Json(); const auto& m : body["matches"])
    identified.insert(m["user_id"].get<std::string>());
  EXPECT_EQ(identified, active);
  r = c.Get(kV1 + "/stats");
  EXPECT_EQ(r.Json()["statistics"]["voiceprint_engine"]["indexed_users"].get<size_t>(),
            active.size());
  r = c.Get(kV1 + "/storage/stats");
  EXPECT_EQ(r.Json()["storage_stats"]["users"].get<size_t>(), listed.size());
  EXPECT_EQ(r.Json()["storage_stats"]["samples"].get<int>(), samples);
  EXPECT_TRUE(Healthy(port));
  EXPECT_EQ(s.server->Stop(), 0);
}

// ---- 5. bad input ----------------------------------------------------------------------------

// One server for the whole battery, with a 1 MB body limit and a 1 s body timeout; after each test
// it must still be healthy.
class ServeBadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    served_ = new Served({.env = {{"VOXGATE_SERVER_MAX_BODY_BYTES", "1000000"},
                                  {"VOXGATE_SERVER_BODY_TIMEOUT_S", "1"}}});
    if (!served_->server->Start()) {
      start_error_ = served_->server->error();
      return;
    }
    HttpClient c(served_->port());
    HttpResponse r = Register(c, "known", "Known", {Clips()[0]});
    if (r.status != 201) start_error_ = "cannot register: " + r.body;
  }
  static void TearDownTestSuite() {
    if (served_->server->running()) {
      EXPECT_EQ(served_->server->Stop(), 0);
    }
    delete served_;
    served_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(start_error_.empty()) << start_error_;
    client_ = std::make_unique<HttpClient>(served_->port());
  }
  void TearDown() override {
    EXPECT_TRUE(served_->server->running()) << served_->server->Output();
    EXPECT_TRUE(Healthy(served_->port())) << "the server is not healthy after this test";
    HttpClient c(served_->port());
    EXPECT_EQ(c.Get(UserPath("known")).status, 200) << "the store lost a user";
    EXPECT_EQ(MetricSum(c.Get("/metrics").body, "voxgate_http_requests_total", "status=\"5"), 0.0)
        << "bad input must never be answered with a 5xx";
  }

  uint16_t port() const { return served_->port(); }
  HttpClient& c() { return *client_; }

  HttpResponse PostRaw(const std::string& target, std::string body,
                       const std::string& content_type) {
    return c().Post(target, std::move(body), {}, content_type);
  }

  static Served* served_;
  static std::string start_error_;
  std::unique_ptr<HttpClient> client_;
};
Served* ServeBadInputTest::served_ = nullptr;
std::string ServeBadInputTest::start_error_;

TEST_F(ServeBadInputTest, MalformedMultipart) {
  const std::string audio = Bytes(Clips()[0]);
  const std::string part =
      "--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nBob\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"a.flac\"\r\n"
      "Content-Type: audio/flac\r\n\r\n" +
      audio + "\r\n";
  const std::string target = kV1 + "/voiceprint/register";
  // No boundary parameter.
  EXPECT_TRUE(IsJsonError(PostRaw(target, part + "--XyZ--\r\n", "multipart/form-data"), 400,
                          "invalid_argument"));
  // Cut off in the middle of the audio part.
  EXPECT_TRUE(IsJsonError(
      PostRaw(target, part.substr(0, part.size() / 2), "multipart/form-data; boundary=XyZ"), 400));
  // No closing boundary.
  EXPECT_TRUE(IsJsonError(PostRaw(target, part, "multipart/form-data; boundary=XyZ"), 400));
  // A boundary that never occurs.
  EXPECT_TRUE(
      IsJsonError(PostRaw(target, part + "--XyZ--\r\n", "multipart/form-data; boundary=Q"), 400));
  // A part without a name.
  EXPECT_TRUE(
      IsJsonError(PostRaw(target,
                          "--XyZ\r\nContent-Disposition: form-data; filename=\"a.flac\"\r\n\r\n" +
                              audio + "\r\n--XyZ--\r\n",
                          "multipart/form-data; boundary=XyZ"),
                  400));
  // Headers of a part that never end.
  EXPECT_TRUE(
      IsJsonError(PostRaw(target, "--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n",
                          "multipart/form-data; boundary=XyZ"),
                  400));
  // Empty body.
  EXPECT_TRUE(IsJsonError(PostRaw(target, "", "multipart/form-data; boundary=XyZ"), 400));
  // The same body well-formed is accepted (the battery is not refusing everything).
  HttpResponse r = PostRaw(target, part + "--XyZ--\r\n", "multipart/form-data; boundary=XyZ");
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(c().Delete(UserPath(r.Json().value("user_id", "x"))).status, 200);
}

TEST_F(ServeBadInputTest, MalformedJsonAndWrongTypes) {
  const std::string reg = kV1 + "/voiceprint/register", ver = kV1 + "/voiceprint/verify",
                    idf = kV1 + "/voiceprint/identify";
  const std::string b64 = Base64(Bytes(Clips()[0]));
  EXPECT_TRUE(IsJsonError(PostRaw(reg, R"({"name": "x", "audio": )", "application/json"), 400,
                          "invalid_argument"));
  EXPECT_TRUE(IsJsonError(PostRaw(reg, "", "application/json"), 400));
  EXPECT_TRUE(IsJsonError(PostRaw(reg, "[1,2]", "application/json"), 400));
  EXPECT_TRUE(IsJsonError(PostRaw(reg, "\"just a string\"", "application/json"), 400));
  EXPECT_TRUE(IsJsonError(c().PostJson(reg, {{"name", "x"}, {"audio", 123}}), 400));
  EXPECT_TRUE(IsJsonError(c().PostJson(reg, {{"name", "x"}, {"audio", {{"a", 1}}}}), 400));
  EXPECT_TRUE(IsJsonError(c().PostJson(reg, {{"name", "x"}, {"audio", "not*base64!"}}), 400));
  EXPECT_TRUE(
      IsJsonError(c().PostJson(reg, {{"name", "x"}, {"audio", json::array({b64, 7})}}), 400));
  // threshold must be a number in [-1, 1]; top_k an integer in [1, 100].
  for (const json& t : {json("abc"), json(""), json("0.5x"), json(2.0), json(-1.5),
                        json::array({0.5}), json("nan"), json("inf")}) {
    if (t == json("")) continue;  // empty means "the default"
    EXPECT_TRUE(IsJsonError(
        c().PostJson(ver, {{"user_id", "known"}, {"threshold", t}, {"audio", b64}}), 400))
        << t;
  }
  EXPECT_TRUE(IsJsonError(Verify(c(), "known", Clips()[0], "abc"), 400));
  for (const json& k : {json(0), json(1000), json("x"), json(-1), json(2.5), json(true)}) {
    EXPECT_TRUE(IsJsonError(c().PostJson(idf, {{"top_k", k}, {"audio", b64}}), 400)) << k;
  }
  EXPECT_TRUE(
      IsJsonError(c().PostMultipart(idf, {Field("top_k", "0"), AudioPart(Clips()[0])}), 400));
  EXPECT_TRUE(
      IsJsonError(c().PostMultipart(idf, {Field("top_k", "1000"), AudioPart(Clips()[0])}), 400));
  // metadata must be a JSON object.
  EXPECT_TRUE(IsJsonError(
      c().PostMultipart(
          reg, {Field("name", "m"), Field("metadata", "{not json"), AudioPart(Clips()[0])}),
      400));
  EXPECT_TRUE(
      IsJsonError(c().PostJson(reg, {{"name", "m"}, {"metadata", 5}, {"audio", b64}}), 400));
}

TEST_F(ServeBadInputTest, MissingFields) {
  const std::string reg = kV1 + "/voiceprint/register";
  // No name.
  HttpResponse r = c().PostMultipart(reg, {Field("user_id", "noname"), AudioPart(Clips()[0])});
  EXPECT_TRUE(IsJsonError(r, 400, "invalid_argument"));
  EXPECT_NE(r.Json().value("error", "").find("name"), std::string::npos) << r.body;
  EXPECT_TRUE(IsJsonError(c().PostJson(reg, {{"audio", Base64(Bytes(Clips()[0]))}}), 400));
  EXPECT_TRUE(IsJsonError(c().PostMultipart(reg, {Field("name", ""), AudioPart(Clips()[0])}), 400));
  // No audio.
  r = c().PostMultipart(reg, {Field("name", "Nobody")});
  EXPECT_TRUE(IsJsonError(r, 400, "invalid_argument"));
  EXPECT_NE(r.Json().value("error", "").find("audio"), std::string::npos) << r.body;
  EXPECT_TRUE(IsJsonError(c().PostJson(reg, {{"name", "Nobody"}}), 400));
  EXPECT_TRUE(IsJsonError(c().PostJson(reg, {{"name", "Nobody"}, {"audio", json::array()}}), 400));
  EXPECT_TRUE(
      IsJsonError(c().PostMultipart(kV1 + "/voiceprint/verify", {Field("user_id", "known")}), 400));
  EXPECT_TRUE(
      IsJsonError(c().PostMultipart(kV1 + "/voiceprint/identify", {Field("top_k", "3")}), 400));
  // Verify takes exactly one recording.
  EXPECT_TRUE(IsJsonError(
      c().PostMultipart(kV1 + "/voiceprint/verify",
                        {Field("user_id", "known"), AudioPart(Clips()[0]), AudioPart(Clips()[1])}),
      400));
  // Too many samples in one register call.
  std::vector<std::string> many(11, AudioFixture("speech.mp3"));  // under the 1 MB limit
  EXPECT_TRUE(IsJsonError(Register(c(), "many", "Many", many), 400));
  EXPECT_EQ(c().Get(UserPath("noname")).status, 404);
}

TEST_F(ServeBadInputTest, CorruptAndNonAudioFiles) {
  const std::string reg = kV1 + "/voiceprint/register";
  for (const char* name : {"random.bin", "text.wav"}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(IsJsonError(Register(c(), "bad", "Bad", {AudioFixture(name)}), 415, "unsupported"));
    EXPECT_TRUE(IsJsonError(Verify(c(), "known", AudioFixture(name)), 415));
    EXPECT_TRUE(IsJsonError(Identify(c(), AudioFixture(name), 3), 415));
  }
  // Empty containers.
  for (const char* name : {"empty.wav", "zero_samples.wav"}) {
    SCOPED_TRACE(name);
    HttpResponse r = Register(c(), "bad", "Bad", {AudioFixture(name)});
    EXPECT_GE(r.status, 400) << r.body;
    EXPECT_LT(r.status, 500) << r.body;
    EXPECT_TRUE(IsJsonError(r, r.status));
    r = Verify(c(), "known", AudioFixture(name));
    EXPECT_LT(r.status, 500) << r.body;
  }
  // One good and one bad sample: nothing is stored.
  EXPECT_TRUE(
      IsJsonError(Register(c(), "half", "Half", {Clips()[0], AudioFixture("random.bin")}), 415));
  EXPECT_EQ(c().Get(UserPath("bad")).status, 404);
  EXPECT_EQ(c().Get(UserPath("half")).status, 404);
}

// A truncated upload is the client's problem: some 4xx JSON error, never a 500.
TEST_F(ServeBadInputTest, TruncatedAudioIsAClientError) {
  for (const char* name : {"truncated.wav", "truncated.mp3", "truncated.flac", "truncated.m4a",
                           "truncated_opus.ogg"}) {
    SCOPED_TRACE(name);
    HttpResponse r = Register(c(), "bad", "Bad", {AudioFixture(name)});
    EXPECT_GE(r.status, 400) << r.body;
    EXPECT_LT(r.status, 500) << r.body;
    EXPECT_TRUE(IsJsonError(r, r.status));
    r = Verify(c(), "known", AudioFixture(name));
    EXPECT_GE(r.status, 400) << r.body;
    EXPECT_LT(r.status, 500) << r.body;
    r = Identify(c(), AudioFixture(name), 3);
    EXPECT_GE(r.status, 400) << r.body;
    EXPECT_LT(r.status, 500) << r.body;
  }
  EXPECT_EQ(c().Get(UserPath("bad")).status, 404);
}

TEST_F(ServeBadInputTest, SilenceIsUnusableForEnrollmentAndInconclusiveForVerify) {
  const std::string silence = TestDataPath("cli/silence.wav");
  ASSERT_FALSE(Bytes(silence).empty()) << silence;
  EXPECT_TRUE(IsJsonError(Register(c(), "quiet", "Quiet", {silence}), 422, "unusable"));
  EXPECT_EQ(c().Get(UserPath("quiet")).status, 404);
  HttpResponse r = Verify(c(), "known", silence);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["inconclusive"], true);
  EXPECT_EQ(r.Json()["verified"], false);
  EXPECT_FALSE(r.Json().value("reason", "").empty());
  r = Verify(c(), "", silence);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["inconclusive"], true);
  EXPECT_GE(MetricSum(c().Get("/metrics").body, "voxgate_verifications_total", "inconclusive"),
            2.0);
}

TEST_F(ServeBadInputTest, UnknownUsers) {
  EXPECT_TRUE(IsJsonError(c().Get(UserPath("nobody")), 404, "not_found"));
  EXPECT_TRUE(IsJsonError(c().Delete(UserPath("nobody")), 404, "not_found"));
  EXPECT_TRUE(IsJsonError(c().Put(UserPath("nobody") + "/status", R"({"status":"active"})"), 404));
  EXPECT_TRUE(IsJsonError(Verify(c(), "nobody", Clips()[0]), 404, "not_found"));
}

TEST_F(ServeBadInputTest, UserIdsWithPathAndSqlMetacharacters) {
  const std::vector<std::string> in_path = {
      "..%2Fx",                                  // ../x
      "a%2Fb",                                   // a/b
      "x%27%3BDROP%20TABLE%20voiceprints%3B--",  // x';DROP TABLE voiceprints;--
      "x%27%20OR%20%271%27%3D%271",              // x' OR '1'='1
      "%2E%2E",                                  // ..
      "a%00b",
      std::string(300, 'a'),
      std::string(129, 'b'),
      "caf%C3%A9",
      "%",
  };
  for (const auto& id : in_path) {
    SCOPED_TRACE(id.substr(0, 40));
    EXPECT_TRUE(IsJsonError(c().Get(UserPath(id)), 400, "invalid_argument"));
    EXPECT_TRUE(IsJsonError(c().Delete(UserPath(id)), 400));
    EXPECT_TRUE(IsJsonError(c().Put(UserPath(id) + "/status", R"({"status":"blocked"})"), 400));
  }
  const std::vector<std::string> in_body = {"../x",
                                            "a/b",
                                            "x';DROP TABLE voiceprints;--",
                                            "x' OR '1'='1",
                                            ".hidden",
                                            "..",
                                            std::string(300, 'a'),
                                            "a b",
                                            "caf\xC3\xA9",
                                            std::string("a\0b", 3),
                                            "a\r\nb"};
  for (const auto& id : in_body) {
    SCOPED_TRACE(id.substr(0, 40));
    EXPECT_TRUE(IsJsonError(Register(c(), id, "Evil", {Clips()[0]}), 400, "invalid_argument"));
    EXPECT_TRUE(IsJsonError(Verify(c(), id, Clips()[0]), 400));
  }
  EXPECT_TRUE(IsJsonError(
      c().PostJson(kV1 + "/voiceprint/register", {{"user_id", "x';DROP TABLE voiceprints;--"},
                                                  {"name", "Evil"},
                                                  {"audio", Base64(Bytes(Clips()[0]))}}),
      400));
  // ../ in the path itself never reaches a file.
  EXPECT_GE(c().Get("/api/v1/voiceprint/../../etc/passwd").status, 400);
  EXPECT_LT(c().Get("/api/v1/voiceprint/../../etc/passwd").status, 500);
  // Legal ids with every allowed punctuation mark work, and the table is still there.
  HttpResponse r = Register(c(), "a.b-c_d@e.f", "Punct", {Clips()[0]});
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(c().Get(UserPath("a.b-c_d@e.f")).status, 200);
  EXPECT_EQ(c().Delete(UserPath("a.b-c_d@e.f")).status, 200);
  EXPECT_EQ(c().Get(kV1 + "/voiceprints").Json()["total"], 1);
}

TEST_F(ServeBadInputTest, BodyOverTheLimitIs413) {
  // 2 MB against a 1 MB limit: answered from the Content-Length, before the body is read.
  std::string big(2'000'000, 'x');
  auto [body, type] =
      BuildMultipart({Field("name", "Big"), File("audio", big, "big.wav", "audio/wav")});
  const std::string head = "POST " + kV1 +
                           "/voiceprint/register HTTP/1.1\r\nHost: x\r\nContent-Type: " + type +
                           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  RawConnection raw(port());
  ASSERT_TRUE(raw.connected());
  bool closed = false;
  const std::string reply = raw.SendWhileReading(head + body, 10s, &closed);
  EXPECT_EQ(RawStatus(reply), 413) << reply.substr(0, 300);
  EXPECT_NE(reply.find("\"too_large\""), std::string::npos) << reply.substr(0, 400);
  EXPECT_TRUE(closed);
  // Chunked, so the size is only known while reading.
  RawConnection chunked(port());
  std::string chunks = "POST " + kV1 +
                       "/voiceprint/register HTTP/1.1\r\nHost: x\r\nContent-Type: " + type +
                       "\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t i = 0; i < body.size(); i += 65536) {
    const std::string piece = body.substr(i, 65536);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    chunks += size + piece + "\r\n";
  }
  chunks += "0\r\n\r\n";
  const std::string reply2 = chunked.SendWhileReading(chunks, 10s, &closed);
  EXPECT_EQ(RawStatus(reply2), 413) << reply2.substr(0, 300);
  // Just under the limit is read (and refused for what it is, not for its size).
  HttpResponse r = c().PostMultipart(
      kV1 + "/voiceprint/register",
      {Field("name", "Small"), File("audio", std::string(900'000, 'x'), "small.wav", "audio/wav")});
  EXPECT_NE(r.status, 413) << r.body;
  EXPECT_GE(r.status, 400);
  EXPECT_LT(r.status, 500);
}

TEST_F(ServeBadInputTest, SlowBodyIsCutOff) {
  RawConnection raw(port());
  ASSERT_TRUE(raw.connected());
  const std::string head = "POST " + kV1 +
                           "/voiceprint/verify HTTP/1.1\r\nHost: x\r\nContent-Type: "
                           "multipart/form-data; boundary=XyZ\r\nContent-Length: 100000\r\n\r\n";
  ASSERT_TRUE(raw.Send(head));
  // One byte every 200 ms: the connection must be closed once the 1 s body timeout has passed.
  const auto t0 = Clock::now();
  bool closed = false;
  std::string reply;
  while (!closed && Clock::now() - t0 < 6s) {
    if (!raw.Send("-", 1000ms)) {
      closed = true;
      break;
    }
    reply += raw.ReadUntilClose(200ms, &closed);
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_TRUE(closed) << "still open after " << elapsed << " s";
  EXPECT_GE(elapsed, 0.8);
  EXPECT_LT(elapsed, 4.0);
  EXPECT_NE(RawStatus(reply), 200);
  // The same for headers that never end: closed after the header timeout (10 s) at the latest;
  // not waited for here. A fresh connection works.
  EXPECT_TRUE(Healthy(port()));
}

TEST_F(ServeBadInputTest, UnknownRoutesMethodsAndContentTypes) {
  EXPECT_TRUE(IsJsonError(c().Get("/no-such-page"), 404, "not_found"));  // "/" is the console
  EXPECT_TRUE(IsJsonError(c().Get(kV1 + "/nope"), 404, "not_found"));
  EXPECT_TRUE(IsJsonError(c().Post(kV1 + "/voiceprint/known/extra", "{}"), 404));
  EXPECT_TRUE(IsJsonError(c().Get("/api/v2/voiceprints"), 404));
  HttpResponse r = c().Put(kV1 + "/voiceprint/register", "{}");
  EXPECT_TRUE(IsJsonError(r, 405, "method_not_allowed"));
  EXPECT_NE(r.Header("Allow").find("POST"), std::string::npos) << r.Header("Allow");
  r = c().Delete(kV1 + "/voiceprints");
  EXPECT_TRUE(IsJsonError(r, 405));
  EXPECT_NE(r.Header("Allow").find("GET"), std::string::npos);
  EXPECT_TRUE(IsJsonError(c().Post("/health", "{}"), 405));
  EXPECT_TRUE(
      IsJsonError(c().Request("PATCH", UserPath("known"), "{}", {}, "application/json"), 405));
  r = c().Request("BREW", UserPath("known"), "");
  EXPECT_GE(r.status, 400);
  EXPECT_LT(r.status, 500);
  // Content types other than multipart/form-data and JSON.
  const std::string reg = kV1 + "/voiceprint/register";
  EXPECT_TRUE(IsJsonError(PostRaw(reg, "name=x", "text/plain"), 415, "unsupported"));
  EXPECT_TRUE(IsJsonError(PostRaw(reg, "name=x", "application/x-www-form-urlencoded"), 415));
  EXPECT_TRUE(IsJsonError(PostRaw(reg, Bytes(Clips()[0]), "audio/flac"), 415));
  EXPECT_TRUE(IsJsonError(PostRaw(reg, "x", ""), 415));
  EXPECT_TRUE(IsJsonError(PostRaw(kV1 + "/voiceprint/verify", "x", "text/plain"), 415));
  // Bad status changes.
  const std::string st = UserPath("known") + "/status";
  EXPECT_TRUE(IsJsonError(c().Put(st, R"({"status":"zombie"})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsJsonError(c().Put(st, R"({"status":1})"), 400));
  EXPECT_TRUE(IsJsonError(c().Put(st, R"({"state":"active"})"), 400));
  EXPECT_TRUE(IsJsonError(c().Put(st, "not json"), 400));
  EXPECT_TRUE(IsJsonError(c().Put(st, ""), 400));
  EXPECT_EQ(c().Get(UserPath("known")).Json()["status"], "active");
  // Bad list parameters.
  EXPECT_TRUE(IsJsonError(c().Get(kV1 + "/voiceprints?status=zombie"), 400));
  EXPECT_TRUE(IsJsonError(c().Get(kV1 + "/voiceprints?limit=0"), 400));
  EXPECT_TRUE(IsJsonError(c().Get(kV1 + "/voiceprints?limit=abc"), 400));
  EXPECT_TRUE(IsJsonError(c().Get(kV1 + "/voiceprints?offset=-1"), 400));
  EXPECT_TRUE(IsJsonError(c().Get(kV1 + "/voiceprints?limit=%ZZ"), 400));
}

TEST_F(ServeBadInputTest, MalformedHttp) {
  auto send = [&](const std::string& bytes) {
    RawConnection raw(port());
    raw.Send(bytes);
    bool closed = false;
    return raw.ReadUntilClose(5s, &closed);
  };
  EXPECT_EQ(RawStatus(send("GARBAGE\r\n\r\n")), 400);
  EXPECT_EQ(RawStatus(send("GET /health HTTP/1.1\r\nContent-Length: x\r\n\r\n")), 400);
  EXPECT_EQ(RawStatus(send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40000, 'a') +
                           "\r\n\r\n")),
            431);
  EXPECT_GE(RawStatus(send("GET /health HTTP/2.0\r\nHost: x\r\n\r\n")), 400);
  const std::string reply = send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(RawStatus(reply), 200);
}

TEST(ServeTest, RateLimitAnswers429WithRetryAfter) {
  Served s({.rate_limit = true,
            .env = {{"VOXGATE_SERVER_RATE_LIMIT_RATE_PER_S", "1"},
                    {"VOXGATE_SERVER_RATE_LIMIT_BURST", "2"}}});
  START_OR_FAIL(*s.server);
  HttpClient c(s.port());
  std::vector<int> codes;
  HttpResponse limited;
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = c.Get(kV1 + "/stats");
    codes.push_back(r.status);
    if (r.status == 429) limited = r;
  }
  EXPECT_EQ(codes[0], 200);
  EXPECT_EQ(codes[1], 200);
  // Burst 2 at 1/s: the third in a row is refused (unless the machine stalls for a second, at most
  // one of the next ones gets a refilled token).
  EXPECT_EQ(codes[2], 429);
  EXPECT_GE(std::count(codes.begin(), codes.end(), 429), 2);
  ASSERT_TRUE(IsJsonError(limited, 429, "resource_exhausted"));
  const int retry_after = std::atoi(limited.Header("Retry-After").c_str());
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 2);
  // Health, readiness and metrics are never limited.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(c.Get("/health").status, 200);
  EXPECT_EQ(c.Get("/metrics").status, 200);
  // After Retry-After the caller is served again.
  std::this_thread::sleep_for(std::chrono::seconds(retry_after) + 100ms);
  EXPECT_EQ(c.Get(kV1 + "/stats").status, 200);
  HttpResponse m = c.Get("/metrics");
  EXPECT_GE(MetricSum(m.body, "voxgate_http_requests_total"), 10.0);
  EXPECT_NE(m.body.find("429"), std::string::npos);
  EXPECT_EQ(s.server->Stop(), 0);
}

TEST(ServeTest, FullInferenceQueueAnswers503WithRetryAfter) {
  Served s(
      {.env = {{"VOXGATE_INFERENCE_THREADS", "1"}, {"VOXGATE_INFERENCE_QUEUE_CAPACITY", "1"}}});
  START_OR_FAIL(*s.server);
  {
    HttpClient c(s.port());
    ASSERT_EQ(Register(c, "known", "Known", {Clips()[0]}).status, 201);
  }
  // A long recording (about 40 s) keeps the single worker busy while the rest arrive at once.
  const std::string long_wav = RepeatedWav(AudioFixture("speech_s16.wav"), 10);
  constexpr int kClients = 12;
  std::barrier start(kClients);
  std::mutex mu;
  std::vector<HttpResponse> responses;
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&] {
      HttpClient c(s.port(), {.timeout = 60000ms});
      c.Get("/health");  // connected before the burst
      start.arrive_and_wait();
      HttpResponse r =
          c.PostMultipart(kV1 + "/voiceprint/verify",
                          {Field("user_id", "known"), File("audio", long_wav, "long.wav")});
      std::lock_guard lock(mu);
      responses.push_back(std::move(r));
    });
  }
  for (auto& t : threads) t.join();
  int ok = 0, busy = 0;
  for (const auto& r : responses) {
    if (r.status == 200) {
      ++ok;
      EXPECT_EQ(r.Json()["success"], true);
    } else {
      EXPECT_TRUE(IsJsonError(r, 503, "unavailable"));
      EXPECT_EQ(r.Header("Retry-After"), "1");
      ++busy;
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(busy, 1);
  EXPECT_EQ(ok + busy, kClients);
  HttpClient c(s.port());
  HttpResponse m = c.Get("/metrics");
  EXPECT_EQ(MetricSum(m.body, "voxgate_inference_tasks_total", "outcome=\"rejected\""), busy)
      << m.body.substr(0, 3000);
  EXPECT_TRUE(Healthy(s.port()));
  EXPECT_EQ(Verify(c, "known", Clips()[0]).status, 200) << "served again once the queue drains";
  EXPECT_EQ(s.server->Stop(), 0);
}

// ---- 6. graceful shutdown --------------------------------------------------------------------

TEST(ServeTest, SigtermFinishesInFlightVerifyThenRefusesAndExitsZero) {
  Served s({.env = {{"VOXGATE_INFERENCE_THREADS", "1"}}});
  START_OR_FAIL(*s.server);
  const uint16_t port = s.port();
  HttpClient c(port);
  ASSERT_EQ(Register(c, "known", "Known", {Clips()[0]}).status, 201);
  HttpClient idle(port);  // an idle keep-alive connection: closed at shutdown, not waited for
  ASSERT_EQ(idle.Get("/health").status, 200);

  // About 100 s of speech: long enough to still be running when the signal arrives.
  const std::string long_wav = RepeatedWav(AudioFixture("speech_s16.wav"), 25);
  HttpResponse in_flight;
  Clock::time_point answered;
  std::thread verifier([&] {
    HttpClient v(port, {.timeout = 60000ms});
    in_flight = v.PostMultipart(kV1 + "/voiceprint/verify",
                                {Field("user_id", "known"), File("audio", long_wav, "long.wav")});
    answered = Clock::now();
  });
  // Wait until the worker is on it.
  const auto t0 = Clock::now();
  bool busy = false;
  while (!busy && Clock::now() - t0 < 20s) {
    HttpResponse st = c.Get(kV1 + "/stats");
    busy = st.status == 200 &&
           st.Json()["statistics"]["voiceprint_engine"]["inference_busy_workers"].get<int>() > 0;
    if (!busy) std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(busy) << "the verify never started";
  const auto signalled = Clock::now();
  s.server->Signal(SIGTERM);

  // New connections are refused (once the server has taken the signal) while the in-flight
  // request finishes: wait for the refusal itself, not for a fixed time.
  HttpResponse refused;
  for (const auto t0 = Clock::now(); Clock::now() - t0 < 30s;) {
    HttpClient late(port, {.timeout = 2000ms});
    refused = late.Get("/health");
    if (refused.status == 0) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(refused.status, 0) << "new connections were still served after SIGTERM: "
                               << refused.body;

  verifier.join();
  ASSERT_EQ(in_flight.status, 200)
      << in_flight.error << " " << in_flight.body << s.server->Output();
  EXPECT_EQ(in_flight.Json()["success"], true);
  EXPECT_EQ(in_flight.Json()["user_id"], "known");
  EXPECT_GT(answered, signalled) << "the request was not in flight at the signal";
  EXPECT_EQ(in_flight.Header("Connection"), "close");
  // The idle connection was closed by the server.
  HttpResponse after = idle.Get("/health");
  EXPECT_EQ(after.status, 0);
  EXPECT_EQ(s.server->Wait(30s), 0) << s.server->Output();
}

}  // namespace
}  // namespace voxgate::testing
