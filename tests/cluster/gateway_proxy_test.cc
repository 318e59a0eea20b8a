#include "cluster/gateway_proxy.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <thread>

#include "cluster/test_backend.h"

namespace voxgate::cluster {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using testing::TestBackend;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Reply {
  int status = 0;  // 0: transport error
  std::string body;
  std::string node;
  std::string content_type;
  std::string content_length;
  json Json() const { return json::parse(body, nullptr, false); }
};

// A keep-alive client with a timeout (synchronous; one per thread).
class Client {
 public:
  explicit Client(uint16_t port) : port_(port) {}
  Reply Send(http::verb method, const std::string& target, const std::string& body = "",
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    Reply r;
    for (int attempt = 0; attempt < 2; ++attempt) {
      beast::error_code ec;
      if (!stream_) {
        stream_ = std::make_unique<beast::tcp_stream>(io_);
        stream_->expires_after(10s);
        stream_->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
        if (ec) {
          stream_.reset();
          return r;
        }
      }
      http::request<http::string_body> req(method, target, 11);
      req.set(http::field::host, "gateway");
      for (const auto& [k, v] : headers) req.set(k, v);
      req.body() = body;
      req.keep_alive(true);
      req.prepare_payload();
      http::write(stream_->socket(), req, ec);
      http::response_parser<http::string_body> parser;
      if (method == http::verb::head) parser.skip(true);
      if (!ec) http::read(stream_->socket(), buffer_, parser, ec);
      if (ec) {  // a closed keep-alive connection: one fresh try
        stream_.reset();
        buffer_.clear();
        continue;
      }
      auto res = parser.release();
      r.status = res.result_int();
      r.body = res.body();
      r.node = std::string(res["X-Voxgate-Node"]);
      r.content_type = std::string(res[http::field::content_type]);
      r.content_length = std::string(res[http::field::content_length]);
      if (!res.keep_alive()) stream_.reset();
      return r;
    }
    return r;
  }
  Reply Get(const std::string& target) { return Send(http::verb::get, target); }

 private:
  uint16_t port_;
  asio::io_context io_;
  std::unique_ptr<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

NodeInfo NodeFor(const TestBackend& b, int weight = 1) {
  NodeInfo n;
  n.node_id = b.name();
  n.host = "127.0.0.1";
  n.port = b.port();
  n.weight = weight;
  return n;
}

GatewayConfig TestConfig(const std::string& strategy) {
  GatewayConfig c;
  c.host = "127.0.0.1";
  c.port = 0;
  c.strategy = strategy;
  c.health.interval_ms = 50;
  c.health.timeout_ms = 200;
  c.connect_timeout_ms = 500;
  c.request_timeout_ms = 5000;
  return c;
}

bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

class GatewayProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"a", "b", "c"}) {
      backends_.push_back(std::make_unique<TestBackend>(name));
      ASSERT_TRUE(backends_.back()->Start());
    }
  }
  std::unique_ptr<GatewayProxy> StartGateway(GatewayConfig config,
                                             std::vector<NodeInfo> nodes = {}) {
    auto g = GatewayProxy::Create(std::move(config));
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    if (!g.ok()) return nullptr;
    if (nodes.empty()) {
      for (auto& b : backends_) nodes.push_back(NodeFor(*b));
    }
    (*g)->SetNodes(nodes);
    Status s = (*g)->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::move(*g);
  }
  TestBackend& backend(int i) { return *backends_[i]; }
  std::vector<std::unique_ptr<TestBackend>> backends_;
};

TEST_F(GatewayProxyTest, ForwardsMethodTargetHeadersAndBody) {
  auto g = StartGateway(TestConfig("round_robin"));
  ASSERT_TRUE(g);
  Client client(g->port());
  Reply r = client.Send(http::verb::post, "/api/v1/voiceprint/verify?x=1&y=%20", "payload",
                        {{"X-API-Key", "secret-key"}, {"Content-Type", "text/plain"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json echo = r.Json();
  EXPECT_EQ(echo["method"], "POST");
  EXPECT_EQ(echo["target"], "/api/v1/voiceprint/verify?x=1&y=%20");
  EXPECT_EQ(echo["body"], "payload");
  EXPECT_EQ(echo["x_api_key"], "secret-key");
  EXPECT_EQ(echo["x_forwarded_for"], "127.0.0.1");
  EXPECT_EQ(r.node, echo["backend"]);

  // HEAD keeps the node's Content-Length without a body.
  Reply head = client.Send(http::verb::head, "/x");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_FALSE(head.node.empty());

  // The gateway's own endpoints are not forwarded.
  Reply health = client.Get("/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.Json()["role"], "gateway");
  EXPECT_EQ(health.Json()["healthy_nodes"], 3);
  EXPECT_TRUE(health.node.empty());
  Reply metrics = client.Get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("voxgate_gateway_requests_total{"), std::string::npos);
  int forwarded = 0;
  for (int i = 0; i < 3; ++i) forwarded += backend(i).requests();
  EXPECT_EQ(forwarded, 2);
}

TEST_F(GatewayProxyTest, RoundRobinReusesKeepAliveConnections) {
  auto g = StartGateway(TestConfig("round_robin"));
  ASSERT_TRUE(g);
  Client client(g->port());
  std::string seq;
  for (int i = 0; i < 30; ++i) {
    Reply r = client.Get("/api/v1/stats");
    ASSERT_EQ(r.status, 200);
    seq += r.node;
  }
  std::string expected;
  for (int i = 0; i < 10; ++i) expected += "abc";
  EXPECT_EQ(seq, expected);
  // One sequential client: each node needed one connection, reused 10 times.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(backend(i).request_connections(), 1) << i;
}

TEST_F(GatewayProxyTest, WeightedRoundRobinFollowsWeights) {
  auto g = StartGateway(TestConfig("weighted_round_robin"),
                        {NodeFor(backend(0), 5), NodeFor(backend(1), 1), NodeFor(backend(2), 1)});
  ASSERT_TRUE(g);
  Client client(g->port());
  std::string seq;
  for (int i = 0; i < 14; ++i) seq += client.Get("/x").node;
  EXPECT_EQ(seq, "aabacaaaabacaa");
}

TEST_F(GatewayProxyTest, IdempotentRequestsRetryOnAnotherNodeWhenOneIsDown) {
  GatewayConfig config = TestConfig("round_robin");
  config.health.interval_ms = 60000;  // passive ejection only
  auto g = StartGateway(config);
  ASSERT_TRUE(g);
  Client client(g->port());
  backend(1).Stop();
  int failed = 0;
  std::map<std::string, int> by_node;
  for (int i = 0; i < 30; ++i) {
    Reply r = client.Get("/api/v1/stats");
    if (r.status != 200) ++failed;
    ++by_node[r.node];
  }
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(by_node.count("b"), 0u);
  // errors_to_eject (3) failures took b out of rotation.
  for (const auto& n : g->balancer().Snapshot()) {
    if (n.node_id == "b") {
      EXPECT_FALSE(n.is_healthy);
      EXPECT_EQ(n.error_count, 3);
    }
  }
}

TEST_F(GatewayProxyTest, RetriesOn503ButNotNonIdempotentAfterSending) {
  GatewayConfig config = TestConfig("round_robin");
  config.health.interval_ms = 60000;
  config.health.errors_to_eject = 100;
  auto g = StartGateway(config);
  ASSERT_TRUE(g);
  Client client(g->port());
  backend(0).set_status(503);
  for (int i = 0; i < 6; ++i) {
    Reply r = client.Get("/x");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.node, "a");
  }
  // A POST answered 503 by its node is passed through, not sent again.
  const int before = backend(1).requests() + backend(2).requests();
  int posts_503 = 0;
  for (int i = 0; i < 6; ++i) {
    Reply r = client.Send(http::verb::post, "/x", "{}");
    if (r.status == 503) {
      ++posts_503;
      EXPECT_EQ(r.node, "a");
    }
  }
  EXPECT_EQ(posts_503, 2);
  EXPECT_EQ(backend(1).requests() + backend(2).requests() - before, 4);
  // Every node failing: the last 503 goes back to the client.
  backend(1).set_status(503);
  backend(2).set_status(503);
  Reply r = client.Get("/x");
  EXPECT_EQ(r.status, 503);
}

TEST_F(GatewayProxyTest, PostsRetryWhenTheNodeWasNeverReached) {
  GatewayConfig config = TestConfig("round_robin");
  config.health.interval_ms = 60000;
  auto g = StartGateway(config);
  ASSERT_TRUE(g);
  backend(0).Stop();
  Client client(g->port());
  for (int i = 0; i < 6; ++i) {
    Reply r = client.Send(http::verb::post, "/x", "{}");
    EXPECT_EQ(r.status, 200) << r.body;
  }
}

TEST_F(GatewayProxyTest, NoHealthyNodeGives503Json) {
  auto g = StartGateway(TestConfig("least_connections"));
  ASSERT_TRUE(g);
  for (int i = 0; i < 3; ++i) g->balancer().SetHealthy(backend(i).name(), false);
  for (int i = 0; i < 3; ++i) backend(i).set_health_status(500);
  Client client(g->port());
  Reply r = client.Get("/api/v1/stats");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Json()["error"]["code"], "unavailable");
  EXPECT_EQ(client.Get("/health").status, 503);
  // Health comes back: the active checks re-admit the nodes.
  for (int i = 0; i < 3; ++i) backend(i).set_health_status(200);
  ASSERT_TRUE(WaitFor([&] { return g->balancer().healthy_count() == 3; }));
  EXPECT_EQ(client.Get("/x").status, 200);
}

TEST_F(GatewayProxyTest, NodeSourceRefreshesTheList) {
  std::atomic<int> count{1};
  auto g = GatewayProxy::Create(TestConfig("round_robin"));
  ASSERT_TRUE(g.ok());
  GatewayConfig config = TestConfig("round_robin");
  (*g)->SetNodeSource([&]() -> Result<std::vector<NodeInfo>> {
    std::vector<NodeInfo> nodes;
    for (int i = 0; i < count.load(); ++i) nodes.push_back(NodeFor(backend(i)));
    return nodes;
  });
  ASSERT_TRUE((*g)->Start().ok());
  Client client((*g)->port());
  EXPECT_EQ(client.Get("/x").node, "a");
  count = 3;
  ASSERT_TRUE(WaitFor([&] { return (*g)->balancer().Snapshot().size() == 3; }));
  std::map<std::string, int> seen;
  for (int i = 0; i < 3; ++i) ++seen[client.Get("/x").node];
  EXPECT_EQ(seen.size(), 3u);
}

TEST_F(GatewayProxyTest, OversizedBodyGets413) {
  GatewayConfig config = TestConfig("round_robin");
  config.max_body_bytes = 1000;
  auto g = StartGateway(config);
  ASSERT_TRUE(g);
  Client client(g->port());
  Reply r = client.Send(http::verb::post, "/x", std::string(5000, 'x'));
  EXPECT_EQ(r.status, 413);
  Client client2(g->port());
  EXPECT_EQ(client2.Send(http::verb::post, "/x", std::string(900, 'x')).status, 200);
}

TEST_F(GatewayProxyTest, ConcurrentClientsAllGetAnswers) {
  auto g = StartGateway(TestConfig("least_connections"));
  ASSERT_TRUE(g);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      Client client(g->port());
      for (int i = 0; i < 50; ++i) {
        if (client.Get("/x").status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 400);
  int total = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_GT(backend(i).requests(), 0);
    total += backend(i).requests();
  }
  EXPECT_EQ(total, 400);
}

TEST(GatewayConfigTest, Validates) {
  EXPECT_TRUE(GatewayConfig().Validate().ok());
  GatewayConfig c;
  c.strategy = "fastest";
  EXPECT_FALSE(c.Validate().ok());
  c = GatewayConfig();
  c.max_attempts = 0;
  EXPECT_FALSE(c.Validate().ok());
  EXPECT_TRUE(IsIdempotentMethod("GET"));
  EXPECT_TRUE(IsIdempotentMethod("DELETE"));
  EXPECT_FALSE(IsIdempotentMethod("POST"));
  EXPECT_FALSE(IsIdempotentMethod("PATCH"));
}

}  // namespace
}  // namespace voxgate::cluster
