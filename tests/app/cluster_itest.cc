// A cluster as an operator runs it: three `voxgate serve` nodes sharing a store in a private
// redis-server, and `voxgate gateway` in front, all real processes on loopback. Covers the nodes'
// registry entries and the cluster routes, the distribution of every balancing strategy, and a
// node killed with SIGKILL under load (ejected, no failed idempotent request) and restarted
// (re-admitted).
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "api/http_client.h"
#include "app/server_process.h"
#include "app/ws_client.h"
#include "common/redis_server.h"
#include "test_util.h"

namespace voxgate::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Every node must open the others' embeddings: one key for the cluster (a test value).
constexpr char kClusterKey[] = "5f1c0a7e9b3d2c4a6e8f0b1d3c5a7e9f2b4d6c8a0e1f3b5d7c9a2e4f6b8d0c1a";
const char* const kIds[3] = {"node-a", "node-b", "node-c"};

std::string Bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    for (int i = 0; i < 3; ++i) {
      dirs_[i] = std::make_unique<TempDir>(std::string("voxgate-cluster-") + kIds[i]);
      ASSERT_TRUE(StartNode(i)) << nodes_[i]->error();
    }
  }

  // Node i: weight i + 1, its own data directory (API keys, logs), the shared Redis store.
  bool StartNode(int i) {
    ServerProcess::Options o;
    o.data_dir = dirs_[i]->Sub("data");
    o.env = {{"VOXGATE_STORE_BACKEND", "redis"},
             {"VOXGATE_REDIS_URL", redis_.url()},
             {"VOXGATE_ENCRYPTION_KEY", kClusterKey},
             {"VOXGATE_NODE_ID", kIds[i]},
             {"VOXGATE_CLUSTER_WEIGHT", std::to_string(i + 1)}};
    nodes_[i] = std::make_unique<ServerProcess>(o);
    return nodes_[i]->Start();
  }

  // `voxgate gateway` reading the registry; `health_interval_ms` is its active check period.
  std::unique_ptr<ServerProcess> StartGateway(const std::string& strategy, int health_interval_ms) {
    ServerProcess::Options o;
    o.data_dir = gateway_dir_.Sub("gateway");
    o.command = {"gateway",
                 "--config",
                 RepoPath("config/voxgate.yaml"),
                 "--host",
                 "127.0.0.1",
                 "--port",
                 "0",
                 "--strategy",
                 strategy,
                 "--redis-url",
                 redis_.url(),
                 "--health-interval-ms",
                 std::to_string(health_interval_ms)};
    auto g = std::make_unique<ServerProcess>(o);
    if (!g->Start()) {
      ADD_FAILURE() << g->error();
      return nullptr;
    }
    return g;
  }

  // The gateway's view: node_id -> is_healthy.
  static std::map<std::string, bool> GatewayView(uint16_t gateway_port) {
    HttpClient c(gateway_port);
    std::map<std::string, bool> view;
    const json j = c.Get("/health").Json();
    if (!j.is_object() || !j.contains("nodes")) return view;
    for (const auto& n : j["nodes"]) view[n["node_id"]] = n["is_healthy"].get<bool>();
    return view;
  }
  static bool AllHealthy(uint16_t gateway_port) {
    auto view = GatewayView(gateway_port);
    if (view.size() != 3) return false;
    for (const auto& [id, healthy] : view) {
      if (!healthy) return false;
    }
    return true;
  }

  // `count` sequential GET /api/v1/stats through the gateway: requests answered per node.
  static std::map<std::string, int> Spread(HttpClient& c, int count, int* failures) {
    std::map<std::string, int> per_node;
    for (int k = 0; k < count; ++k) {
      HttpResponse r = c.Get("/api/v1/stats");
      if (r.status != 200) {
        ++*failures;
        continue;
      }
      ++per_node[r.Header("X-Voxgate-Node")];
    }
    return per_node;
  }

  RedisServer redis_;
  std::unique_ptr<TempDir> dirs_[3];
  std::unique_ptr<ServerProcess> nodes_[3];
  TempDir gateway_dir_{"voxgate-cluster-gateway"};
};

TEST_F(ClusterTest, NodesRegisterThemselvesAndTheClusterRoutesReadTheRegistry) {
  HttpClient c(nodes_[0]->port());
  json nodes;
  ASSERT_TRUE(WaitUntil(
      [&] {
        nodes = c.Get("/api/v1/cluster/nodes").Json()["nodes"];
        return nodes.is_array() && nodes.size() == 3;
      },
      10s))
      << nodes.dump();
  for (int i = 0; i < 3; ++i) {
    const json& n = nodes[i];  // sorted by node_id
    EXPECT_EQ(n["node_id"], kIds[i]);
    EXPECT_EQ(n["host"], "127.0.0.1");
    EXPECT_EQ(n["port"], nodes_[i]->port());
    EXPECT_EQ(n["weight"], i + 1);
    EXPECT_EQ(n["is_healthy"], true);
    EXPECT_EQ(n["metadata"]["role"], "voiceprint");
    EXPECT_TRUE(n["last_health_check"].is_string());
  }
  // Every node answers with the same registry, and counts its own requests.
  HttpClient c2(nodes_[2]->port());
  for (int k = 0; k < 5; ++k) ASSERT_EQ(c2.Get("/api/v1/stats").status, 200);
  json status;
  ASSERT_TRUE(WaitUntil(
      [&] {
        status = c2.Get("/api/v1/cluster/status").Json()["cluster_status"];
        return status["nodes"][2]["total_requests"].get<int>() >= 5;
      },
      10s))
      << status.dump();
  EXPECT_EQ(status["mode"], "cluster");
  EXPECT_EQ(status["total_nodes"], 3);
  EXPECT_EQ(status["healthy_nodes"], 3);
  EXPECT_GT(status["nodes"][2]["avg_response_time"].get<double>(), 0.0);
  EXPECT_EQ(c2.Get("/api/v1/stats").Json()["statistics"]["cluster"]["mode"], "cluster");

  // An operator adds and removes a node by hand (dev mode is admin).
  HttpResponse r = c.PostJson("/api/v1/cluster/nodes",
                              {{"node_id", "edge-1"}, {"host", "10.0.0.9"}, {"port", 8000}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(c2.Get("/api/v1/cluster/nodes").Json()["nodes"].size(), 4u);
  EXPECT_EQ(c.Delete("/api/v1/cluster/nodes/edge-1").status, 200);
  EXPECT_EQ(c.Delete("/api/v1/cluster/nodes/edge-1").status, 404);
  EXPECT_EQ(c.Post("/api/v1/cluster/nodes", "{not json", {}, "application/json").status, 400);
  r = c.PostJson("/api/v1/cluster/nodes", {{"node_id", "x"}, {"host", "h"}, {"port", 70000}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(c2.Get("/api/v1/cluster/nodes").Json()["nodes"].size(), 3u);

  // A node that stops cleanly leaves at once rather than expiring.
  ASSERT_EQ(nodes_[1]->Stop(), 0);
  nodes = c.Get("/api/v1/cluster/nodes").Json()["nodes"];
  ASSERT_EQ(nodes.size(), 2u) << nodes.dump();
  EXPECT_EQ(nodes[0]["node_id"], "node-a");
  EXPECT_EQ(nodes[1]["node_id"], "node-c");
}

TEST_F(ClusterTest, EveryStrategyDistributesAsSpecified) {
  // Long active-check periods: a node paused below must stay in rotation, so that what keeps
  // requests away from it is the strategy, not an ejection.
  constexpr int kSlowChecks = 10000;
  // A fresh gateway with `strategy` and `count` sequential requests through it.
  auto SpreadThrough = [&](const std::string& strategy, int count, int* failures) {
    std::map<std::string, int> spread;
    auto g = StartGateway(strategy, kSlowChecks);
    if (!g) return spread;
    if (!WaitUntil([&] { return AllHealthy(g->port()); }, 15s)) {
      ADD_FAILURE() << strategy << ": the gateway never saw three healthy nodes";
      return spread;
    }
    HttpClient c(g->port());
    return Spread(c, count, failures);
  };
  {
    SCOPED_TRACE("round_robin: in turn");
    int failures = 0;
    auto spread = SpreadThrough("round_robin", 60, &failures);
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(spread, (std::map<std::string, int>{{"node-a", 20}, {"node-b", 20}, {"node-c", 20}}));
  }
  {
    SCOPED_TRACE("weighted_round_robin: weights 1, 2, 3");
    int failures = 0;
    auto spread = SpreadThrough("weighted_round_robin", 60, &failures);
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(spread, (std::map<std::string, int>{{"node-a", 10}, {"node-b", 20}, {"node-c", 30}}));
  }
  {
    SCOPED_TRACE("random: uniform");
    int failures = 0;
    auto spread = SpreadThrough("random", 300, &failures);
    EXPECT_EQ(failures, 0);
    ASSERT_EQ(spread.size(), 3u);
    // 100 expected each; outside [60, 140] has a probability below 1e-5 for a uniform pick.
    for (const auto& [id, n] : spread) {
      EXPECT_GE(n, 60) << id;
      EXPECT_LE(n, 140) << id;
    }
  }
  {
    SCOPED_TRACE("least_connections: a node holding a request gets no more");
    auto g = StartGateway("least_connections", kSlowChecks);
    ASSERT_TRUE(g);
    ASSERT_TRUE(WaitUntil([&] { return AllHealthy(g->port()); }, 15s));
    nodes_[0]->Signal(SIGSTOP);  // node-a accepts (kernel backlog) but does not answer
    HttpResponse held;
    std::thread first([&] {
      HttpClient c(g->port());
      held = c.Get("/api/v1/stats");  // all idle, ties in turn: node-a
    });
    std::this_thread::sleep_for(300ms);
    HttpClient c(g->port());
    int failures = 0;
    auto spread = Spread(c, 20, &failures);
    nodes_[0]->Signal(SIGCONT);
    first.join();
    EXPECT_EQ(held.status, 200);
    EXPECT_EQ(held.Header("X-Voxgate-Node"), "node-a");
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(spread, (std::map<std::string, int>{{"node-b", 10}, {"node-c", 10}}));
  }
  {
    SCOPED_TRACE("least_response_time: a slow node is avoided");
    auto g = StartGateway("least_response_time", kSlowChecks);
    ASSERT_TRUE(g);
    ASSERT_TRUE(WaitUntil([&] { return AllHealthy(g->port()); }, 15s));
    nodes_[0]->Signal(SIGSTOP);
    HttpResponse slow;
    std::thread first([&] {
      HttpClient c(g->port());
      slow = c.Get("/api/v1/stats");  // no node measured yet, ties in turn: node-a
    });
    std::this_thread::sleep_for(600ms);  // node-a's first answer takes >= 0.6 s
    nodes_[0]->Signal(SIGCONT);
    first.join();
    EXPECT_EQ(slow.status, 200);
    EXPECT_EQ(slow.Header("X-Voxgate-Node"), "node-a");
    HttpClient c(g->port());
    int failures = 0;
    auto spread = Spread(c, 30, &failures);
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(spread.count("node-a"), 0u);
    EXPECT_GE(spread["node-b"], 1);  // both unmeasured nodes are tried, then the faster kept
    EXPECT_GE(spread["node-c"], 1);
    EXPECT_EQ(spread["node-b"] + spread["node-c"], 30);
  }
}

TEST_F(ClusterTest, KilledNodeIsEjectedWithoutFailedRequestsAndReadmittedAfterRestart) {
  auto g = StartGateway("round_robin", 1000);  // the default active checks
  ASSERT_TRUE(g);
  ASSERT_TRUE(WaitUntil([&] { return AllHealthy(g->port()); }, 15s));

  // One voiceprint, enrolled through the gateway, is in the shared store for every node.
  HttpClient c(g->port());
  const std::string audio = DevSetUtterance("1688-142285", 0);
  HttpResponse r = c.PostMultipart("/api/v1/voiceprint/register",
                                   {{"user_id", "alice", "", ""},
                                    {"name", "Alice", "", ""},
                                    {"audio", Bytes(audio), "a.flac", "application/octet-stream"}});
  ASSERT_EQ(r.status, 201) << r.body;
  for (int i = 0; i < 3; ++i) {
    HttpClient direct(nodes_[i]->port());
    EXPECT_EQ(direct.Get("/api/v1/voiceprint/alice").status, 200) << kIds[i];
  }

  // Load: two clients reading alice through the gateway, back to back.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::mutex mu;
  std::vector<std::string> failed;    // GUARDED_BY(mu)
  std::map<std::string, int> served;  // GUARDED_BY(mu)
  auto load = [&] {
    HttpClient lc(g->port());
    while (!stop) {
      HttpResponse res = lc.Get("/api/v1/voiceprint/alice");
      std::lock_guard lock(mu);
      if (res.status == 200) {
        ++ok;
        ++served[res.Header("X-Voxgate-Node")];
      } else {
        failed.push_back(std::to_string(res.status) + " " + res.body);
      }
    }
  };
  std::thread l1(load), l2(load);
  auto served_by = [&](const std::string& id) {
    std::lock_guard lock(mu);
    return served[id];
  };
  ASSERT_TRUE(WaitUntil([&] { return served_by("node-b") >= 20; }, 10s));

  nodes_[1]->Kill();  // SIGKILL: no goodbye, its registry entry lingers until its TTL
  const auto killed_at = Clock::now();
  const bool ejected = WaitUntil(
      [&] {
        auto view = GatewayView(g->port());
        return view.count("node-b") == 0 || !view["node-b"];
      },
      30s);
  // Ejected at all, well within the deadline (passive ejection after a few failed requests
  // takes well under a second on an idle machine; the bound leaves room for a loaded one).
  const double eject_s = std::chrono::duration<double>(Clock::now() - killed_at).count();
  EXPECT_TRUE(ejected) << "not ejected after " << eject_s << " s";
  const int b_after_eject = served_by("node-b");
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(served_by("node-b"), b_after_eject);  // nothing more is sent to the dead node

  // Restarted (same id, another port): back in rotation and serving.
  ASSERT_TRUE(StartNode(1)) << nodes_[1]->error();
  EXPECT_TRUE(WaitUntil([&] { return AllHealthy(g->port()); }, 20s)) << g->Output();
  EXPECT_TRUE(WaitUntil([&] { return served_by("node-b") >= b_after_eject + 10; }, 10s));

  stop = true;
  l1.join();
  l2.join();
  std::lock_guard lock(mu);
  EXPECT_TRUE(failed.empty()) << failed.size() << " failed, first: " << failed.front();
  EXPECT_GT(ok.load(), 100);
  EXPECT_GT(served["node-a"], 0);
  EXPECT_GT(served["node-c"], 0);
}

// The console through the gateway: its files come from a node, and its live audio WebSocket
// (the key offered as a subprotocol, as a browser does) is spliced through to that node.
TEST(GatewayConsoleTest, ConsoleAndWebSocketsPassThroughTheGateway) {
  TempDir dir("voxgate-gateway-ws");
  ServerProcess::Options node_options;
  node_options.data_dir = dir.Sub("node");
  node_options.dev = false;
  ServerProcess node(node_options);
  ASSERT_TRUE(node.Start()) << node.error();
  ServerProcess::Options o;
  o.data_dir = dir.Sub("gateway");
  o.command = {"gateway",
               "--config",
               RepoPath("config/voxgate.yaml"),
               "--host",
               "127.0.0.1",
               "--port",
               "0",
               "--node",
               "127.0.0.1:" + std::to_string(node.port()),
               "--health-interval-ms",
               "100"};
  ServerProcess gateway(o);
  ASSERT_TRUE(gateway.Start()) << gateway.error();
  HttpClient c(gateway.port());
  for (int i = 0; i < 300 && c.Get("/health").status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the first active check
  }
  HttpResponse page = c.Get("/");
  ASSERT_EQ(page.status, 200) << page.body.substr(0, 300);
  EXPECT_NE(page.body.find("<!doctype html>"), std::string::npos);
  EXPECT_NE(page.Header("Content-Security-Policy").find("script-src 'self'"), std::string::npos);

  std::ifstream key_file(node_options.data_dir + "/admin.key");
  std::string key((std::istreambuf_iterator<char>(key_file)), {});
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
  WsClient ws;
  ASSERT_TRUE(
      ws.Connect(gateway.port(), "/api/v1/stream", "", {"voxgate.v1", "voxgate.key." + key}))
      << ws.error();
  EXPECT_EQ(ws.protocol(), "voxgate.v1");
  ws.SendText(R"({"type":"ping"})");
  auto pong = ws.Read();
  ASSERT_TRUE(pong.has_value()) << ws.error();
  EXPECT_EQ(pong->value("type", ""), "pong");
  ws.SendText(R"({"type":"start","mode":"record","sample_rate":16000})");
  auto started = ws.Read();
  ASSERT_TRUE(started.has_value()) << ws.error();
  EXPECT_EQ(started->value("type", ""), "started") << started->dump();
  std::vector<int16_t> silence(16000);
  ws.SendBinary(silence.data(), silence.size() * 2);
  ws.SendText(R"({"type":"stop"})");
  auto msgs = ws.ReadUntil("final");
  ASSERT_FALSE(msgs.empty()) << ws.error();
  EXPECT_EQ(msgs.back().value("type", ""), "final");
  // A wrong key is refused by the node, and the refusal reaches the client.
  WsClient refused;
  EXPECT_FALSE(refused.Connect(gateway.port(), "/api/v1/stream", "",
                               {"voxgate.v1", "voxgate.key.vx_wrong"}));
  EXPECT_NE(c.Get("/metrics").body.find("voxgate_gateway_websockets_total 1"), std::string::npos);
}

}  // namespace
}  // namespace voxgate::testing
