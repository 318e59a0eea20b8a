// NodeRegistry against a real redis-server on loopback (tests/common/redis_server.h).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "cluster/node_registry.h"
#include "common/redis_server.h"
#include "common/redis_subscriber.h"

namespace voxgate::cluster {
namespace {

using namespace std::chrono_literals;

NodeInfo Node(const std::string& id, int port) {
  NodeInfo n;
  n.node_id = id;
  n.host = "127.0.0.1";
  n.port = port;
  n.metadata = {{"role", "voiceprint"}};
  return n;
}

class NodeRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    RedisClientOptions o;
    o.url = redis_.url();
    auto c = RedisClient::Create(o);
    ASSERT_TRUE(c.ok());
    client_ = std::move(*c);
    registry_ = std::make_unique<NodeRegistry>(client_, "test:");
  }
  testing::RedisServer redis_;
  std::shared_ptr<RedisClient> client_;
  std::unique_ptr<NodeRegistry> registry_;
};

TEST_F(NodeRegistryTest, RegisterListGetRemove) {
  ASSERT_TRUE(registry_->Register(Node("b", 9002), 0).ok());
  NodeInfo a = Node("a", 9001);
  a.weight = 3;
  a.total_requests = 7;
  a.avg_response_time = 0.125;
  ASSERT_TRUE(registry_->Register(a, 0).ok());
  auto list = registry_->List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].node_id, "a");
  EXPECT_EQ((*list)[0].weight, 3);
  EXPECT_EQ((*list)[0].total_requests, 7);
  EXPECT_DOUBLE_EQ((*list)[0].avg_response_time, 0.125);
  EXPECT_EQ((*list)[0].metadata["role"], "voiceprint");
  EXPECT_EQ((*list)[1].port, 9002);
  auto got = registry_->Get("b");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->host, "127.0.0.1");
  ASSERT_TRUE(registry_->Remove("b").ok());
  EXPECT_EQ(registry_->Remove("b").code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->Get("b").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->List()->size(), 1u);
  // Invalid nodes never reach Redis.
  EXPECT_EQ(registry_->Register(Node("x/y", 1), 0).code(), StatusCode::kInvalidArgument);
}

TEST_F(NodeRegistryTest, HeartbeatsKeepANodeAndItExpiresWhenTheyStop) {
  std::atomic<int> calls{0};
  ASSERT_TRUE(registry_
                  ->StartHeartbeat(
                      [&] {
                        ++calls;
                        NodeInfo n = Node("self", 9100);
                        n.active_connections = calls.load();
                        return n;
                      },
                      /*interval_ms=*/100, /*ttl_ms=*/400)
                  .ok());
  // Alive well past its TTL because it keeps beating.
  std::this_thread::sleep_for(1000ms);
  auto list = registry_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_GT((*list)[0].last_health_check_ms, 0);
  EXPECT_GE(registry_->heartbeats(), 3);
  // Dies without a goodbye (like kill -9): gone once the TTL passes.
  registry_->StopHeartbeat(/*deregister=*/false);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline && !registry_->List()->empty()) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(registry_->List()->empty());
  auto members = client_->Command({"SMEMBERS", registry_->SetKey()});
  ASSERT_TRUE(members.ok());
  EXPECT_TRUE(members->elements.empty());  // pruned while listing
}

TEST_F(NodeRegistryTest, GracefulStopDeregistersAndEventsArePublished) {
  std::mutex mu;
  std::vector<std::string> events;
  RedisSubscriberOptions so;
  so.connection.url = redis_.url();
  so.channels = {registry_->EventsChannel()};
  auto sub = RedisSubscriber::Create(so, [&](const RedisMessage& m) {
    std::lock_guard lock(mu);
    events.push_back(m.payload);
  });
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  (*sub)->Start();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!(*sub)->connected() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE((*sub)->connected());
  ASSERT_TRUE(registry_->StartHeartbeat([] { return Node("n1", 9200); }, 100, 1000).ok());
  std::this_thread::sleep_for(300ms);
  registry_->StopHeartbeat(/*deregister=*/true);
  EXPECT_TRUE(registry_->List()->empty());
  while (std::chrono::steady_clock::now() < deadline) {
    std::lock_guard lock(mu);
    if (events.size() >= 2) break;
  }
  std::lock_guard lock(mu);
  ASSERT_EQ(events.size(), 2u);  // one join (later beats are not joins), one leave
  EXPECT_NE(events[0].find("\"join\""), std::string::npos);
  EXPECT_NE(events[1].find("\"leave\""), std::string::npos);
}

TEST_F(NodeRegistryTest, RedisDownIsUnavailable) {
  redis_.Kill();
  EXPECT_EQ(registry_->List().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(registry_->Register(Node("a", 1), 1000).code(), StatusCode::kUnavailable);
  EXPECT_FALSE(registry_->StartHeartbeat([] { return Node("a", 1); }, 100, 1000).ok());
  ASSERT_TRUE(redis_.Start().ok());
  EXPECT_TRUE(registry_->Register(Node("a", 1), 1000).ok());
}

}  // namespace
}  // namespace voxgate::cluster
