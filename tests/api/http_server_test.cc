// The HTTP server over real loopback connections: routing, limits, timeouts, keep-alive,
// malformed input, concurrency, async handlers and graceful shutdown.
#include "api/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "api/http_client.h"

namespace voxgate::api {
namespace {

using testing::HttpClient;
using testing::HttpResponse;
using testing::RawConnection;
using testing::RawStatus;
using Clock = std::chrono::steady_clock;

HttpServerConfig TestConfig() { return testing::TestServerConfig(); }

// Echoes what the server parsed, as JSON.
void Echo(const Request& req, Responder r) {
  nlohmann::json query = nlohmann::json::object();
  for (const auto& [k, v] : req.query_params()) query[k] = v;
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [k, v] : req.path_params()) params[k] = v;
  r.SendJson(200, {{"method", req.method_name()},
                   {"path", req.path()},
                   {"route", req.route()},
                   {"query", query},
                   {"params", params},
                   {"body_size", req.body().size()},
                   {"remote", req.remote_address()},
                   {"request_id", req.request_id()},
                   {"content_type", std::string(req.Header("content-type").value_or(""))}});
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerConfig config = TestConfig()) {
    server_ = std::make_unique<HttpServer>(config);
    ASSERT_TRUE(
        server_->Route(Method::kGet, "/api/v1/voiceprint/{user_id}", Access::kClient, Echo).ok());
    ASSERT_TRUE(
        server_->Route(Method::kDelete, "/api/v1/voiceprint/{user_id}", Access::kAdmin, Echo).ok());
    ASSERT_TRUE(
        server_->Route(Method::kPut, "/api/v1/voiceprint/{user_id}/status", Access::kAdmin, Echo)
            .ok());
    ASSERT_TRUE(server_->Route(Method::kPost, "/echo", Access::kClient, Echo).ok());
    ASSERT_TRUE(server_->Route(Method::kGet, "/echo", Access::kClient, Echo).ok());
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_NE(server_->port(), 0);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::seconds(2));
  }
  void ExpectHealthy() {
    HttpClient client(server_->port());
    HttpResponse r = client.Get("/health");
    EXPECT_EQ(r.status, 200) << r.error;
  }

  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, RoutesWithDecodedParamsAndQuery) {
  StartServer();
  HttpClient client(server_->port());
  HttpResponse r = client.Get("/api/v1/voiceprint/al%20ice?limit=10&name=J%C3%BCrgen+X&flag");
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  auto j = r.Json();
  EXPECT_EQ(j["route"], "/api/v1/voiceprint/{user_id}");
  EXPECT_EQ(j["params"]["user_id"], "al ice");
  EXPECT_EQ(j["query"]["limit"], "10");
  EXPECT_EQ(j["query"]["name"], "J\xc3\xbcrgen X");
  EXPECT_EQ(j["query"]["flag"], "");
  EXPECT_EQ(j["remote"], "127.0.0.1");
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.Header("X-Request-Id"), j["request_id"]);

  r = client.Put("/api/v1/voiceprint/bob/status", R"({"status":"blocked"})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["params"]["user_id"], "bob");
  EXPECT_EQ(r.Json()["body_size"], 20);
}

TEST_F(HttpServerTest, UnknownRouteIs404AndWrongMethodIs405WithAllow) {
  StartServer();
  HttpClient client(server_->port());
  HttpResponse r = client.Get("/api/v1/nope");
  EXPECT_EQ(r.status, 404);
  auto j = r.Json();
  EXPECT_EQ(j["success"], false);
  EXPECT_EQ(j["error_code"], "not_found");
  EXPECT_TRUE(j["error"].is_string());
  EXPECT_EQ(j["request_id"], r.Header("X-Request-Id"));

  r = client.Post("/api/v1/voiceprint/alice", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("Allow"), "DELETE, GET");
  EXPECT_EQ(r.Json()["error_code"], "method_not_allowed");

  r = client.Request("BREW", "/health", "");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("Allow"), "GET");
}

TEST_F(HttpServerTest, BadPathParamsAndTargetsAre400) {
  StartServer();
  HttpClient client(server_->port());
  for (const char* target :
       {"/api/v1/voiceprint/a%2Fb", "/api/v1/voiceprint/a%00b", "/api/v1/voiceprint/%2e%2e",
        "/api/v1/voiceprint/a%zz", "/echo?x=%G0", "/echo?x=%00"}) {
    HttpResponse r = client.Get(target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(r.Json()["error_code"], "invalid_argument") << target;
  }
  HttpResponse r = client.Get("/api/v1/voiceprint/" + std::string(300, 'x'));
  EXPECT_EQ(r.status, 400);
  // The connection survives client errors.
  EXPECT_EQ(client.connects(), 1);
  EXPECT_EQ(client.Get("/health").status, 200);
}

TEST_F(HttpServerTest, RequestIdIsTakenFromTheClientWhenWellFormed) {
  StartServer();
  HttpClient client(server_->port());
  HttpResponse r = client.Get("/echo", {{"X-Request-Id", "client-id-42"}});
  EXPECT_EQ(r.Header("X-Request-Id"), "client-id-42");
  EXPECT_EQ(r.Json()["request_id"], "client-id-42");
  r = client.Get("/echo", {{"X-Request-Id", "bad id with spaces"}});
  EXPECT_NE(r.Header("X-Request-Id"), "bad id with spaces");
  EXPECT_EQ(r.Header("X-Request-Id").size(), 16u);
}

TEST_F(HttpServerTest, KeepAliveReusesOneConnection) {
  StartServer();
  HttpClient client(server_->port());
  for (int i = 0; i < 200; ++i) {
    HttpResponse r = client.Post("/echo?i=" + std::to_string(i), std::string(i * 10, 'x'));
    ASSERT_EQ(r.status, 200) << r.error;
    ASSERT_EQ(r.Json()["body_size"], i * 10);
  }
  EXPECT_EQ(client.connects(), 1);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(
      raw.Send("GET /echo?n=1 HTTP/1.1\r\nHost: x\r\n\r\n"
               "GET /echo?n=2 HTTP/1.1\r\nHost: x\r\n\r\n"
               "GET /echo?n=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  bool closed = false;
  std::string out = raw.ReadUntilClose(std::chrono::seconds(5), &closed);
  EXPECT_TRUE(closed);
  size_t p1 = out.find("\"n\":\"1\"");
  size_t p2 = out.find("\"n\":\"2\"");
  size_t p3 = out.find("\"n\":\"3\"");
  ASSERT_NE(p1, std::string::npos) << out;
  ASSERT_NE(p2, std::string::npos);
  ASSERT_NE(p3, std::string::npos);
  EXPECT_LT(p1, p2);
  EXPECT_LT(p2, p3);
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosedAfterTimeout) {
  HttpServerConfig c = TestConfig();
  c.keep_alive_timeout_s = 0.3;
  StartServer(c);
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.Send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto start = Clock::now();
  bool closed = false;
  std::string out = raw.ReadUntilClose(std::chrono::seconds(5), &closed);
  EXPECT_EQ(RawStatus(out), 200);
  EXPECT_TRUE(closed);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
}

TEST_F(HttpServerTest, OversizedBodyIs413AndServerStaysHealthy) {
  StartServer();  // default limit: 20 MB
  const size_t size = 21 * 1024 * 1024;
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.connected());
  std::string request =
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream"
      "\r\nContent-Length: " +
      std::to_string(size) + "\r\n\r\n";
  request.append(size, 'a');
  bool closed = false;
  std::string out = raw.SendWhileReading(request, std::chrono::seconds(20), &closed);
  EXPECT_EQ(RawStatus(out), 413) << out.substr(0, 200);
  EXPECT_NE(out.find("\"error_code\":\"too_large\""), std::string::npos);
  EXPECT_TRUE(closed);
  ExpectHealthy();
}

TEST_F(HttpServerTest, OversizedContentLengthIsAnsweredBeforeAnyBody) {
  StartServer();
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 22020096\r\n\r\n"));
  bool closed = false;
  std::string out = raw.ReadUntilClose(std::chrono::seconds(5), &closed);
  EXPECT_EQ(RawStatus(out), 413);
  EXPECT_TRUE(closed);
}

TEST_F(HttpServerTest, OversizedChunkedBodyIs413) {
  HttpServerConfig c = TestConfig();
  c.max_body_bytes = 1000;
  StartServer(c);
  RawConnection raw(server_->port());
  std::string request = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) request += "190\r\n" + std::string(400, 'b') + "\r\n";
  request += "0\r\n\r\n";
  bool closed = false;
  std::string out = raw.SendWhileReading(request, std::chrono::seconds(5), &closed);
  EXPECT_EQ(RawStatus(out), 413);
  EXPECT_TRUE(closed);
  // Within the limit, chunked bodies work.
  RawConnection ok(server_->port());
  ASSERT_TRUE(
      ok.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close"
              "\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
  out = ok.ReadUntilClose(std::chrono::seconds(5));
  EXPECT_EQ(RawStatus(out), 200);
  EXPECT_NE(out.find("\"body_size\":5"), std::string::npos);
}

TEST_F(HttpServerTest, SlowBodyIsCutOffAfterBodyTimeout) {
  HttpServerConfig c = TestConfig();
  c.body_timeout_s = 0.5;
  StartServer(c);
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"));
  auto start = Clock::now();
  // Trickle one byte every 50 ms: each byte arrives well within any per-read timeout, but the
  // body as a whole does not.
  // The server must end the connection (the deadline only bounds a broken run), and not before
  // its body timeout.
  bool ended = false;
  while (!ended && Clock::now() - start < std::chrono::seconds(30)) {
    if (!raw.Send("x", std::chrono::milliseconds(500))) {
      ended = true;
      break;
    }
    raw.ReadUntilClose(std::chrono::milliseconds(50), &ended);
  }
  auto elapsed = Clock::now() - start;
  EXPECT_TRUE(ended) << "a trickled body kept the connection open for 30 s";
  EXPECT_GE(elapsed, std::chrono::milliseconds(400));
  ExpectHealthy();
}

TEST_F(HttpServerTest, SlowHeaderIsCutOffAfterHeaderTimeout) {
  HttpServerConfig c = TestConfig();
  c.header_timeout_s = 0.5;
  StartServer(c);
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.Send("GET /health HTTP/1.1\r\n"));
  auto start = Clock::now();
  bool closed = false;
  while (!closed && Clock::now() - start < std::chrono::seconds(5)) {
    if (!raw.Send("X-Slow: 1\r\n", std::chrono::milliseconds(500))) break;
    raw.ReadUntilClose(std::chrono::milliseconds(50), &closed);
  }
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  ExpectHealthy();
}

TEST_F(HttpServerTest, Expect100ContinueIsHonoured) {
  StartServer();
  RawConnection raw(server_->port());
  ASSERT_TRUE(
      raw.Send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n"
               "Connection: close\r\n\r\n"));
  std::string interim = raw.ReadUntilClose(std::chrono::milliseconds(500));
  EXPECT_EQ(RawStatus(interim), 100);
  ASSERT_TRUE(raw.Send("hello"));
  std::string out = raw.ReadUntilClose(std::chrono::seconds(5));
  EXPECT_EQ(RawStatus(out), 200);
  EXPECT_NE(out.find("\"body_size\":5"), std::string::npos);
}

TEST_F(HttpServerTest, MalformedRequestsGet4xxOrCloseAndServerStaysHealthy) {
  StartServer();
  std::string binary;
  for (int i = 0; i < 512; ++i) binary += static_cast<char>((i * 131 + 7) & 0xff);
  const std::vector<std::string> inputs = {
      "GARBAGE\r\n\r\n",
      binary,
      "GET /health\r\n\r\n",
      "GET /health HTTP/1.1 extra\r\n\r\n",
      "GET /health HTTP/9.9\r\nHost: x\r\n\r\n",
      "GET  /health HTTP/1.1\r\n\r\n",
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
      "chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n",
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "FFFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n",
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
      "GET /health HTTP/1.1\r\nBad Header Name: x\r\n\r\n",
      "GET /health HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n",
      "GET relative/path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      "GET http://evil.example/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      std::string("GET /he\0alth HTTP/1.1\r\n\r\n", sizeof("GET /he\0alth HTTP/1.1\r\n\r\n") - 1),
  };
  for (const auto& input : inputs) {
    RawConnection raw(server_->port());
    ASSERT_TRUE(raw.connected());
    raw.Send(input, std::chrono::seconds(2));
    bool closed = false;
    std::string out = raw.ReadUntilClose(std::chrono::seconds(3), &closed);
    int status = RawStatus(out);
    EXPECT_TRUE(closed) << input.substr(0, 60);
    EXPECT_TRUE(status == 0 || (status >= 400 && status < 500) || status == 505)
        << input.substr(0, 60) << " -> " << out.substr(0, 100);
    if (status != 0) {
      EXPECT_NE(out.find("\"success\":false"), std::string::npos) << out;
    }
  }
  ExpectHealthy();
  HttpClient client(server_->port());
  std::string metrics = client.Get("/metrics").body;
  EXPECT_NE(metrics.find("voxgate_http_protocol_errors_total{reason=\"bad_request\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("voxgate_http_protocol_errors_total{reason=\"header_too_large\"} 1"),
            std::string::npos);
}

TEST_F(HttpServerTest, ConcurrentClients) {
  StartServer();
  constexpr int kClients = 8;
  constexpr int kRequests = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      HttpClient client(server_->port());
      for (int i = 0; i < kRequests; ++i) {
        HttpResponse r = client.Post("/echo?t=" + std::to_string(t), std::string(100 + i, 'z'));
        if (r.status == 200 && r.Json()["query"]["t"] == std::to_string(t) &&
            r.Json()["body_size"] == 100 + i) {
          ++ok;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  HttpClient client(server_->port());
  std::string metrics = client.Get("/metrics").body;
  EXPECT_NE(metrics.find("voxgate_http_requests_total{route=\"/echo\",method=\"POST\",status="
                         "\"200\"} 400"),
            std::string::npos)
      << metrics;
}

TEST_F(HttpServerTest, MaxConnectionsRefusesExtraConnectionsWith503) {
  HttpServerConfig c = TestConfig();
  c.max_connections = 2;
  StartServer(c);
  RawConnection a(server_->port());
  RawConnection b(server_->port());
  ASSERT_TRUE(a.connected() && b.connected());
  // Make sure both are registered before the third arrives.
  ASSERT_TRUE(a.Send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(b.Send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(RawStatus(a.ReadUntilClose(std::chrono::milliseconds(300))), 200);
  EXPECT_EQ(RawStatus(b.ReadUntilClose(std::chrono::milliseconds(300))), 200);
  RawConnection extra(server_->port());
  bool closed = false;
  std::string out = extra.ReadUntilClose(std::chrono::seconds(3), &closed);
  EXPECT_EQ(RawStatus(out), 503);
  EXPECT_TRUE(closed);
  a.Close();
  b.Close();
  bool healthy = false;
  for (int i = 0; i < 50 && !healthy; ++i) {
    HttpClient client(server_->port());
    healthy = client.Get("/health").status == 200;
    if (!healthy) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(healthy);
}

TEST_F(HttpServerTest, HandlersMayAnswerFromAnotherThread) {
  HttpServerConfig c = TestConfig();
  server_ = std::make_unique<HttpServer>(c);
  std::vector<std::thread> workers;
  std::mutex workers_mu;
  ASSERT_TRUE(server_
                  ->Route(Method::kGet, "/async", Access::kPublic,
                          [&](const Request& req, Responder r) {
                            std::lock_guard lock(workers_mu);
                            workers.emplace_back([r] {
                              std::this_thread::sleep_for(std::chrono::milliseconds(30));
                              r.SendJson(200, {{"id", r.request().request_id()}});
                            });
                          })
                  .ok());
  ASSERT_TRUE(
      server_->Route(Method::kGet, "/dropped", Access::kPublic, [](const Request&, Responder) {})
          .ok());
  ASSERT_TRUE(server_
                  ->Route(Method::kGet, "/throws", Access::kPublic,
                          [](const Request&, Responder) -> void {
                            throw std::runtime_error("handler bug");
                          })
                  .ok());
  ASSERT_TRUE(server_
                  ->Route(Method::kGet, "/twice", Access::kPublic,
                          [](const Request&, Responder r) {
                            r.SendJson(200, {{"n", 1}});
                            r.SendJson(500, {{"n", 2}});
                          })
                  .ok());
  ASSERT_TRUE(server_->Start().ok());
  HttpClient client(server_->port());
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = client.Get("/async");
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.Json()["id"], r.Header("X-Request-Id"));
  }
  HttpResponse r = client.Get("/dropped");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.Json()["error_code"], "internal");
  r = client.Get("/throws");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("handler bug"), std::string::npos);  // detail stays in the log
  r = client.Get("/twice");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["n"], 1);
  EXPECT_EQ(client.Get("/health").status, 200);  // same connection, still in sync
  EXPECT_EQ(client.connects(), 1);
  server_->Shutdown(std::chrono::seconds(2));
  for (auto& w : workers) w.join();
}

TEST_F(HttpServerTest, GracefulShutdownFinishesInFlightAndRefusesNew) {
  server_ = std::make_unique<HttpServer>(TestConfig());
  std::promise<void> handler_started;
  std::thread worker;
  ASSERT_TRUE(server_
                  ->Route(Method::kGet, "/slow", Access::kPublic,
                          [&](const Request&, Responder r) {
                            handler_started.set_value();
                            worker = std::thread([r] {
                              std::this_thread::sleep_for(std::chrono::milliseconds(700));
                              r.SendJson(200, {{"done", true}});
                            });
                          })
                  .ok());
  ASSERT_TRUE(server_->Start().ok());
  const uint16_t port = server_->port();

  // An idle keep-alive connection, which shutdown closes at once.
  RawConnection idle(port);
  ASSERT_TRUE(idle.Send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(RawStatus(idle.ReadUntilClose(std::chrono::milliseconds(300))), 200);

  std::future<HttpResponse> slow = std::async(std::launch::async, [port] {
    HttpClient client(port);
    return client.Get("/slow");
  });
  handler_started.get_future().wait();

  auto start = Clock::now();
  std::thread stopper([&] { server_->Shutdown(std::chrono::seconds(5)); });
  // The listener closes at once: wait for that (not a fixed time), then the slow request is still
  // answered.
  bool listener_closed = false;
  while (!listener_closed && Clock::now() - start < std::chrono::seconds(30)) {
    listener_closed = !RawConnection(port).connected();
    if (!listener_closed) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(listener_closed);
  bool idle_closed = false;
  idle.ReadUntilClose(std::chrono::seconds(10), &idle_closed);  // returns at the close
  EXPECT_TRUE(idle_closed);

  HttpResponse r = slow.get();
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.Json()["done"], true);
  EXPECT_EQ(r.Header("Connection"), "close");
  stopper.join();
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(400));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(4));
  worker.join();
  RawConnection after(port);
  EXPECT_FALSE(after.connected());
}

TEST_F(HttpServerTest, ShutdownDropsResponsesAfterTheDrainTime) {
  server_ = std::make_unique<HttpServer>(TestConfig());
  std::promise<void> handler_started;
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::thread worker;
  ASSERT_TRUE(server_
                  ->Route(Method::kGet, "/stuck", Access::kPublic,
                          [&](const Request&, Responder r) {
                            handler_started.set_value();
                            worker = std::thread([r, gate] {
                              gate.wait();
                              r.SendJson(200, {});  // after shutdown: dropped, no crash
                            });
                          })
                  .ok());
  ASSERT_TRUE(server_->Start().ok());
  const uint16_t port = server_->port();
  std::future<HttpResponse> stuck = std::async(std::launch::async, [port] {
    HttpClient client(port);
    return client.Get("/stuck");
  });
  handler_started.get_future().wait();
  auto start = Clock::now();
  server_->Shutdown(std::chrono::milliseconds(200));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(stuck.get().status, 0);  // connection closed without an answer
  server_.reset();                   // the Responder outlives the server
  release.set_value();
  worker.join();
}

TEST_F(HttpServerTest, PortInUseIsAClearError) {
  StartServer();
  HttpServerConfig c = TestConfig();
  c.port = server_->port();
  HttpServer second(c);
  Status st = second.Start();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find(std::to_string(c.port)), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("in use"), std::string::npos) << st.message();
}

TEST_F(HttpServerTest, InvalidConfigFailsStart) {
  HttpServerConfig c = TestConfig();
  c.io_threads = 0;
  HttpServer server(c);
  EXPECT_EQ(server.Start().code(), StatusCode::kInvalidArgument);
  HttpServerConfig with_auth = TestConfig();
  with_auth.auth_enabled = true;  // but no key store given
  HttpServer no_keys(with_auth);
  EXPECT_EQ(no_keys.Start().code(), StatusCode::kInvalidArgument);
}

TEST_F(HttpServerTest, RoutesCannotBeAddedAfterStart) {
  StartServer();
  EXPECT_FALSE(
      server_->Route(Method::kGet, "/late", Access::kPublic, [](const Request&, Responder) {})
          .ok());
}

}  // namespace
}  // namespace voxgate::api
