#include "store/sqlite_store.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "store/voiceprint_store.h"
#include "store_test_env.h"

// Designated initializers leave the other fields at their defaults on purpose; GCC's -Wextra
// still warns about the fields not named.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace voxgate::store {
namespace {

using testing::ContainsBytes;
using testing::FileMode;
using testing::FloatBytes;
using testing::MakeEmbedding;
using testing::RawDb;
using testing::ReadDbBytes;
using testing::TempDir;
using testing::TestConfig;

VoiceprintSample Sample(int seed, size_t dim = 192, std::string model = "") {
  VoiceprintSample s;
  s.embedding = MakeEmbedding(seed, dim);
  s.speech_s = 2.5 + seed;
  s.model_id = std::move(model);
  return s;
}

VoiceprintRecord Record(std::string user_id, int samples = 2, int seed = 0) {
  VoiceprintRecord r;
  r.user_id = std::move(user_id);
  r.name = "Name of " + r.user_id;
  r.metadata = R"({"dept":"support"})";
  r.model_id = "campplus-v1";
  for (int i = 0; i < samples; ++i) r.samples.push_back(Sample(seed * 10 + i));
  return r;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = TestConfig(dir_);
    Open();
  }
  void Open() {
    auto s = VoiceprintStore::Create(config_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void Reopen() {
    store_.reset();
    Open();
  }
  std::string DbPath() const { return config_.DbPath(); }

  TempDir dir_;
  StoreConfig config_;
  std::unique_ptr<VoiceprintStore> store_;
};

TEST_F(SqliteStoreTest, FullLifecycle) {
  auto created = store_->CreateVoiceprint(Record("alice"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->version, 1);
  EXPECT_GT(created->created_at_ms, 1'600'000'000'000);
  EXPECT_EQ(created->created_at_ms, created->updated_at_ms);
  ASSERT_EQ(created->samples.size(), 2u);
  EXPECT_EQ(created->samples[0].sample_id.size(), 32u) << "generated sample id";
  EXPECT_NE(created->samples[0].sample_id, created->samples[1].sample_id);
  EXPECT_EQ(created->samples[0].model_id, "campplus-v1");

  auto got = store_->Get("alice");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->user_id, "alice");
  EXPECT_EQ(got->name, "Name of alice");
  EXPECT_EQ(got->status, UserStatus::kActive);
  EXPECT_EQ(got->metadata, R"({"dept":"support"})");
  EXPECT_EQ(got->model_id, "campplus-v1");
  EXPECT_EQ(got->version, 1);
  EXPECT_EQ(got->created_at_ms, created->created_at_ms);
  ASSERT_EQ(got->samples.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(got->samples[i].sample_id, created->samples[i].sample_id);
    EXPECT_EQ(got->samples[i].embedding, MakeEmbedding(static_cast<int>(i)));
    EXPECT_EQ(got->samples[i].dim, 192u);
    EXPECT_DOUBLE_EQ(got->samples[i].speech_s, 2.5 + i);
    EXPECT_EQ(got->samples[i].model_id, "campplus-v1");
  }

  auto again = store_->CreateVoiceprint(Record("alice", 1, 5));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->Get("alice")->samples.size(), 2u) << "the failed create changed nothing";

  ASSERT_TRUE(store_->Delete("alice").ok());
  EXPECT_EQ(store_->Get("alice").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete("alice").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->AddSamples("alice", {Sample(1)}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->SetStatus("alice", UserStatus::kBlocked).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->UpdateProfile("alice", {.name = "x"}).status().code(), StatusCode::kNotFound);
  // Deleted users can enroll again from scratch.
  auto recreated = store_->CreateVoiceprint(Record("alice", 1));
  ASSERT_TRUE(recreated.ok());
  EXPECT_EQ(recreated->version, 1);
}

TEST_F(SqliteStoreTest, EveryChangeBumpsTheVersionOnce) {
  ASSERT_TRUE(store_->CreateVoiceprint(Record("bob", 1)).ok());
  auto v = store_->AddSamples("bob", {Sample(7), Sample(8)});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 2);
  EXPECT_EQ(*store_->SetStatus("bob", UserStatus::kInactive), 3);
  EXPECT_EQ(*store_->SetStatus("bob", UserStatus::kInactive), 3) << "no change, no bump";
  EXPECT_EQ(*store_->UpdateProfile("bob", {.name = "Robert"}), 4);
  EXPECT_EQ(*store_->UpdateProfile("bob", {.name = "Robert"}), 4) << "no change, no bump";
  EXPECT_EQ(*store_->UpdateProfile("bob", {.metadata = R"({"vip":true})"}), 5);
  EXPECT_EQ(*store_->UpdateProfile("bob", {}), 5);
  auto got = store_->Get("bob");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version, 5);
  EXPECT_EQ(got->name, "Robert");
  EXPECT_EQ(got->metadata, R"({"vip":true})");
  EXPECT_EQ(got->status, UserStatus::kInactive);
  EXPECT_GE(got->updated_at_ms, got->created_at_ms);
  ASSERT_EQ(got->samples.size(), 3u);
  EXPECT_EQ(got->samples[1].embedding, MakeEmbedding(7)) << "samples keep insertion order";
  EXPECT_EQ(got->samples[2].embedding, MakeEmbedding(8));
}

TEST_F(SqliteStoreTest, AddSamplesKeepsOneModelAndOneDimension) {
  ASSERT_TRUE(store_->CreateVoiceprint(Record("carol", 1)).ok());
  auto other_model = store_->AddSamples("carol", {Sample(3, 192, "eres2net-v2")});
  EXPECT_EQ(other_model.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(other_model.status().message().find("re-enroll"), std::string::npos);
  auto other_dim = store_->AddSamples("carol", {Sample(3, 256)});
  EXPECT_EQ(other_dim.status().code(), StatusCode::kInvalidArgument);
  auto mixed = store_->AddSamples("carol", {Sample(3), Sample(4, 192, "other")});
  EXPECT_EQ(mixed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->AddSamples("carol", {}).status().code(), StatusCode::kInvalidArgument);

  // An explicit sample id that is already taken conflicts and nothing is added.
  std::string taken = store_->Get("carol")->samples[0].sample_id;
  VoiceprintSample dup = Sample(9);
  dup.sample_id = taken;
  auto conflict = store_->AddSamples("carol", {Sample(8), dup});
  EXPECT_EQ(conflict.status().code(), StatusCode::kAlreadyExists);
  auto got = store_->Get("carol");
  EXPECT_EQ(got->samples.size(), 1u);
  EXPECT_EQ(got->version, 1);

  // Re-enrollment with a new model replaces every sample.
  auto replaced =
      store_->ReplaceSamples("carol", {Sample(20, 256, "eres2net-v2"), Sample(21, 256)});
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(*replaced, 2);
  got = store_->Get("carol");
  EXPECT_EQ(got->model_id, "eres2net-v2");
  ASSERT_EQ(got->samples.size(), 2u);
  EXPECT_EQ(got->samples[0].embedding, MakeEmbedding(20, 256));
  EXPECT_EQ(got->samples[1].model_id, "eres2net-v2");
}

TEST_F(SqliteStoreTest, RefusesBadRecords) {
  auto bad_json = Record("dave");
  bad_json.metadata = "{not json";
  EXPECT_EQ(store_->CreateVoiceprint(bad_json).status().code(), StatusCode::kInvalidArgument);
  auto array_json = Record("dave");
  array_json.metadata = "[1,2]";
  EXPECT_EQ(store_->CreateVoiceprint(array_json).status().code(), StatusCode::kInvalidArgument);
  auto nan = Record("dave");
  nan.samples[0].embedding[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(store_->CreateVoiceprint(nan).status().code(), StatusCode::kInvalidArgument);
  auto empty_emb = Record("dave");
  empty_emb.samples[1].embedding.clear();
  EXPECT_EQ(store_->CreateVoiceprint(empty_emb).status().code(), StatusCode::kInvalidArgument);
  auto dup_ids = Record("dave");
  dup_ids.samples[0].sample_id = dup_ids.samples[1].sample_id = "same";
  EXPECT_EQ(store_->CreateVoiceprint(dup_ids).status().code(), StatusCode::kInvalidArgument);
  auto neg_speech = Record("dave");
  neg_speech.samples[0].speech_s = -1;
  EXPECT_EQ(store_->CreateVoiceprint(neg_speech).status().code(), StatusCode::kInvalidArgument);
  auto bad_model = Record("dave", 0);
  bad_model.model_id = std::string("m\0x", 3);
  EXPECT_EQ(store_->CreateVoiceprint(bad_model).status().code(), StatusCode::kInvalidArgument);
  auto huge = Record("dave");
  huge.metadata = R"({"x":")" + std::string(kMaxMetadataBytes, 'a') + R"("})";
  EXPECT_EQ(store_->CreateVoiceprint(huge).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Get("dave").status().code(), StatusCode::kNotFound) << "nothing half-written";

  // Deep nesting within the size limit is parsed without recursion trouble.
  auto deep = Record("deep", 1);
  deep.metadata = R"({"a":)" + std::string(20000, '[') + std::string(20000, ']') + "}";
  EXPECT_TRUE(store_->CreateVoiceprint(deep).ok());

  auto no_samples = Record("erin", 0);
  no_samples.metadata = "";
  auto created = store_->CreateVoiceprint(no_samples);
  ASSERT_TRUE(created.ok()) << "a profile may be created before its samples";
  EXPECT_EQ(store_->Get("erin")->metadata, "{}");
}

TEST_F(SqliteStoreTest, UserIdsAreStoredExactlyAndHarmlessly) {
  const std::vector<std::string> ids = {
      "'; DROP TABLE voiceprints; --",   "Robert'); DELETE FROM samples WHERE ('1'='1",
      "O'Brien \"the quoted\" `tick`",   "../../etc/passwd",
      "C:\\Windows\\system32",           "a/b/c?d=e&f#g",
      "%_*[]^$ LIKE wildcards",          "用户-ünïcødé-😀",
      " leading and trailing ",          "tab\tnewline\ncr\r",
      std::string(kMaxUserIdBytes, 'x'),
  };
  for (size_t i = 0; i < ids.size(); ++i) {
    VoiceprintRecord r = Record(ids[i], 1, static_cast<int>(i));
    r.name = ids[i];
    r.metadata = nlohmann::json{{"id", ids[i]}}.dump();
    auto created = store_->CreateVoiceprint(r);
    ASSERT_TRUE(created.ok()) << ids[i] << ": " << created.status().ToString();
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    auto got = store_->Get(ids[i]);
    ASSERT_TRUE(got.ok()) << ids[i];
    EXPECT_EQ(got->user_id, ids[i]);
    EXPECT_EQ(got->name, ids[i]);
    EXPECT_EQ(got->samples.at(0).embedding, MakeEmbedding(static_cast<int>(i) * 10));
  }
  auto page = store_->List({.limit = 100});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, static_cast<int64_t>(ids.size()));
  std::set<std::string> listed;
  for (const auto& r : page->records) listed.insert(r.user_id);
  EXPECT_EQ(listed, std::set<std::string>(ids.begin(), ids.end()));
  // A prefix or LIKE pattern does not match anything else.
  EXPECT_EQ(store_->Get("%").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("'").status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(store_->Delete(ids[0]).ok());
  EXPECT_EQ(store_->Get(ids[0]).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->Get(ids[1]).ok()) << "the tables are intact";
  EXPECT_EQ(store_->List({})->total, static_cast<int64_t>(ids.size()) - 1);

  // Ids no backend could store portably are refused, not mangled.
  for (const std::string& bad :
       {std::string(), std::string("nul\0byte", 8), std::string("\xff\xfe"),
        std::string("\xc0\xaf"), std::string(kMaxUserIdBytes + 1, 'y')}) {
    EXPECT_EQ(store_->CreateVoiceprint(Record(bad, 1)).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Get(bad).status().code(), StatusCode::kInvalidArgument);
  }
}

TEST_F(SqliteStoreTest, ListPaginatesFiltersAndCounts) {
  const UserStatus cycle[] = {UserStatus::kActive, UserStatus::kInactive, UserStatus::kActive,
                              UserStatus::kBlocked, UserStatus::kExpired};
  for (int i = 0; i < 25; ++i) {
    char id[16];
    std::snprintf(id, sizeof(id), "user%02d", i);
    VoiceprintRecord r = Record(id, 1, i);
    r.status = cycle[i % 5];
    ASSERT_TRUE(store_->CreateVoiceprint(r).ok());
  }
  std::vector<std::string> seen;
  for (int64_t offset : {0, 10, 20}) {
    auto page = store_->List({.limit = 10, .offset = offset});
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_EQ(page->total, 25);
    EXPECT_EQ(page->records.size(), offset == 20 ? 5u : 10u);
    for (const auto& r : page->records) {
      seen.push_back(r.user_id);
      ASSERT_EQ(r.samples.size(), 1u);
      EXPECT_TRUE(r.samples[0].embedding.empty()) << "no embeddings unless asked";
      EXPECT_EQ(r.samples[0].dim, 192u);
      EXPECT_FALSE(r.samples[0].sample_id.empty());
    }
  }
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 25u) << "no repeats";
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end())) << "oldest first, then by id";

  auto active = store_->List({.status = UserStatus::kActive, .limit = 3});
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active->total, 10);
  EXPECT_EQ(active->records.size(), 3u);
  for (const auto& r : active->records) EXPECT_EQ(r.status, UserStatus::kActive);
  EXPECT_EQ(store_->List({.status = UserStatus::kBlocked})->total, 5);
  EXPECT_EQ(store_->List({.offset = 100})->records.size(), 0u);

  auto with = store_->List({.limit = 2, .include_embeddings = true});
  ASSERT_TRUE(with.ok());
  EXPECT_EQ(with->records[0].samples[0].embedding, MakeEmbedding(0));
  EXPECT_EQ(with->records[1].samples[0].embedding, MakeEmbedding(10));

  EXPECT_EQ(store_->List({.limit = 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->List({.limit = kMaxListLimit + 1}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->List({.offset = -1}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, LoadActiveReturnsOnlyActiveUsersWithTheirEmbeddings) {
  ASSERT_TRUE(store_->CreateVoiceprint(Record("a1", 2, 1)).ok());
  ASSERT_TRUE(store_->CreateVoiceprint(Record("a2", 1, 2)).ok());
  ASSERT_TRUE(store_->CreateVoiceprint(Record("a3-no-samples", 0)).ok());
  for (auto [id, status] : {std::pair{"i1", UserStatus::kInactive},
                            {"e1", UserStatus::kExpired},
                            {"b1", UserStatus::kBlocked}}) {
    ASSERT_TRUE(store_->CreateVoiceprint(Record(id, 1, 9)).ok());
    ASSERT_TRUE(store_->SetStatus(id, status).ok());
  }
  ASSERT_TRUE(store_->SetStatus("a2", UserStatus::kBlocked).ok());
  ASSERT_TRUE(store_->SetStatus("a2", UserStatus::kActive).ok());

  auto active = store_->LoadActive();
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  ASSERT_EQ(active->size(), 3u);
  EXPECT_EQ((*active)[0].user_id, "a1");
  ASSERT_EQ((*active)[0].samples.size(), 2u);
  EXPECT_EQ((*active)[0].samples[1].embedding, MakeEmbedding(11));
  EXPECT_EQ((*active)[1].user_id, "a2");
  EXPECT_EQ((*active)[1].version, 3);
  EXPECT_EQ((*active)[1].samples.at(0).embedding, MakeEmbedding(20));
  EXPECT_EQ((*active)[2].user_id, "a3-no-samples");
  EXPECT_TRUE((*active)[2].samples.empty());
}

TEST_F(SqliteStoreTest, RawDatabaseHoldsNoPlaintextEmbedding) {
  VoiceprintRecord r = Record("plain", 2, 42);
  const std::vector<float> emb = r.samples[0].embedding;
  ASSERT_TRUE(store_->CreateVoiceprint(r).ok());
  const std::vector<std::string> needles = {FloatBytes(emb, 0, 4), FloatBytes(emb, 100, 4),
                                            FloatBytes(emb, 188, 4)};
  auto check = [&](const char* when) {
    std::string bytes = ReadDbBytes(DbPath());
    ASSERT_GT(bytes.size(), 0u);
    for (const auto& n : needles) EXPECT_FALSE(ContainsBytes(bytes, n)) << when;
  };
  check("open (WAL)");
  // The check must be able to fail: the name is stored in clear and is found.
  EXPECT_TRUE(ContainsBytes(ReadDbBytes(DbPath()), "Name of plain"));
  store_.reset();
  check("closed (checkpointed)");
  Open();
  EXPECT_EQ(store_->Get("plain")->samples[0].embedding, emb);
}

TEST_F(SqliteStoreTest, DeleteLeavesNoTraceInTheFile) {
  VoiceprintRecord victim = Record("victim", 3, 7);
  victim.name = "VictimNameMarker-8c1f";
  victim.metadata = R"({"marker":"MetaMarker-55ab"})";
  ASSERT_TRUE(store_->CreateVoiceprint(victim).ok());
  ASSERT_TRUE(store_->CreateVoiceprint(Record("keeper", 2, 8)).ok());
  std::vector<std::string> blobs;
  {
    RawDb raw(DbPath());
    blobs = raw.Column("SELECT embedding_enc FROM samples WHERE user_id = ?1", {"victim"});
  }
  ASSERT_EQ(blobs.size(), 3u);
  std::string before = ReadDbBytes(DbPath());
  for (const auto& b : blobs) ASSERT_TRUE(ContainsBytes(before, b)) << "sanity: blob on disk";
  ASSERT_TRUE(ContainsBytes(before, "VictimNameMarker-8c1f"));

  ASSERT_TRUE(store_->Delete("victim").ok());
  std::string after = ReadDbBytes(DbPath());
  for (const auto& b : blobs) {
    EXPECT_FALSE(ContainsBytes(after, b)) << "encrypted embedding still on disk";
    EXPECT_FALSE(ContainsBytes(after, b.substr(13, 32))) << "part of a ciphertext on disk";
  }
  EXPECT_FALSE(ContainsBytes(after, "VictimNameMarker-8c1f"));
  EXPECT_FALSE(ContainsBytes(after, "MetaMarker-55ab"));
  {
    RawDb raw(DbPath());
    EXPECT_TRUE(raw.Column("SELECT 1 FROM samples WHERE user_id = 'victim'").empty());
    EXPECT_EQ(raw.Column("SELECT count(*) FROM samples").at(0), "2");
  }
  EXPECT_TRUE(store_->Get("keeper").ok());
}

TEST_F(SqliteStoreTest, ReplaceSamplesLeavesNoOldEmbeddingOnDisk) {
  ASSERT_TRUE(store_->CreateVoiceprint(Record("re", 2, 3)).ok());
  std::vector<std::string> old;
  {
    RawDb raw(DbPath());
    old = raw.Column("SELECT embedding_enc FROM samples WHERE user_id = 're'");
  }
  ASSERT_TRUE(store_->ReplaceSamples("re", {Sample(77)}).ok());
  std::string after = ReadDbBytes(DbPath());
  for (const auto& b : old) EXPECT_FALSE(ContainsBytes(after, b));
}

TEST_F(SqliteStoreTest, TamperedOrMovedCiphertextIsDataLoss) {
  ASSERT_TRUE(store_->CreateVoiceprint(Record("alice", 1, 1)).ok());
  ASSERT_TRUE(store_->CreateVoiceprint(Record("bob", 1, 2)).ok());
  const std::string alice_sample = store_->Get("alice")->samples[0].sample_id;
  const std::string bob_sample = store_->Get("bob")->samples[0].sample_id;
  RawDb raw(DbPath());
  std::string alice_blob =
      raw.Column("SELECT embedding_enc FROM samples WHERE user_id = 'alice'").at(0);

  // Alice's blob copied over Bob's: it decrypts for nobody but Alice.
  ASSERT_TRUE(raw.SetBlob("bob", bob_sample, alice_blob));
  auto bob = store_->Get("bob");
  ASSERT_FALSE(bob.ok());
  EXPECT_EQ(bob.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(bob.status().message().find("bob"), std::string::npos) << bob.status().message();
  EXPECT_TRUE(store_->Get("alice").ok());
  EXPECT_EQ(store_->LoadActive().status().code(), StatusCode::kDataLoss) << "never silently skip";

  // One flipped bit in Alice's ciphertext.
  std::string flipped = alice_blob;
  flipped[20] = static_cast<char>(flipped[20] ^ 0x10);
  ASSERT_TRUE(raw.SetBlob("alice", alice_sample, flipped));
  EXPECT_EQ(store_->Get("alice").status().code(), StatusCode::kDataLoss);
  // Listing without embeddings still works (nothing to decrypt), with them it does not.
  EXPECT_TRUE(store_->List({}).ok());
  EXPECT_EQ(store_->List({.include_embeddings = true}).status().code(), StatusCode::kDataLoss);
}

TEST_F(SqliteStoreTest, WrongKeyIsRefusedAtOpen) {
  ASSERT_TRUE(store_->CreateVoiceprint(Record("alice", 1)).ok());
  store_.reset();
  std::string original = testing::ReadFileBytes(config_.encryption.key_file);
  auto other = EncryptionKey::Random();
  ASSERT_TRUE(other.ok());
  const std::string other_hex = other->ToHex();
  ::setenv("VOXGATE_STORE_TEST_WRONG_KEY", other_hex.c_str(), 1);
  StoreConfig wrong = config_;
  wrong.encryption.key_env = "VOXGATE_STORE_TEST_WRONG_KEY";
  auto s = VoiceprintStore::Create(wrong);
  ::unsetenv("VOXGATE_STORE_TEST_WRONG_KEY");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(s.status().message().find("not the key this database was written with"),
            std::string::npos)
      << s.status().message();
  EXPECT_NE(s.status().message().find("fingerprint " + other->Fingerprint()), std::string::npos)
      << "names both keys by fingerprint";
  EXPECT_EQ(s.status().message().find(other_hex), std::string::npos);
  EXPECT_EQ(s.status().message().find(original.substr(0, 64)), std::string::npos);
  Open();  // the right key still works
  EXPECT_TRUE(store_->Get("alice").ok());
}

TEST_F(SqliteStoreTest, DataSurvivesCloseAndReopen) {
  VoiceprintRecord r = Record("persist", 3, 4);
  r.status = UserStatus::kExpired;
  auto created = store_->CreateVoiceprint(r);
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(store_->AddSamples("persist", {Sample(99)}).ok());
  ASSERT_TRUE(store_->AppendAudit({.action = AuditAction::kRegister, .user_id = "persist"}).ok());
  Reopen();
  auto got = store_->Get("persist");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->status, UserStatus::kExpired);
  EXPECT_EQ(got->version, 2);
  EXPECT_EQ(got->created_at_ms, created->created_at_ms);
  ASSERT_EQ(got->samples.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(got->samples[i].embedding, MakeEmbedding(40 + i));
  EXPECT_EQ(got->samples[3].embedding, MakeEmbedding(99));
  EXPECT_EQ(store_->ReadAudit({})->total, 1);
}

TEST_F(SqliteStoreTest, FilesArePrivate) {
  EXPECT_EQ(FileMode(config_.data_dir), 0700);
  EXPECT_EQ(FileMode(DbPath()), 0600);
  ASSERT_TRUE(store_->CreateVoiceprint(Record("x", 1)).ok());
  EXPECT_EQ(FileMode(DbPath() + "-wal"), 0600);
  EXPECT_EQ(FileMode(config_.encryption.key_file), 0600);
}

TEST_F(SqliteStoreTest, AuditLogAppendsReadsNewestFirstAndFilters) {
  for (int i = 0; i < 12; ++i) {
    AuditEvent e;
    e.action = i % 3 == 0 ? AuditAction::kVerify : AuditAction::kIdentify;
    e.user_id = i % 2 == 0 ? "alice" : "bob";
    e.actor = "key-" + std::to_string(i);
    e.request_id = "req-" + std::to_string(i);
    e.detail = R"({"score":0.)" + std::to_string(i) + "}";
    auto id = store_->AppendAudit(e);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    EXPECT_EQ(*id, i + 1);
  }
  auto all = store_->ReadAudit({.limit = 5});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->total, 12);
  ASSERT_EQ(all->events.size(), 5u);
  EXPECT_EQ(all->events[0].id, 12);
  EXPECT_EQ(all->events[0].request_id, "req-11");
  EXPECT_EQ(all->events[0].actor, "key-11");
  EXPECT_EQ(all->events[4].id, 8);
  EXPECT_GT(all->events[0].ts_ms, 0);

  auto page2 = store_->ReadAudit({.limit = 5, .offset = 5});
  EXPECT_EQ(page2->events.front().id, 7);
  auto cursor = store_->ReadAudit({.limit = 5, .before_id = all->events.back().id});
  EXPECT_EQ(cursor->events.front().id, 7);
  EXPECT_EQ(cursor->total, 7);

  auto alice = store_->ReadAudit({.user_id = "alice"});
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->total, 6);
  for (const auto& e : alice->events) EXPECT_EQ(e.user_id, "alice");
  auto alice_verify = store_->ReadAudit({.user_id = "alice", .action = AuditAction::kVerify});
  EXPECT_EQ(alice_verify->total, 2);  // i = 0, 6
  auto verify = store_->ReadAudit({.action = AuditAction::kVerify});
  EXPECT_EQ(verify->total, 4);
  EXPECT_EQ(store_->ReadAudit({.user_id = "nobody"})->total, 0);

  EXPECT_EQ(store_->AppendAudit({.detail = "not json"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->AppendAudit({.detail = "[]"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->AppendAudit({.action = AuditAction::kIdentify, .detail = ""}).ok())
      << "an empty detail means {}";
  AuditEvent fixed_ts{.ts_ms = 1234, .action = AuditAction::kDelete, .user_id = "alice"};
  ASSERT_TRUE(store_->AppendAudit(fixed_ts).ok());
  EXPECT_EQ(store_->ReadAudit({.limit = 1})->events[0].ts_ms, 1234);
  EXPECT_EQ(store_->ReadAudit({.limit = 0}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, AuditLogRefusesUpdateAndDelete) {
  ASSERT_TRUE(store_->AppendAudit({.action = AuditAction::kDelete, .user_id = "u"}).ok());
  RawDb raw(DbPath());
  EXPECT_NE(raw.Exec("UPDATE audit_log SET user_id = 'someone else'").find("append-only"),
            std::string::npos);
  EXPECT_NE(raw.Exec("DELETE FROM audit_log").find("append-only"), std::string::npos);
  auto page = store_->ReadAudit({});
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].user_id, "u");
}

TEST_F(SqliteStoreTest, StatsAndPing) {
  ASSERT_TRUE(store_->CreateVoiceprint(Record("s1", 2)).ok());
  ASSERT_TRUE(store_->CreateVoiceprint(Record("s2", 3)).ok());
  ASSERT_TRUE(store_->SetStatus("s2", UserStatus::kBlocked).ok());
  ASSERT_TRUE(store_->AppendAudit({.action = AuditAction::kStatus, .user_id = "s2"}).ok());
  EXPECT_TRUE(store_->Ping().ok());
  auto stats = store_->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->backend, "sqlite");
  EXPECT_TRUE(stats->healthy);
  EXPECT_EQ(stats->users, 2);
  EXPECT_EQ(stats->users_by_status.at("active"), 1);
  EXPECT_EQ(stats->users_by_status.at("blocked"), 1);
  EXPECT_EQ(stats->users_by_status.at("expired"), 0);
  EXPECT_EQ(stats->samples, 5);
  EXPECT_EQ(stats->audit_events, 1);
  EXPECT_GT(stats->bytes_on_disk, 0);
  EXPECT_EQ(stats->schema_version, 2);
  EXPECT_EQ(stats->encryption, "aes-256-gcm");
  EXPECT_EQ(stats->key_fingerprint.size(), 16u);
  EXPECT_EQ(stats->details.at("synchronous"), "full");
  EXPECT_EQ(stats->details.at("path"), DbPath());
}

TEST_F(SqliteStoreTest, DatabaseSettingsAreInForce) {
  RawDb raw(DbPath());
  EXPECT_EQ(raw.Column("PRAGMA journal_mode").at(0), "wal");
  EXPECT_EQ(raw.Column("PRAGMA application_id").at(0), "1448626004");
  EXPECT_EQ(raw.Column("SELECT max(version) FROM schema_version").at(0), "2");
  EXPECT_EQ(raw.Column("PRAGMA integrity_check").at(0), "ok");
}

TEST(SqliteStoreFactoryTest, UnknownBackendAndBadConfigAreRefused) {
  TempDir dir;
  StoreConfig c = TestConfig(dir);
  c.backend = "mongodb";  // redis, postgres and tiered are backends now
  auto s = VoiceprintStore::Create(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("store.backend"), std::string::npos);
  c.backend = "sqlite";
  c.data_dir = dir / "file-not-dir";
  { std::ofstream(c.data_dir) << "x"; }
  EXPECT_FALSE(VoiceprintStore::Create(c).ok());
}

TEST(SqliteStoreFactoryTest, SynchronousNormalIsHonoured) {
  TempDir dir;
  StoreConfig c = TestConfig(dir);
  c.sqlite.synchronous = "normal";
  auto s = VoiceprintStore::Create(c);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->Stats()->details.at("synchronous"), "normal");
}

}  // namespace
}  // namespace voxgate::store
