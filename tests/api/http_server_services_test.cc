// The server's services over real connections: API-key auth, rate limits, the inference pool's
// backpressure, /health, /ready, /metrics, access logs and TLS.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <sstream>
#include <thread>

#include "api/http_client.h"
#include "api/http_server.h"
#include "api/inference_pool.h"

namespace voxgate::api {
namespace {

using testing::Headers;
using testing::HttpClient;
using testing::HttpResponse;

HttpServerConfig TestConfig() { return testing::TestServerConfig(); }

std::filesystem::path TempDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("voxgate_api_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void WhoAmI(const Request& req, Responder r) {
  r.SendJson(200, {{"key_id", req.principal().key_id},
                   {"role", std::string(RoleName(req.principal().role))},
                   {"authenticated", req.principal().authenticated}});
}

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("auth");
    auto keys = ApiKeyManager::Open(dir_.string());
    ASSERT_TRUE(keys.ok());
    keys_ = *keys;
    auto admin = keys_->Create("ops", Role::kAdmin);
    auto client = keys_->Create("app", Role::kClient);
    ASSERT_TRUE(admin.ok() && client.ok());
    admin_key_ = admin->key;
    client_key_ = client->key;
    client_id_ = client->info.id;

    HttpServerConfig c = TestConfig();
    c.auth_enabled = true;
    c.access_log = true;
    logger_ = std::make_shared<spdlog::logger>(
        "access-auth-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_));
    logger_->set_pattern("%v");
    server_ = std::make_unique<HttpServer>(
        c, HttpServerOptions{.registry = nullptr, .keys = keys_, .access_logger = logger_});
    ASSERT_TRUE(server_->Route(Method::kGet, "/client", Access::kClient, WhoAmI).ok());
    ASSERT_TRUE(server_->Route(Method::kDelete, "/admin", Access::kAdmin, WhoAmI).ok());
    ASSERT_TRUE(server_->Route(Method::kGet, "/public", Access::kPublic, WhoAmI).ok());
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::seconds(2));
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::shared_ptr<ApiKeyManager> keys_;
  std::string admin_key_, client_key_, client_id_;
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(AuthTest, MissingOrBadKeyIs401) {
  HttpClient client(server_->port());
  HttpResponse r = client.Get("/client");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Json()["error_code"], "unauthenticated");
  EXPECT_EQ(r.Header("WWW-Authenticate"), "Bearer realm=\"voxgate\"");
  r = client.Get("/client", {{"Authorization", "Bearer vx_notarealkey"}});
  EXPECT_EQ(r.status, 401);
  r = client.Get("/client", {{"Authorization", "Basic dXNlcjpwYXNz"}});
  EXPECT_EQ(r.status, 401);
  r = client.Get("/client", {{"X-API-Key", admin_key_ + "x"}});
  EXPECT_EQ(r.status, 401);
  // Public routes need no key.
  r = client.Get("/public");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["authenticated"], false);
  EXPECT_EQ(client.Get("/health").status, 200);
  EXPECT_EQ(client.Get("/metrics").status, 200);
}

// A browser cannot set headers on a WebSocket upgrade: it offers the key as a subprotocol, and
// the server answers with "voxgate.v1", never echoing the key.
TEST(WebSocketAuthTest, KeyOfferedAsASubprotocolOpensWebSocketRoutesOnly) {
  auto dir = TempDir("ws_auth");
  auto keys = ApiKeyManager::Open(dir.string());
  ASSERT_TRUE(keys.ok());
  auto client_key = (*keys)->Create("browser", Role::kClient);
  ASSERT_TRUE(client_key.ok());
  HttpServerConfig c = TestConfig();
  c.auth_enabled = true;
  HttpServer server(c, HttpServerOptions{.registry = nullptr, .keys = *keys});
  struct Quiet : WebSocketHandler {
    void OnText(std::string_view) override {}
    bool OnBinary(std::span<const uint8_t>) override { return true; }
    void OnClose() override {}
  };
  ASSERT_TRUE(server
                  .WebSocketRoute("/ws", Access::kClient,
                                  [](const Request&, std::shared_ptr<WebSocketConnection>)
                                      -> Result<std::shared_ptr<WebSocketHandler>> {
                                    return std::shared_ptr<WebSocketHandler>(
                                        std::make_shared<Quiet>());
                                  })
                  .ok());
  ASSERT_TRUE(server.Route(Method::kGet, "/plain", Access::kClient, WhoAmI).ok());
  ASSERT_TRUE(server.Start().ok());
  auto upgrade = [&](const std::string& protocols) {
    HttpClient client(server.port());
    return client.Get("/ws", {{"Upgrade", "websocket"},
                              {"Connection", "Upgrade"},
                              {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                              {"Sec-WebSocket-Version", "13"},
                              {"Sec-WebSocket-Protocol", protocols}});
  };
  HttpResponse ok = upgrade("voxgate.v1, voxgate.key." + client_key->key);
  EXPECT_EQ(ok.status, 101);
  EXPECT_EQ(ok.Header("Sec-WebSocket-Protocol"), "voxgate.v1");
  for (const auto& [name, value] : ok.headers) {
    EXPECT_EQ(value.find(client_key->key), std::string::npos) << name;
  }
  EXPECT_EQ(upgrade("voxgate.v1, voxgate.key.vx_wrong").status, 401);
  EXPECT_EQ(upgrade("voxgate.v1").status, 401);
  // On a plain route the subprotocol header is no way in.
  HttpClient client(server.port());
  EXPECT_EQ(
      client.Get("/plain", {{"Sec-WebSocket-Protocol", "voxgate.key." + client_key->key}}).status,
      401);
  server.Shutdown(std::chrono::seconds(1));
  std::filesystem::remove_all(dir);
}

TEST_F(AuthTest, ClientKeyOnAdminRouteIs403) {
  HttpClient client(server_->port());
  client.SetHeader("Authorization", "Bearer " + client_key_);
  HttpResponse r = client.Get("/client");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["key_id"], client_id_);
  EXPECT_EQ(r.Json()["role"], "client");
  r = client.Delete("/admin");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.Json()["error_code"], "permission_denied");
}

TEST_F(AuthTest, AdminKeyOpensEverythingAndXApiKeyWorks) {
  HttpClient client(server_->port());
  EXPECT_EQ(client.Get("/client", {{"Authorization", "Bearer " + admin_key_}}).status, 200);
  EXPECT_EQ(client.Delete("/admin", {{"Authorization", "Bearer " + admin_key_}}).status, 200);
  HttpResponse r = client.Delete("/admin", {{"X-API-Key", admin_key_}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["role"], "admin");
  EXPECT_EQ(client.Get("/client", {{"X-API-Key", client_key_}}).status, 200);
}

TEST_F(AuthTest, RevokedKeyIs401) {
  HttpClient client(server_->port());
  client.SetHeader("Authorization", "Bearer " + client_key_);
  ASSERT_EQ(client.Get("/client").status, 200);
  ASSERT_TRUE(keys_->Revoke(client_id_).ok());
  EXPECT_EQ(client.Get("/client").status, 401);
}

TEST_F(AuthTest, AccessLogHasRequestsButNoSecrets) {
  HttpClient client(server_->port());
  client.Get("/client", {{"Authorization", "Bearer " + client_key_}, {"X-Request-Id", "trace-1"}});
  client.Delete("/admin", {{"X-API-Key", admin_key_}});
  client.Post("/client?token=querysecret", "body-secret",
              {{"Authorization", "Bearer " + admin_key_}});
  logger_->flush();
  std::string log = log_.str();
  EXPECT_EQ(log.find(client_key_), std::string::npos);
  EXPECT_EQ(log.find(admin_key_), std::string::npos);
  EXPECT_EQ(log.find("querysecret"), std::string::npos);
  EXPECT_EQ(log.find("body-secret"), std::string::npos);
  std::istringstream lines(log);
  std::string line;
  int count = 0;
  bool found_trace = false;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    for (const char* key :
         {"ts", "level", "request_id", "method", "route", "status", "duration_ms", "remote"}) {
      EXPECT_TRUE(j.contains(key)) << key << " in " << line;
    }
    if (j["request_id"] == "trace-1") {
      found_trace = true;
      EXPECT_EQ(j["route"], "/client");
      EXPECT_EQ(j["status"], 200);
      EXPECT_EQ(j["key_id"], client_id_);
    }
    ++count;
  }
  EXPECT_EQ(count, 3);
  EXPECT_TRUE(found_trace);
}

TEST(DevModeTest, AuthOffLetsEveryoneIn) {
  HttpServerConfig c = TestConfig();
  c.auth_enabled = false;
  HttpServer server(c);
  ASSERT_TRUE(server.Route(Method::kDelete, "/admin", Access::kAdmin, WhoAmI).ok());
  ASSERT_TRUE(server.Start().ok());
  HttpClient client(server.port());
  HttpResponse r = client.Delete("/admin");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["authenticated"], false);
  EXPECT_EQ(r.Json()["role"], "admin");
  server.Shutdown(std::chrono::seconds(1));
}

TEST(RateLimitTest, Returns429WithRetryAfterThenRecovers) {
  HttpServerConfig c = TestConfig();
  c.rate_limit.enabled = true;
  c.rate_limit.rate_per_s = 2;
  c.rate_limit.burst = 3;
  HttpServer server(c);
  ASSERT_TRUE(server.Route(Method::kGet, "/work", Access::kClient, WhoAmI).ok());
  ASSERT_TRUE(server.Start().ok());
  HttpClient client(server.port());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(client.Get("/work").status, 200) << i;
  HttpResponse r = client.Get("/work");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.Header("Retry-After"), "1");
  EXPECT_EQ(r.Json()["error_code"], "resource_exhausted");
  // Operational routes are not limited.
  EXPECT_EQ(client.Get("/health").status, 200);
  EXPECT_EQ(client.Get("/metrics").status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // one token back at 2/s
  EXPECT_EQ(client.Get("/work").status, 200);
  EXPECT_EQ(client.Get("/work").status, 429);
  server.Shutdown(std::chrono::seconds(1));
}

TEST(RateLimitTest, LimitsArePerKey) {
  auto dir = TempDir("ratekeys");
  auto keys = ApiKeyManager::Open(dir.string());
  ASSERT_TRUE(keys.ok());
  auto a = (*keys)->Create("a", Role::kClient);
  auto b = (*keys)->Create("b", Role::kClient);
  HttpServerConfig c = TestConfig();
  c.auth_enabled = true;
  c.rate_limit.enabled = true;
  c.rate_limit.rate_per_s = 0.01;
  c.rate_limit.burst = 2;
  HttpServer server(
      c, HttpServerOptions{.registry = nullptr, .keys = *keys, .access_logger = nullptr});
  ASSERT_TRUE(server.Route(Method::kGet, "/work", Access::kClient, WhoAmI).ok());
  ASSERT_TRUE(server.Start().ok());
  HttpClient client(server.port());
  Headers ha = {{"Authorization", "Bearer " + a->key}};
  Headers hb = {{"Authorization", "Bearer " + b->key}};
  EXPECT_EQ(client.Get("/work", ha).status, 200);
  EXPECT_EQ(client.Get("/work", ha).status, 200);
  HttpResponse r = client.Get("/work", ha);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.Header("Retry-After"), "100");
  EXPECT_EQ(client.Get("/work", hb).status, 200);
  server.Shutdown(std::chrono::seconds(1));
  std::filesystem::remove_all(dir);
}

TEST(InferencePoolHttpTest, FullQueueAnswers503WithRetryAfter) {
  auto registry = std::make_shared<metrics::Registry>();
  InferencePoolConfig pc;
  pc.threads = 1;
  pc.queue_capacity = 0;
  pc.retry_after_s = 3;
  InferencePool pool(pc, registry);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;

  HttpServer server(
      TestConfig(),
      HttpServerOptions{.registry = registry, .keys = nullptr, .access_logger = nullptr});
  ASSERT_TRUE(server
                  .Route(Method::kPost, "/infer", Access::kClient,
                         [&](const Request&, Responder responder) {
                           SubmitOrReject(pool, responder, [&, gate](Responder r) {
                             if (r.request().Query("block")) {
                               started.set_value();
                               gate.wait();
                             }
                             r.SendJson(200, {{"success", true}});
                           });
                         })
                  .ok());
  ASSERT_TRUE(server.Start().ok());
  const uint16_t port = server.port();
  std::future<HttpResponse> busy = std::async(std::launch::async, [port] {
    HttpClient client(port);
    return client.Post("/infer?block=1", "{}");
  });
  started.get_future().wait();
  HttpClient client(port);
  HttpResponse r = client.Post("/infer", "{}");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("Retry-After"), "3");
  EXPECT_EQ(r.Json()["error_code"], "unavailable");
  std::string metrics = client.Get("/metrics").body;
  EXPECT_NE(metrics.find("voxgate_inference_busy_workers{pool=\"inference\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(
      metrics.find("voxgate_inference_tasks_total{pool=\"inference\",outcome=\"rejected\"} 1"),
      std::string::npos);
  release.set_value();
  EXPECT_EQ(busy.get().status, 200);
  EXPECT_EQ(client.Post("/infer", "{}").status, 200);
  server.Shutdown(std::chrono::seconds(2));
  pool.Shutdown(std::chrono::seconds(2));
}

TEST(BuiltinRoutesTest, HealthReadyAndMetrics) {
  HttpServer server(TestConfig());
  std::atomic<bool> store_up{true};
  server.health().Add("model", [] {
    ComponentHealth h;
    h.details = {{"model_id", "starter-v1"}};
    return h;
  });
  server.health().Add("store", [&] {
    return ComponentHealth{store_up.load(), store_up ? "" : "database is locked", {}};
  });
  ASSERT_TRUE(server.Start().ok());
  HttpClient client(server.port());

  HttpResponse r = client.Get("/health");
  ASSERT_EQ(r.status, 200);
  auto j = r.Json();
  EXPECT_EQ(j["status"], "healthy");
  ASSERT_TRUE(j["timestamp"].is_string());
  std::string ts = j["timestamp"];
  EXPECT_EQ(ts.size(), 24u) << ts;  // 2026-01-02T03:04:05.678Z
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts.back(), 'Z');
  EXPECT_EQ(j["components"]["model"]["status"], "healthy");
  EXPECT_EQ(j["components"]["model"]["model_id"], "starter-v1");
  EXPECT_EQ(j["components"]["http_server"]["status"], "healthy");

  r = client.Get("/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["status"], "ready");

  store_up = false;
  r = client.Get("/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Json()["status"], "not_ready");
  EXPECT_EQ(r.Json()["failing"], nlohmann::json::array({"store"}));
  EXPECT_EQ(r.Json()["components"]["store"], "database is locked");
  r = client.Get("/health");
  EXPECT_EQ(r.status, 200);  // liveness: the process is up
  EXPECT_EQ(r.Json()["status"], "degraded");
  EXPECT_EQ(r.Json()["components"]["store"]["status"], "unhealthy");

  client.Get("/nope");
  r = client.Get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("# TYPE voxgate_http_requests_total counter"), std::string::npos);
  EXPECT_NE(r.body.find("voxgate_http_requests_total{route=\"/health\",method=\"GET\",status="
                        "\"200\"} 2"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("voxgate_http_requests_total{route=\"/ready\",method=\"GET\",status="
                        "\"503\"} 1"),
            std::string::npos);
  EXPECT_NE(r.body.find("voxgate_http_requests_total{route=\"unmatched\",method=\"GET\",status="
                        "\"404\"} 1"),
            std::string::npos);
  EXPECT_NE(r.body.find("voxgate_http_request_duration_seconds_bucket{route=\"/health\",le=\""
                        "+Inf\"} 2"),
            std::string::npos);
  EXPECT_NE(r.body.find("voxgate_http_open_connections 1"), std::string::npos);
  server.Shutdown(std::chrono::seconds(1));
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("tls");
    cert_ = (dir_ / "cert.pem").string();
    key_ = (dir_ / "key.pem").string();
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
        "-nodes -days 1 -subj /CN=localhost -keyout '" +
        key_ + "' -out '" + cert_ + "' >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl CLI failed";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string cert_, key_;
};

TEST_F(TlsTest, ServesHttpsWithASelfSignedCertificate) {
  HttpServerConfig c = TestConfig();
  c.tls_cert_file = cert_;
  c.tls_key_file = key_;
  HttpServer server(c);
  ASSERT_TRUE(server
                  .Route(Method::kPost, "/echo", Access::kPublic,
                         [](const Request& req, Responder r) {
                           r.SendJson(200, {{"body", req.body()}});
                         })
                  .ok());
  Status st = server.Start();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(server.tls());
  HttpClient::Options options;
  options.tls = true;
  HttpClient client(server.port(), options);
  HttpResponse r = client.Get("/health");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.Json()["status"], "healthy");
  r = client.Post("/echo", "over tls");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["body"], "over tls");
  EXPECT_EQ(client.connects(), 1);

  // Plain HTTP to the TLS port fails cleanly and the server carries on.
  HttpClient plain(server.port());
  EXPECT_NE(plain.Get("/health").status, 200);
  HttpClient again(server.port(), options);
  EXPECT_EQ(again.Get("/health").status, 200);
  server.Shutdown(std::chrono::seconds(1));
}

TEST_F(TlsTest, MissingOrBadKeyFailsStartWithoutLeakingIt) {
  HttpServerConfig c = TestConfig();
  c.tls_cert_file = cert_;
  c.tls_key_file = (dir_ / "missing.pem").string();
  HttpServer server(c);
  Status st = server.Start();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("tls_key_file"), std::string::npos) << st.message();

  c.tls_key_file = cert_;  // a certificate is not a key
  HttpServer wrong(c);
  EXPECT_FALSE(wrong.Start().ok());
}

}  // namespace
}  // namespace voxgate::api
