#include "cluster/node_info.h"

#include <gtest/gtest.h>

#include "cluster/cluster_config.h"

namespace voxgate::cluster {
namespace {

using json = nlohmann::json;

TEST(NodeInfoTest, JsonHasTheEdgeVomidShapeAndRoundTrips) {
  NodeInfo n;
  n.node_id = "node-1";
  n.host = "10.0.0.5";
  n.port = 8080;
  n.weight = 3;
  n.active_connections = 4;
  n.total_requests = 100;
  n.error_count = 2;
  n.avg_response_time = 0.25;
  n.last_health_check_ms = 1700000000123;
  n.metadata = {{"zone", "a"}};
  const json j = n.ToJson();
  for (const char* key :
       {"node_id", "host", "port", "weight", "is_healthy", "active_connections", "total_requests",
        "error_count", "avg_response_time", "last_health_check", "metadata"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["last_health_check"], "2023-11-14T22:13:20.123Z");
  auto back = NodeInfo::FromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->node_id, "node-1");
  EXPECT_EQ(back->port, 8080);
  EXPECT_EQ(back->weight, 3);
  EXPECT_EQ(back->total_requests, 100);
  EXPECT_DOUBLE_EQ(back->avg_response_time, 0.25);
  EXPECT_EQ(back->metadata["zone"], "a");
  EXPECT_EQ(n.Address(), "10.0.0.5:8080");
}

TEST(NodeInfoTest, FromJsonDefaultsAndRejectsBadInput) {
  auto n = NodeInfo::FromJson(json{{"host", "127.0.0.1"}, {"port", 9001}});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->node_id, "127.0.0.1:9001");
  EXPECT_EQ(n->weight, 1);
  EXPECT_TRUE(n->is_healthy);
  EXPECT_TRUE(n->ToJson()["last_health_check"].is_null());

  const json bad[] = {
      json::array(),
      json{{"port", 1}},
      json{{"host", "h"}},
      json{{"host", "h"}, {"port", "80"}},
      json{{"host", "h"}, {"port", 0}},
      json{{"host", "h"}, {"port", 70000}},
      json{{"host", "h"}, {"port", 80}, {"weight", 0}},
      json{{"host", "h"}, {"port", 80}, {"weight", 1.5}},
      json{{"host", "h"}, {"port", 80}, {"node_id", "a/b"}},
      json{{"host", "h"}, {"port", 80}, {"node_id", ""}},
      json{{"host", "h"}, {"port", 80}, {"node_id", 7}},
      json{{"host", "h h"}, {"port", 80}},
      json{{"host", "h"}, {"port", 80}, {"metadata", "x"}},
      json{{"host", "h"}, {"port", 80}, {"is_healthy", "yes"}},
      json{{"host", "h"}, {"port", 1e300}},
  };
  for (const auto& j : bad) {
    auto r = NodeInfo::FromJson(j);
    EXPECT_FALSE(r.ok()) << j.dump();
    if (!r.ok()) EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(ClusterConfigTest, DefaultsValidateAndJoinRules) {
  ClusterConfig c;
  EXPECT_TRUE(c.Validate().ok());
  EXPECT_FALSE(c.ShouldJoin("sqlite", "redis://127.0.0.1:6379/0"));
  EXPECT_TRUE(c.ShouldJoin("redis", "redis://127.0.0.1:6379/0"));
  EXPECT_TRUE(c.ShouldJoin("tiered", "redis://r:6379"));
  EXPECT_TRUE(c.ShouldJoin("postgres", "redis://r:6379"));
  EXPECT_FALSE(c.ShouldJoin("postgres", ""));
  c.enabled = "on";
  EXPECT_TRUE(c.ShouldJoin("sqlite", ""));
  c.enabled = "off";
  EXPECT_FALSE(c.ShouldJoin("tiered", "redis://r:6379"));
}

TEST(ClusterConfigTest, ValidateNamesTheKey) {
  ClusterConfig c;
  c.enabled = "maybe";
  EXPECT_NE(c.Validate().message().find("cluster.enabled"), std::string::npos);
  c = ClusterConfig();
  c.node_ttl_ms = c.heartbeat_interval_ms;  // one missed beat would expire a live node
  EXPECT_NE(c.Validate().message().find("node_ttl_ms"), std::string::npos);
  c = ClusterConfig();
  c.weight = 0;
  EXPECT_FALSE(c.Validate().ok());
  c = ClusterConfig();
  c.advertise_port = 70000;
  EXPECT_FALSE(c.Validate().ok());
}

TEST(ClusterConfigTest, LoadsYamlAndEnvironment) {
  auto root = ConfigNode::Parse(R"(
cluster:
  enabled: "on"
  heartbeat_interval_ms: 200
  node_ttl_ms: 1000
  advertise_host: 10.1.2.3
  weight: 4
  metadata:
    zone: eu-1
  metadata_list: [gpu=none]
)");
  ASSERT_TRUE(root.ok());
  ConfigNode node = root->Child("cluster");
  auto env = std::make_shared<ConfigNode::EnvLookup>();
  (*env)["VOXGATE_CLUSTER_ADVERTISE_PORT"] = "9999";
  node.SetEnvForTesting(env);
  ClusterConfig c;
  ASSERT_TRUE(c.Load(node).ok());
  EXPECT_EQ(c.enabled, "on");
  EXPECT_EQ(c.heartbeat_interval_ms, 200);
  EXPECT_EQ(c.node_ttl_ms, 1000);
  EXPECT_EQ(c.advertise_host, "10.1.2.3");
  EXPECT_EQ(c.advertise_port, 9999);
  EXPECT_EQ(c.weight, 4);
  EXPECT_EQ(c.metadata["zone"], "eu-1");
  EXPECT_EQ(c.metadata["gpu"], "none");
  EXPECT_TRUE(c.Validate().ok());
  EXPECT_NE(c.ToString().find("zone=eu-1"), std::string::npos);

  auto bad = ConfigNode::Parse("cluster:\n  metadata_list: [novalue]\n");
  ASSERT_TRUE(bad.ok());
  ClusterConfig c2;
  EXPECT_FALSE(c2.Load(bad->Child("cluster")).ok());
}

}  // namespace
}  // namespace voxgate::cluster
