#include "telephony/sip_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace voxgate::telephony {
namespace {

TEST(SipConfigTest, DefaultsAreValidAndOff) {
  SipConfig config;
  EXPECT_TRUE(config.Validate().ok()) << config.Validate().ToString();
  EXPECT_FALSE(config.enabled);
  EXPECT_EQ(config.port, 5060);
  EXPECT_TRUE(config.udp);
  EXPECT_TRUE(config.tcp);
  ASSERT_EQ(config.codecs.size(), 3u);
  EXPECT_EQ(config.codecs[0], Codec::kPcmu);
  EXPECT_EQ(config.codecs[1], Codec::kPcma);
  EXPECT_EQ(config.codecs[2], Codec::kOpus);
  EXPECT_EQ(config.opus_payload_type, 111);
  EXPECT_EQ(config.ptime_ms, 20);
  EXPECT_EQ(config.session_expires_s, 1800);
  EXPECT_EQ(config.min_se_s, 90);
  EXPECT_EQ(config.user_agent, std::string("Voxgate/") + VOXGATE_VERSION);
  EXPECT_FALSE(config.registration.enabled());
}

TEST(SipConfigTest, LoadsYamlAndEnvironmentOverrides) {
  auto root = ConfigNode::Parse(R"(
sip:
  enabled: true
  bind_address: 0.0.0.0
  port: 5080
  tcp: false
  public_address: 203.0.113.7
  codecs: [opus, pcma]
  ptime_ms: 40
  session_expires_s: 0
  max_calls: 8
  answer_delay_ms: 250
)");
  ASSERT_TRUE(root.ok());
  ConfigNode node = root->Child("sip");
  node.SetEnvForTesting(std::make_shared<ConfigNode::EnvLookup>(
      ConfigNode::EnvLookup{{"VOXGATE_SIP_PORT", "5090"}, {"VOXGATE_SIP_USER_AGENT", "gw/1"}}));
  SipConfig config;
  ASSERT_TRUE(config.Load(node).ok());
  EXPECT_TRUE(config.enabled);
  EXPECT_EQ(config.bind_address, "0.0.0.0");
  EXPECT_EQ(config.port, 5090);
  EXPECT_TRUE(config.udp);
  EXPECT_FALSE(config.tcp);
  EXPECT_EQ(config.PublicAddress(), "203.0.113.7");
  ASSERT_EQ(config.codecs.size(), 2u);
  EXPECT_EQ(config.codecs[0], Codec::kOpus);
  EXPECT_EQ(config.codecs[1], Codec::kPcma);
  EXPECT_EQ(config.ptime_ms, 40);
  EXPECT_EQ(config.session_expires_s, 0);
  EXPECT_EQ(config.max_calls, 8);
  EXPECT_EQ(config.answer_delay_ms, 250);
  EXPECT_EQ(config.user_agent, "gw/1");
  EXPECT_TRUE(config.Validate().ok()) << config.Validate().ToString();
}

TEST(SipConfigTest, UnknownCodecIsAnErrorNamingTheKey) {
  auto root = ConfigNode::Parse("sip:\n  codecs: [PCMU, G729]\n");
  ASSERT_TRUE(root.ok());
  SipConfig config;
  Status s = config.Load(root->Child("sip"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("sip.codecs"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("G729"), std::string::npos) << s.message();
}

TEST(SipConfigTest, ValidateRejectsBadValues) {
  auto invalid = [](auto mutate) {
    SipConfig c;
    mutate(c);
    return c.Validate().code() == StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(invalid([](SipConfig& c) { c.bind_address = "example.com"; }));
  EXPECT_TRUE(invalid([](SipConfig& c) { c.port = 70000; }));
  EXPECT_TRUE(invalid([](SipConfig& c) { c.udp = c.tcp = false; }));
  EXPECT_TRUE(invalid([](SipConfig& c) { c.public_address = "not an ip"; }));
  EXPECT_TRUE(invalid([](SipConfig& c) { c.codecs.clear(); }));
  EXPECT_TRUE(invalid([](SipConfig& c) { c.codecs = {Codec::kPcmu, Codec::kPcmu}; }));
  EXPECT_TRUE(invalid([](SipConfig& c) { c.opus_payload_type = 8; }));
  EXPECT_TRUE(invalid([](SipConfig& c) { c.ptime_ms = 25; }));
  EXPECT_TRUE(invalid([](SipConfig& c) { c.min_se_s = 30; }));
  EXPECT_TRUE(invalid([](SipConfig& c) { c.session_expires_s = 60; }));
  EXPECT_TRUE(invalid([](SipConfig& c) { c.user_agent = "a\r\nX-Injected: 1"; }));
  EXPECT_TRUE(invalid([](SipConfig& c) { c.max_calls = 0; }));
  EXPECT_TRUE(invalid([](SipConfig& c) { c.registration.registrar = "trunk.example.com"; }));
  EXPECT_TRUE(invalid([](SipConfig& c) {
    c.registration.registrar = "sip:trunk.example.com";
    c.registration.username = "gw";
  }));  // no password
}

TEST(SipConfigTest, RegistrationPasswordFromEnvOrFileNeverPrinted) {
  ASSERT_EQ(setenv("VOXGATE_TEST_TRUNK_PASSWORD", "s3cret-env", 1), 0);
  auto root = ConfigNode::Parse(R"(
sip:
  registration:
    registrar: sip:127.0.0.1:5070
    username: gateway
    realm: trunk
    password_env: VOXGATE_TEST_TRUNK_PASSWORD
    expires_s: 600
)");
  ASSERT_TRUE(root.ok());
  SipConfig config;
  ASSERT_TRUE(config.Load(root->Child("sip")).ok());
  EXPECT_EQ(config.registration.password, "s3cret-env");
  EXPECT_TRUE(config.Validate().ok()) << config.Validate().ToString();
  std::string text = config.ToString();
  EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
  EXPECT_NE(text.find("password=***"), std::string::npos) << text;
  EXPECT_NE(text.find("registrar=sip:127.0.0.1:5070"), std::string::npos) << text;

  auto path = std::filesystem::temp_directory_path() / "voxgate_sip_config_test_password";
  { std::ofstream(path) << "from-file\n"; }
  auto from_file = ConfigNode::Parse(
      "registration:\n  registrar: sip:t\n  username: u\n"
      "  password_file: " +
      path.string() + "\n");
  ASSERT_TRUE(from_file.ok());
  SipConfig c2;
  ASSERT_TRUE(c2.Load(*from_file).ok());
  EXPECT_EQ(c2.registration.password, "from-file");
  std::filesystem::remove(path);

  auto missing = ConfigNode::Parse(
      "registration:\n  registrar: sip:t\n  username: u\n"
      "  password_env: VOXGATE_TEST_NOT_SET_ANYWHERE\n");
  ASSERT_TRUE(missing.ok());
  SipConfig c3;
  Status s = c3.Load(*missing);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("VOXGATE_TEST_NOT_SET_ANYWHERE"), std::string::npos);
}

TEST(SipConfigTest, PublicAddressFallsBackFromTheBindAddress) {
  SipConfig config;
  config.bind_address = "10.9.8.7";
  EXPECT_EQ(config.PublicAddress(), "10.9.8.7");
  config.bind_address = "0.0.0.0";
  std::string any = config.PublicAddress();
  EXPECT_FALSE(any.empty());
  EXPECT_NE(any, "0.0.0.0");
}

}  // namespace
}  // namespace voxgate::telephony
