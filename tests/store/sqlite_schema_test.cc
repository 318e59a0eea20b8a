#include "store/sqlite_schema.h"

#include <gtest/gtest.h>

#include "store/voiceprint_store.h"
#include "store_test_env.h"

namespace voxgate::store {
namespace {

using testing::RawDb;
using testing::TempDir;
using testing::TestConfig;

std::unique_ptr<SqliteDb> OpenDb(const std::string& path) {
  auto db = SqliteDb::Open(path, true, 1000);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(db).value() : nullptr;
}

TEST(SqliteSchemaTest, MigratesAnEmptyDatabaseToTheLatestVersion) {
  TempDir dir;
  auto db = OpenDb(dir / "a.db");
  ASSERT_TRUE(db);
  EXPECT_EQ(*ReadSchemaVersion(*db), 0);
  auto v = MigrateSchema(*db, StoreMigrations());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, StoreMigrations().back().version);
  EXPECT_EQ(*ReadSchemaVersion(*db), *v);
  for (const char* table : {"voiceprints", "samples", "audit_log", "meta", "schema_version"}) {
    EXPECT_EQ(*db->QueryInt(("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                             "name = '" +
                             std::string(table) + "'")
                                .c_str()),
              1)
        << table;
  }
  // Running again is a no-op.
  EXPECT_EQ(*MigrateSchema(*db, StoreMigrations()), *v);
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM schema_version"), *v);
}

TEST(SqliteSchemaTest, AppliesOnlyNewerMigrationsInOrder) {
  TempDir dir;
  auto db = OpenDb(dir / "b.db");
  ASSERT_TRUE(db);
  const SqliteMigration v1[] = {{1, "one", "CREATE TABLE t (a INTEGER)"}};
  ASSERT_EQ(*MigrateSchema(*db, v1), 1);
  ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (7)").ok());
  const SqliteMigration v3[] = {{1, "one", "CREATE TABLE t (a INTEGER)"},
                                {2, "two", "ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x'"},
                                {3, "three", "UPDATE t SET b = 'y' WHERE a = 7"}};
  ASSERT_EQ(*MigrateSchema(*db, v3), 3);
  EXPECT_EQ(*db->QueryText("SELECT b FROM t"), "y");
  EXPECT_EQ(*db->QueryText("SELECT group_concat(description) FROM schema_version"),
            "one,two,three");
}

TEST(SqliteSchemaTest, AFailingMigrationChangesNothing) {
  TempDir dir;
  auto db = OpenDb(dir / "c.db");
  ASSERT_TRUE(db);
  const SqliteMigration v1[] = {{1, "one", "CREATE TABLE t (a INTEGER)"}};
  ASSERT_EQ(*MigrateSchema(*db, v1), 1);
  const SqliteMigration broken[] = {{1, "one", "CREATE TABLE t (a INTEGER)"},
                                    {2, "two", "CREATE TABLE u (x INTEGER)"},
                                    {3, "three", "THIS IS NOT SQL"}};
  auto v = MigrateSchema(*db, broken);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("schema migration 3"), std::string::npos);
  EXPECT_EQ(*ReadSchemaVersion(*db), 1);
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'u'"), 0)
      << "migration 2 was rolled back with 3";
}

TEST(SqliteSchemaTest, AVersion1DatabaseKeepsItsSamplesAndReadsThemAsWideband) {
  TempDir dir;
  StoreConfig config = TestConfig(dir);
  {
    auto store = VoiceprintStore::Create(config);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    VoiceprintRecord r;
    r.user_id = "old";
    r.name = "Old";
    r.model_id = "m";
    for (int i = 0; i < 2; ++i) {
      VoiceprintSample s;
      s.embedding.assign(8, 0.25f + static_cast<float>(i));
      s.speech_s = 3.0;
      s.narrowband = true;
      r.samples.push_back(s);
    }
    ASSERT_TRUE((*store)->CreateVoiceprint(r).ok());
  }
  {
    // Back to what schema version 1 wrote: no narrowband column.
    RawDb raw(config.DbPath());
    ASSERT_EQ(raw.Exec("ALTER TABLE samples DROP COLUMN narrowband; DELETE FROM schema_version "
                       "WHERE version = 2"),
              "");
  }
  auto store = VoiceprintStore::Create(config);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto stats = (*store)->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->schema_version, 2);
  auto got = (*store)->Get("old");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->samples.size(), 2u);
  for (const auto& s : got->samples) {
    EXPECT_FALSE(s.narrowband);
    EXPECT_EQ(s.embedding.size(), 8u);
  }
}

TEST(SqliteSchemaTest, ADatabaseFromANewerVersionIsRefused) {
  TempDir dir;
  StoreConfig config = TestConfig(dir);
  {
    auto store = VoiceprintStore::Create(config);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
  }
  {
    RawDb raw(config.DbPath());
    ASSERT_EQ(raw.Exec("INSERT INTO schema_version VALUES (99, 0, 'from the future')"), "");
  }
  auto store = VoiceprintStore::Create(config);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(store.status().message().find("schema version 99 is newer than this build supports"),
            std::string::npos)
      << store.status().message();
  RawDb raw(config.DbPath());
  EXPECT_EQ(raw.Column("SELECT max(version) FROM schema_version").at(0), "99") << "left alone";
}

TEST(SqliteSchemaTest, AForeignDatabaseIsRefused) {
  TempDir dir;
  StoreConfig config = TestConfig(dir);
  std::filesystem::create_directories(config.data_dir);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(config.DbPath().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE other_app (x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = VoiceprintStore::Create(config);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find("no voxgate schema"), std::string::npos);
}

TEST(SqliteSchemaTest, ANonDatabaseFileIsRefused) {
  TempDir dir;
  StoreConfig config = TestConfig(dir);
  std::filesystem::create_directories(config.data_dir);
  { std::ofstream(config.DbPath()) << std::string(8192, 'z'); }
  auto store = VoiceprintStore::Create(config);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss) << store.status().ToString();
}

}  // namespace
}  // namespace voxgate::store
