// PostgresStore against a real PostgreSQL 15 started on loopback by the test (postgres_server.h):
// the backend contract (store_contract.h), and what only a server shows: ciphertext only in the
// tables and on disk, durability across a clean restart and a kill -9, clean kUnavailable while
// the server is down with nothing half-written and recovery of the same store object, many
// writers, a wrong key or newer schema refused at open, and no password in any message.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "postgres_server.h"
#include "store/embedding_cipher.h"
#include "store/encryption_key.h"
#include "store/postgres_store.h"
#include "store_contract.h"
#include "store_test_env.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace voxgate::store::testing {
namespace {

constexpr const char* kPassword = "s3cr3t-Pw%21";  // percent-encoded "s3cr3t-Pw!"

StoreConfig PgConfig(const TempDir& dir, const std::string& url) {
  StoreConfig c = TestConfig(dir);
  c.backend = "postgres";
  c.postgres.url_env = "VOXGATE_PG_TEST_NO_SUCH_URL";  // never the real environment's URL
  c.postgres.url = url;
  c.postgres.pool_size = 4;
  c.postgres.connect_timeout_s = 2;
  return c;
}

/// One server for the contract suite (each test gets its own database); stopped at exit.
PostgresServer& SharedServer() {
  static PostgresServer server;
  return server;
}

/// A fresh, empty PostgreSQL database per contract test.
class PostgresContractBackend {
 public:
  std::unique_ptr<VoiceprintStore> Open(std::string* error) {
    PostgresServer& server = SharedServer();
    if (!server.ok()) {
      *error = server.error();
      return nullptr;
    }
    static std::atomic<int> next{0};
    const std::string db = "contract_" + std::to_string(next.fetch_add(1));
    std::string out;
    if (!server.Psql("CREATE DATABASE " + db, &out, "postgres")) {
      *error = out;
      return nullptr;
    }
    auto store = VoiceprintStore::Create(PgConfig(dir_, server.url(db, kPassword)));
    if (!store.ok()) {
      *error = store.status().ToString();
      return nullptr;
    }
    return std::move(store).value();
  }

 private:
  TempDir dir_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, StoreContractTest,
                               ::testing::Types<PostgresContractBackend>);

// ---------------------------------------------------------------------------------------------

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.ok()) << server_.error();
    config_ = PgConfig(dir_, server_.url("voxgate", kPassword));
    auto s = VoiceprintStore::Create(config_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  std::string Psql(const std::string& sql) {
    std::string out;
    EXPECT_TRUE(server_.Psql(sql, &out)) << sql << ": " << out;
    return out;
  }
  static void ExpectNoSecret(const Status& st) {
    EXPECT_EQ(st.message().find("s3cr3t"), std::string::npos) << st.ToString();
  }

  PostgresServer server_;  // a server of its own: these tests stop and kill it
  TempDir dir_;
  StoreConfig config_;
  std::unique_ptr<VoiceprintStore> store_;
};

TEST_F(PostgresStoreTest, OnlyCiphertextReachesTheServer) {
  std::vector<std::vector<float>> embeddings;
  for (int u = 0; u < 3; ++u) {
    VoiceprintRecord r = ContractRecord("user-" + std::to_string(u), 2, u + 1);
    for (const auto& s : r.samples) embeddings.push_back(s.embedding);
    ASSERT_TRUE(store_->CreateVoiceprint(r).ok());
  }
  ASSERT_TRUE(store_->ReplaceSamples("user-0", {ContractSample(77)}).ok());
  embeddings.push_back(MakeEmbedding(77));

  // The samples table as the server holds it, byte for byte.
  std::string dump;
  ASSERT_TRUE(server_.Psql("COPY samples TO STDOUT (FORMAT binary)", &dump));
  ASSERT_TRUE(ContainsBytes(dump, "user-1")) << "the dump holds the rows";
  const size_t sealed_size = 192 * sizeof(float) + EmbeddingCipher::kOverhead;
  EXPECT_GT(dump.size(), 5 * sealed_size) << "five sealed samples";
  // And everything on disk, after a checkpoint flushed the heap pages (WAL included).
  Psql("CHECKPOINT");
  const std::string disk = server_.ReadAllDataFiles();
  ASSERT_TRUE(ContainsBytes(disk, "user-2")) << "the scan reads the table files";
  for (const auto& e : embeddings) {
    for (size_t first : {size_t{0}, size_t{60}, size_t{184}}) {
      EXPECT_FALSE(ContainsBytes(dump, FloatBytes(e, first, 8))) << "plaintext in the table";
      EXPECT_FALSE(ContainsBytes(disk, FloatBytes(e, first, 8))) << "plaintext on disk";
    }
  }
  // The positive control: the same scan finds floats that were written in the clear.
  Psql("CREATE TABLE control (b bytea); INSERT INTO control VALUES ('\\x" + [&] {
    static const char* hex = "0123456789abcdef";
    std::string h;
    for (unsigned char c : FloatBytes(MakeEmbedding(5), 0, 8)) {
      h += hex[c >> 4];
      h += hex[c & 15];
    }
    return h;
  }() + "'); CHECKPOINT");
  EXPECT_TRUE(ContainsBytes(server_.ReadAllDataFiles(), FloatBytes(MakeEmbedding(5), 0, 8)));
}

TEST_F(PostgresStoreTest, AuditLogRefusesUpdateDeleteAndTruncate) {
  ASSERT_TRUE(store_->AppendAudit(ContractAudit(AuditAction::kVerify, "ann")).ok());
  std::string out;
  EXPECT_FALSE(server_.Psql("UPDATE audit_log SET actor = 'mallory'", &out));
  EXPECT_NE(out.find("append-only"), std::string::npos) << out;
  EXPECT_FALSE(server_.Psql("DELETE FROM audit_log", &out));
  EXPECT_FALSE(server_.Psql("TRUNCATE audit_log", &out));
  auto page = store_->ReadAudit({});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].actor, "key-1");
}

TEST_F(PostgresStoreTest, DataSurvivesRestartAndCrashAndTheStoreReconnects) {
  ASSERT_TRUE(store_->CreateVoiceprint(ContractRecord("durable", 2, 4)).ok());
  ASSERT_TRUE(store_->SetStatus("durable", UserStatus::kBlocked).ok());
  ASSERT_TRUE(server_.Stop());
  ASSERT_TRUE(server_.Start()) << server_.error();
  // The same store object, without reopening: its pooled connections died with the server.
  auto got = store_->Get("durable");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->version, 2);
  EXPECT_EQ(got->status, UserStatus::kBlocked);
  EXPECT_EQ(got->samples[1].embedding, MakeEmbedding(41));

  ASSERT_TRUE(store_->UpdateProfile("durable", {.name = std::string("after restart")}).ok());
  ASSERT_TRUE(server_.Kill());  // no shutdown checkpoint: recovery replays the WAL
  ASSERT_TRUE(server_.Start()) << server_.error();
  got = store_->Get("durable");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->version, 3);
  EXPECT_EQ(got->name, "after restart");

  store_.reset();
  auto reopened = VoiceprintStore::Create(config_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  got = (*reopened)->Get("durable");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version, 3);
}

TEST_F(PostgresStoreTest, ServerDownFailsCleanlyThenTheSameStoreRecovers) {
  ASSERT_TRUE(store_->CreateVoiceprint(ContractRecord("kept", 2, 1)).ok());
  ASSERT_TRUE(store_->Get("kept").ok());  // every pooled connection used once is now stale
  ASSERT_TRUE(server_.Stop());

  auto expect_down = [](const Status& st, const char* what) {
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << what << ": " << st.ToString();
    ExpectNoSecret(st);
    EXPECT_NE(st.message().find("***"), std::string::npos) << "the URL, redacted: " << st.message();
  };
  expect_down(store_->CreateVoiceprint(ContractRecord("lost", 3, 2)).status(), "create");
  expect_down(store_->AddSamples("kept", {ContractSample(9)}).status(), "add");
  expect_down(store_->ReplaceSamples("kept", {ContractSample(9)}).status(), "replace");
  expect_down(store_->SetStatus("kept", UserStatus::kInactive).status(), "status");
  expect_down(store_->UpdateProfile("kept", {.name = std::string("x")}).status(), "profile");
  expect_down(store_->Delete("kept"), "delete");
  expect_down(store_->AppendAudit(ContractAudit(AuditAction::kVerify, "kept")).status(), "audit");
  expect_down(store_->Get("kept").status(), "get");
  expect_down(store_->List({}).status(), "list");
  expect_down(store_->LoadActive().status(), "load active");
  expect_down(store_->ReadAudit({}).status(), "read audit");
  expect_down(store_->Stats().status(), "stats");
  expect_down(store_->Ping(), "ping");

  ASSERT_TRUE(server_.Start()) << server_.error();
  ASSERT_TRUE(store_->Ping().ok());
  auto kept = store_->Get("kept");
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->version, 1) << "no refused write took effect";
  EXPECT_EQ(kept->samples.size(), 2u);
  EXPECT_EQ(kept->status, UserStatus::kActive);
  EXPECT_EQ(store_->Get("lost").status().code(), StatusCode::kNotFound);
  auto audit = store_->ReadAudit({});
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->total, 0);
  auto lost = store_->CreateVoiceprint(ContractRecord("lost", 3, 2));
  ASSERT_TRUE(lost.ok()) << lost.status().ToString();
  EXPECT_EQ(store_->Get("lost")->samples.size(), 3u);
}

TEST_F(PostgresStoreTest, KillDuringWritesLosesNoAcknowledgedWriteAndHalfWritesNothing) {
  constexpr int kThreads = 4;
  constexpr int kSamples = 3;
  std::atomic<bool> stop{false};
  std::atomic<int> acked_count{0};
  std::mutex mu;
  std::set<std::string> acked;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string id = "w" + std::to_string(t) + "-" + std::to_string(i);
        auto r = store_->CreateVoiceprint(ContractRecord(id, kSamples, i));
        if (r.ok()) {
          std::lock_guard lock(mu);
          acked.insert(id);
          acked_count.fetch_add(1);
        } else {
          EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
    });
  }
  while (acked_count.load() < 40) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE(server_.Kill());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // writers fail meanwhile
  stop.store(true);
  for (auto& w : writers) w.join();
  ASSERT_TRUE(server_.Start()) << server_.error();

  std::set<std::string> present;
  for (int64_t offset = 0;; offset += kMaxListLimit) {
    auto page = store_->List({.limit = kMaxListLimit, .offset = offset});
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& r : page->records) {
      present.insert(r.user_id);
      EXPECT_EQ(r.samples.size(), static_cast<size_t>(kSamples)) << r.user_id << " half-written";
    }
    if (page->records.size() < static_cast<size_t>(kMaxListLimit)) break;
  }
  for (const std::string& id : acked) EXPECT_TRUE(present.count(id)) << id << " acked but lost";
  // At most one unacknowledged commit per writer may have landed (its ack lost with the server).
  EXPECT_LE(present.size(), acked.size() + kThreads);
}

TEST_F(PostgresStoreTest, ManyThreadsShareASmallPool) {
  config_.postgres.pool_size = 2;
  auto small = PostgresStore::Open(
      config_, std::make_shared<const EmbeddingCipher>(
                   LoadEncryptionKey(config_.ResolvedEncryption()).value().key));
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  PostgresStore& store = **small;
  ASSERT_TRUE(store.CreateVoiceprint(ContractRecord("pooled", 1)).ok());
  constexpr int kThreads = 8;
  constexpr int kEach = 5;
  std::mutex mu;
  std::vector<int64_t> versions;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto v = store.AddSamples("pooled", {ContractSample(100 + t * kEach + i)});
        ASSERT_TRUE(v.ok()) << v.status().ToString();
        std::lock_guard lock(mu);
        versions.push_back(*v);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::sort(versions.begin(), versions.end());
  ASSERT_EQ(versions.size(), static_cast<size_t>(kThreads * kEach));
  for (size_t i = 0; i < versions.size(); ++i) {
    EXPECT_EQ(versions[i], static_cast<int64_t>(i) + 2) << "each bump seen exactly once";
  }
  auto got = store.Get("pooled");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->samples.size(), 1u + kThreads * kEach);
}

TEST_F(PostgresStoreTest, WrongKeyIsRefusedAtOpen) {
  ASSERT_TRUE(store_->CreateVoiceprint(ContractRecord("keyed")).ok());
  store_.reset();
  TempDir other;
  StoreConfig wrong = config_;
  wrong.encryption.key_file = other / "other.key";  // a new random key
  auto refused = VoiceprintStore::Create(wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss) << refused.status().ToString();
  ExpectNoSecret(refused.status());
  auto right = VoiceprintStore::Create(config_);
  ASSERT_TRUE(right.ok()) << right.status().ToString();
  EXPECT_TRUE((*right)->Get("keyed").ok());
}

TEST_F(PostgresStoreTest, NewerSchemaIsRefused) {
  Psql("INSERT INTO schema_version (version, applied_at_ms, description) VALUES (99, 0, 'x')");
  auto refused = VoiceprintStore::Create(config_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnsupported) << refused.status().ToString();
}

TEST_F(PostgresStoreTest, StatsDescribeTheServer) {
  ASSERT_TRUE(store_->CreateVoiceprint(ContractRecord("s1")).ok());
  auto stats = store_->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->backend, "postgres");
  EXPECT_EQ(stats->schema_version, PostgresStore::LatestSchemaVersion());
  EXPECT_GT(stats->bytes_on_disk, 1'000'000) << "pg_database_size";
  EXPECT_EQ(stats->details.at("server_version").substr(0, 3), "15.");
  EXPECT_EQ(stats->details.at("pool_size"), "4");
  EXPECT_EQ(stats->details.at("url").find("s3cr3t"), std::string::npos);
}

TEST_F(PostgresStoreTest, UrlFromTheEnvironmentComesFirst) {
  StoreConfig c = config_;
  c.postgres.url_env = "VOXGATE_PG_TEST_URL";
  c.postgres.url = "postgresql://127.0.0.1:1/nowhere";
  ::setenv("VOXGATE_PG_TEST_URL", server_.url().c_str(), 1);
  auto from_env = VoiceprintStore::Create(c);
  ::unsetenv("VOXGATE_PG_TEST_URL");
  ASSERT_TRUE(from_env.ok()) << from_env.status().ToString();
  EXPECT_TRUE((*from_env)->Ping().ok());
}

TEST(PostgresStoreOpenTest, PasswordNeverAppearsInErrors) {
  TempDir dir;
  // Nothing listens on port 1.
  StoreConfig down =
      PgConfig(dir, std::string("postgresql://voxgate:") + kPassword + "@127.0.0.1:1/voxgate");
  auto refused = VoiceprintStore::Create(down);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(refused.status().message().find("s3cr3t"), std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("voxgate:***@127.0.0.1:1"), std::string::npos)
      << refused.status().ToString();
  EXPECT_EQ(down.ToString().find("s3cr3t"), std::string::npos);

  // A server that answers but has no such database.
  PostgresServer& server = SharedServer();
  ASSERT_TRUE(server.ok()) << server.error();
  auto no_db = VoiceprintStore::Create(PgConfig(dir, server.url("no_such_db", kPassword)));
  ASSERT_FALSE(no_db.ok());
  EXPECT_EQ(no_db.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(no_db.status().message().find("s3cr3t"), std::string::npos)
      << no_db.status().ToString();

  // A malformed URL that libpq quotes back in its message.
  auto bad = VoiceprintStore::Create(PgConfig(dir, "postgresql://voxgate:s3cr3t%zz@127.0.0.1:" +
                                                       std::to_string(server.port()) + "/voxgate"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("s3cr3t"), std::string::npos) << bad.status().ToString();
}

}  // namespace
}  // namespace voxgate::store::testing
