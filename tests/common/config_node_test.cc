#include "common/config_node.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace voxgate {
namespace {

ConfigNode Load(const std::string& yaml, ConfigNode::EnvLookup env = {}) {
  auto node = ConfigNode::Parse(yaml);
  EXPECT_TRUE(node.ok()) << node.status().ToString();
  ConfigNode n = node.ok() ? *node : ConfigNode();
  n.SetEnvForTesting(std::make_shared<ConfigNode::EnvLookup>(std::move(env)));
  return n;
}

TEST(ConfigNodeTest, ReadsTypedValuesFromYaml) {
  ConfigNode root = Load(
      "server:\n  port: 8080\n  host: 0.0.0.0\n  tls: true\n  ratio: 0.25\n"
      "  origins: [a, b]\n");
  ConfigNode server = root.Child("server");
  int port = 1;
  std::string host;
  bool tls = false;
  double ratio = 0;
  std::vector<std::string> origins;
  ASSERT_TRUE(server.Get("port", &port).ok());
  ASSERT_TRUE(server.Get("host", &host).ok());
  ASSERT_TRUE(server.Get("tls", &tls).ok());
  ASSERT_TRUE(server.Get("ratio", &ratio).ok());
  ASSERT_TRUE(server.Get("origins", &origins).ok());
  EXPECT_EQ(port, 8080);
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_TRUE(tls);
  EXPECT_DOUBLE_EQ(ratio, 0.25);
  EXPECT_EQ(origins, (std::vector<std::string>{"a", "b"}));
}

TEST(ConfigNodeTest, AbsentKeysKeepDefaults) {
  ConfigNode root = Load("server:\n  port: 8080\n");
  int threads = 4;
  ASSERT_TRUE(root.Child("server").Get("threads", &threads).ok());
  ASSERT_TRUE(root.Child("missing").Get("threads", &threads).ok());
  EXPECT_EQ(threads, 4);
}

TEST(ConfigNodeTest, EnvironmentOverridesFileAndAbsentSections) {
  ConfigNode root = Load("server:\n  port: 8080\n", {{"VOXGATE_SERVER_PORT", "9090"},
                                                     {"VOXGATE_STORE_BACKEND", "redis"},
                                                     {"VOXGATE_SERVER_ALLOWED_ORIGINS", "x,y"}});
  int port = 0;
  std::string backend = "sqlite";
  std::vector<std::string> origins;
  ASSERT_TRUE(root.Child("server").Get("port", &port).ok());
  ASSERT_TRUE(root.Child("store").Get("backend", &backend).ok());
  ASSERT_TRUE(root.Child("server").Get("allowed-origins", &origins).ok());
  EXPECT_EQ(port, 9090);
  EXPECT_EQ(backend, "redis");
  EXPECT_EQ(origins, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(root.Child("server").EnvName("allowed-origins"), "VOXGATE_SERVER_ALLOWED_ORIGINS");
}

TEST(ConfigNodeTest, TypeErrorsNameTheKeyOrVariable) {
  ConfigNode root = Load("server:\n  port: eighty\n", {{"VOXGATE_SERVER_TLS", "maybe"}});
  int port = 0;
  Status s = root.Child("server").Get("port", &port);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("server.port"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("eighty"), std::string::npos);
  bool tls = false;
  s = root.Child("server").Get("tls", &tls);
  EXPECT_NE(s.message().find("VOXGATE_SERVER_TLS"), std::string::npos) << s.message();
  int big = 0;
  s = Load("a:\n  n: 99999999999\n").Child("a").Get("n", &big);
  EXPECT_FALSE(s.ok());
}

TEST(ConfigNodeTest, SecretsComeOnlyFromTheEnvironment) {
  ConfigNode in_file = Load("encryption:\n  key: 00112233\n");
  std::string key;
  Status s = in_file.Child("encryption").GetSecret("key", &key);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("VOXGATE_ENCRYPTION_KEY"), std::string::npos);
  EXPECT_EQ(s.message().find("00112233"), std::string::npos) << "a secret leaked into an error";

  ConfigNode in_env = Load("", {{"VOXGATE_ENCRYPTION_KEY", "s3cret"}});
  ASSERT_TRUE(in_env.Child("encryption").GetSecret("key", &key).ok());
  EXPECT_EQ(key, "s3cret");
}

TEST(ConfigNodeTest, UnreadKeysNameWhatNothingAskedFor) {
  ConfigNode root = Load(
      "server:\n  port: 8080\n  prot: 9090\n  tls:\n    cert: a\n    chain: b\n"
      "sevrer:\n  port: 1\nlist: [1, 2]\n");
  // Nothing read yet: every top-level key is unread, once.
  EXPECT_EQ(root.UnreadKeys(), (std::vector<std::string>{"list", "server", "sevrer"}));
  int port = 0;
  std::string cert;
  std::vector<std::string> list;
  ASSERT_TRUE(root.Child("server").Get("port", &port).ok());
  ASSERT_TRUE(root.Child("server").Child("tls").Get("cert", &cert).ok());
  ASSERT_TRUE(root.Get("list", &list).ok());
  // A key asked for but absent is no error; keys present but never asked for are named by path.
  ASSERT_TRUE(root.Child("server").Get("threads", &port).ok());
  EXPECT_EQ(root.UnreadKeys(),
            (std::vector<std::string>{"server.prot", "server.tls.chain", "sevrer"}));
  // Sub-sections report under their own path.
  EXPECT_EQ(root.Child("server").UnreadKeys(),
            (std::vector<std::string>{"server.prot", "server.tls.chain"}));
  // Copies of the tree share what was read.
  ConfigNode copy = root;
  ASSERT_TRUE(copy.Child("server").Get("prot", &port).ok());
  ASSERT_TRUE(copy.Child("server").Child("tls").Get("chain", &cert).ok());
  ASSERT_TRUE(copy.Child("sevrer").Get("port", &port).ok());
  EXPECT_TRUE(root.UnreadKeys().empty());
  EXPECT_TRUE(ConfigNode().UnreadKeys().empty());
}

TEST(ConfigNodeTest, BadYamlReportsTheLine) {
  auto r = ConfigNode::Parse("server:\n  port: [1, 2\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line"), std::string::npos);
  EXPECT_FALSE(ConfigNode::Parse("- a\n- b\n").ok());
  EXPECT_EQ(ConfigNode::LoadFile("/nonexistent/voxgate.yaml").status().code(),
            StatusCode::kNotFound);
}

TEST(ConfigNodeTest, LoadsAFile) {
  const std::string path = ::testing::TempDir() + "/voxgate_config_test.yaml";
  std::ofstream(path) << "model:\n  threads: 2\n";
  auto root = ConfigNode::LoadFile(path);
  ASSERT_TRUE(root.ok());
  int threads = 1;
  ASSERT_TRUE(root->Child("model").Get("threads", &threads).ok());
  EXPECT_EQ(threads, 2);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace voxgate
