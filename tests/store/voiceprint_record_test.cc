#include "store/voiceprint_record.h"

#include <gtest/gtest.h>

#include "store/audit_event.h"

namespace voxgate::store {
namespace {

TEST(UserStatusTest, PrintsAndParsesEveryStatus) {
  EXPECT_EQ(ToString(UserStatus::kActive), "active");
  EXPECT_EQ(ToString(UserStatus::kInactive), "inactive");
  EXPECT_EQ(ToString(UserStatus::kExpired), "expired");
  EXPECT_EQ(ToString(UserStatus::kBlocked), "blocked");
  for (UserStatus s : kAllUserStatuses) {
    auto parsed = ParseUserStatus(ToString(s));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, s);
  }
}

TEST(UserStatusTest, ParseIgnoresAsciiCase) {
  auto parsed = ParseUserStatus("BLOCKED");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, UserStatus::kBlocked);
}

TEST(UserStatusTest, ParseRejectsUnknownNamesListingTheAllowedOnes) {
  for (const char* bad : {"", "disabled", "activ", "active ", "locked"}) {
    auto parsed = ParseUserStatus(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find("active, inactive, expired or blocked"),
              std::string::npos);
  }
}

TEST(AuditActionTest, PrintsAndParses) {
  const AuditAction all[] = {AuditAction::kRegister, AuditAction::kAddSamples, AuditAction::kVerify,
                             AuditAction::kIdentify, AuditAction::kDelete,     AuditAction::kStatus,
                             AuditAction::kUpdate};
  for (AuditAction a : all) {
    auto parsed = ParseAuditAction(ToString(a));
    ASSERT_TRUE(parsed.ok()) << ToString(a);
    EXPECT_EQ(*parsed, a);
  }
  EXPECT_EQ(ToString(AuditAction::kAddSamples), "add_samples");
  EXPECT_EQ(ParseAuditAction("drop").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace voxgate::store
