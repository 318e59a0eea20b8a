#include "telephony/call_scenario.h"

#include <gtest/gtest.h>

#include <string>

namespace voxgate::telephony {
namespace {

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(CallScenarioTest, ScenarioNames) {
  EXPECT_EQ(ScenarioName(ScenarioKind::kIdentify), "identify");
  EXPECT_EQ(ScenarioName(ScenarioKind::kVerify), "verify");
  EXPECT_EQ(ScenarioName(ScenarioKind::kEnroll), "enroll");
  EXPECT_EQ(ScenarioName(ScenarioKind::kRecord), "record");
}

TEST(CallScenarioTest, ParsesEveryScenario) {
  auto identify = ParseCallScenario("identify");
  ASSERT_TRUE(identify.ok()) << identify.status().ToString();
  EXPECT_EQ(*identify, (CallScenario{ScenarioKind::kIdentify, ""}));

  auto record = ParseCallScenario("record");
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  EXPECT_EQ(*record, (CallScenario{ScenarioKind::kRecord, ""}));

  auto verify = ParseCallScenario("verify-alice");
  ASSERT_TRUE(verify.ok()) << verify.status().ToString();
  EXPECT_EQ(*verify, (CallScenario{ScenarioKind::kVerify, "alice"}));

  auto enroll = ParseCallScenario("enroll-bob");
  ASSERT_TRUE(enroll.ok()) << enroll.status().ToString();
  EXPECT_EQ(*enroll, (CallScenario{ScenarioKind::kEnroll, "bob"}));
}

TEST(CallScenarioTest, UserIdsFollowTheRestRules) {
  // Every character a user id may hold, including '-' (only the first one separates) and '@'.
  auto v = ParseCallScenario("verify-Alice_Smith.2@example-org");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->kind, ScenarioKind::kVerify);
  EXPECT_EQ(v->user_id, "Alice_Smith.2@example-org");
  auto dash = ParseCallScenario("enroll--x");
  ASSERT_TRUE(dash.ok()) << dash.status().ToString();
  EXPECT_EQ(dash->user_id, "-x");
  // A user id that is itself a scenario word is just a user id.
  auto word = ParseCallScenario("verify-identify");
  ASSERT_TRUE(word.ok());
  EXPECT_EQ(word->user_id, "identify");
  // 128 characters is the longest id.
  auto longest = ParseCallScenario("enroll-" + std::string(128, 'u'));
  ASSERT_TRUE(longest.ok()) << longest.status().ToString();
  EXPECT_EQ(longest->user_id.size(), 128u);
}

TEST(CallScenarioTest, InvalidUserIdIsInvalidArgument) {
  const std::string too_long(129, 'u');
  for (const std::string& user :
       {std::string("verify-"), std::string("enroll-"), std::string("verify-.alice"),
        std::string("verify-al ice"), std::string("enroll-bob/../x"), std::string("verify-a;b"),
        std::string("enroll-") + too_long, std::string("verify-caf\xc3\xa9"),
        std::string("verify-a\0b", 10)}) {
    SCOPED_TRACE(user);
    auto s = ParseCallScenario(user);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << s.status().ToString();
    // The message says which scenario and what a user id may be.
    const std::string& msg = s.status().message();
    EXPECT_TRUE(Contains(msg, user.rfind("verify", 0) == 0 ? "verify" : "enroll")) << msg;
    EXPECT_TRUE(Contains(msg, "user_id")) << msg;
    EXPECT_LT(msg.size(), 300u) << msg;
  }
}

TEST(CallScenarioTest, UnknownUserPartIsNotFoundAndNamesTheScenarios) {
  for (const std::string& user :
       {std::string(""), std::string("Identify"), std::string("IDENTIFY"), std::string("verify"),
        std::string("verifyalice"), std::string("Verify-alice"), std::string("enrol-bob"),
        std::string("identify-alice"), std::string("record-x"), std::string(" identify"),
        std::string("identify "), std::string("sip:identify"), std::string("\xff\xfe\x00", 3)}) {
    SCOPED_TRACE(user);
    auto s = ParseCallScenario(user);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), StatusCode::kNotFound) << s.status().ToString();
    const std::string& msg = s.status().message();
    for (const char* accepted :
         {"identify@", "verify-<user_id>@", "enroll-<user_id>@", "record@"}) {
      EXPECT_TRUE(Contains(msg, accepted)) << msg;
    }
  }
  auto s = ParseCallScenario("sales");
  EXPECT_TRUE(Contains(s.status().message(), "'sales'")) << s.status().message();
}

TEST(CallScenarioTest, LongGarbageIsBoundedInTheMessage) {
  // Exactly 64 characters are shown whole; more are cut with an ellipsis.
  const std::string shown(64, 'x');
  auto exact = ParseCallScenario(shown);
  ASSERT_FALSE(exact.ok());
  EXPECT_TRUE(Contains(exact.status().message(), "'" + shown + "'")) << exact.status().message();

  std::string garbage;
  for (int i = 0; i < 100000; ++i) garbage.push_back(static_cast<char>('a' + i % 26));
  auto s = ParseCallScenario(garbage);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  const std::string& msg = s.status().message();
  EXPECT_LT(msg.size(), 300u);
  EXPECT_TRUE(Contains(msg, garbage.substr(0, 64) + "...'")) << msg;
  EXPECT_FALSE(Contains(msg, garbage.substr(0, 65))) << msg;

  // A long garbage user id after verify- is refused on its length, without echoing it.
  auto v = ParseCallScenario("verify-" + garbage);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_LT(v.status().message().size(), 300u) << v.status().message();
}

}  // namespace
}  // namespace voxgate::telephony
