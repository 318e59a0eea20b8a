#include "store/store_config.h"

#include <gtest/gtest.h>

namespace voxgate::store {
namespace {

TEST(StoreConfigTest, DefaultsAreValid) {
  StoreConfig c;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate().ToString();
  EXPECT_EQ(c.backend, "sqlite");
  EXPECT_EQ(c.sqlite.synchronous, "full");
  EXPECT_EQ(c.DbPath(), "./data/voxgate.db");
}

TEST(StoreConfigTest, ValidateNamesTheBadKey) {
  struct Case {
    void (*mutate)(StoreConfig&);
    const char* key;
  };
  const Case cases[] = {
      {[](StoreConfig& c) { c.backend = "mongodb"; }, "store.backend"},
      {[](StoreConfig& c) { c.data_dir = ""; }, "store.data_dir"},
      {[](StoreConfig& c) { c.sqlite.synchronous = "off"; }, "store.sqlite.synchronous"},
      {[](StoreConfig& c) { c.sqlite.busy_timeout_ms = -1; }, "store.sqlite.busy_timeout_ms"},
      {[](StoreConfig& c) { c.sqlite.read_connections = 0; }, "store.sqlite.read_connections"},
      {[](StoreConfig& c) { c.encryption.profile = "test"; }, "store.encryption.profile"},
      {[](StoreConfig& c) { c.encryption.key_env = ""; }, "store.encryption.key_env"},
      {[](StoreConfig& c) {
         c.backend = "redis";
         c.redis.url_env = "";
         c.redis.url = "http://x";
       },
       "store.redis.url"},
      {[](StoreConfig& c) {
         c.backend = "postgres";
         c.postgres.url_env = "";
         c.postgres.url = "mysql://x";
       },
       "store.postgres.url"},
      {[](StoreConfig& c) {
         c.backend = "tiered";
         c.tiered.durable = "redis";
       },
       "store.tiered.durable"},
  };
  for (const Case& k : cases) {
    StoreConfig c;
    k.mutate(c);
    Status s = c.Validate();
    ASSERT_FALSE(s.ok()) << k.key;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(k.key), std::string::npos) << s.message();
  }
}

TEST(StoreConfigTest, DbUrlPasswordsAreRedacted) {
  EXPECT_EQ(RedactDbUrl("redis://:s3cret@10.0.0.1:6379/0"), "redis://:***@10.0.0.1:6379/0");
  EXPECT_EQ(RedactDbUrl("postgresql://vox:s3cret@db:5432/voxgate"),
            "postgresql://vox:***@db:5432/voxgate");
  EXPECT_EQ(RedactDbUrl("postgresql://vox@db/voxgate"), "postgresql://vox@db/voxgate");
  EXPECT_EQ(RedactDbUrl("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
  StoreConfig c;
  c.redis.url_env = "";
  c.redis.url = "redis://:s3cret@h:1/0";
  c.postgres.url_env = "";
  c.postgres.url = "postgresql://u:s3cret@h/db";
  EXPECT_EQ(c.ToString().find("s3cret"), std::string::npos) << c.ToString();
  c.backend = "redis";
  c.redis.url = "http://:s3cret@h";
  EXPECT_EQ(c.Validate().message().find("s3cret"), std::string::npos);
}

TEST(StoreConfigTest, DevKeyFileDefaultsIntoTheDataDirProdHasNone) {
  StoreConfig c;
  c.data_dir = "/var/lib/voxgate";
  EXPECT_EQ(c.ResolvedEncryption().key_file, "/var/lib/voxgate/voxgate.key");
  c.encryption.profile = "prod";
  EXPECT_EQ(c.ResolvedEncryption().key_file, "");
  c.encryption.key_file = "/run/secrets/k";
  EXPECT_EQ(c.ResolvedEncryption().key_file, "/run/secrets/k");
}

TEST(StoreConfigTest, ToStringIsOneReadableLine) {
  StoreConfig c;
  std::string s = c.ToString();
  EXPECT_NE(s.find("backend=sqlite"), std::string::npos) << s;
  EXPECT_NE(s.find("synchronous=full"), std::string::npos) << s;
  EXPECT_EQ(s.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace voxgate::store
