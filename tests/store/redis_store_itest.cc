// RedisStore against a real redis-server: the backend contract, encryption at rest (raw values
// scanned for embedding bytes), the key check, concurrency and a Redis restart.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/redis_server.h"
#include "store/embedding_cipher.h"
#include "store/encryption_key.h"
#include "store/redis_store.h"
#include "store/store_test_env.h"
#include "store_contract.h"

namespace voxgate::store {
namespace testing {

// A walk through the whole contract on one store, in the order an API client would go (the
// shared suite, store_contract.h, is instantiated below as well). `tag` prefixes the ids.
void CheckStoreContract(VoiceprintStore& store, const std::string& tag) {
  const std::string a = tag + "alice";
  const std::string b = tag + "bob";
  VoiceprintRecord rec;
  rec.user_id = a;
  rec.name = "Alice";
  rec.metadata = R"({"team":"blue"})";
  rec.model_id = "campplus";
  rec.samples.push_back({"s1", MakeEmbedding(1), 3.5, "", 0, 0});
  rec.samples.push_back({"", MakeEmbedding(2), 4.0, "", 0, 0});
  auto created = store.CreateVoiceprint(rec);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->version, 1);
  EXPECT_GT(created->created_at_ms, 0);
  ASSERT_EQ(created->samples.size(), 2u);
  EXPECT_FALSE(created->samples[1].sample_id.empty());
  EXPECT_EQ(created->samples[1].model_id, "campplus");

  auto again = store.CreateVoiceprint(rec);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);

  auto got = store.Get(a);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->name, "Alice");
  EXPECT_EQ(got->metadata, R"({"team":"blue"})");
  EXPECT_EQ(got->version, 1);
  ASSERT_EQ(got->samples.size(), 2u);
  EXPECT_EQ(got->samples[0].sample_id, "s1");
  EXPECT_EQ(got->samples[0].embedding, MakeEmbedding(1));
  EXPECT_EQ(got->samples[1].embedding, MakeEmbedding(2));
  EXPECT_EQ(got->samples[0].dim, 192u);

  auto missing = store.Get(tag + "nobody");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.SetStatus(tag + "nobody", UserStatus::kBlocked).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store.Delete(tag + "nobody").code(), StatusCode::kNotFound);
  EXPECT_EQ(store.AddSamples(tag + "nobody", {{"", MakeEmbedding(3), 1, "", 0, 0}}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store.CreateVoiceprint(VoiceprintRecord{}).status().code(),
            StatusCode::kInvalidArgument);

  auto v2 = store.AddSamples(a, {{"s3", MakeEmbedding(3), 2.0, "", 0, 0}});
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(*v2, 2);
  EXPECT_EQ(store.AddSamples(a, {{"s3", MakeEmbedding(4), 2.0, "", 0, 0}}).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(store.AddSamples(a, {{"", MakeEmbedding(4, 64), 2.0, "", 0, 0}}).status().code(),
            StatusCode::kInvalidArgument);  // wrong dimension
  EXPECT_EQ(store.AddSamples(a, {{"", MakeEmbedding(4), 2.0, "eres2net", 0, 0}}).status().code(),
            StatusCode::kInvalidArgument);  // another model needs ReplaceSamples

  auto v3 = store.ReplaceSamples(a, {{"r1", MakeEmbedding(9, 256), 5.0, "eres2net", 0, 0}});
  ASSERT_TRUE(v3.ok()) << v3.status().ToString();
  EXPECT_EQ(*v3, 3);
  got = store.Get(a);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->model_id, "eres2net");
  ASSERT_EQ(got->samples.size(), 1u);
  EXPECT_EQ(got->samples[0].embedding, MakeEmbedding(9, 256));

  auto v4 = store.SetStatus(a, UserStatus::kBlocked);
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(*v4, 4);
  auto same = store.SetStatus(a, UserStatus::kBlocked);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, 4);  // unchanged status, unchanged version

  ProfileUpdate up;
  up.name = "Alice B.";
  auto v5 = store.UpdateProfile(a, up);
  ASSERT_TRUE(v5.ok());
  EXPECT_EQ(*v5, 5);
  EXPECT_EQ(*store.UpdateProfile(a, up), 5);
  ProfileUpdate bad;
  bad.metadata = "[1,2]";
  EXPECT_EQ(store.UpdateProfile(a, bad).status().code(), StatusCode::kInvalidArgument);
  got = store.Get(a);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "Alice B.");
  EXPECT_EQ(got->status, UserStatus::kBlocked);
  EXPECT_EQ(got->version, 5);

  VoiceprintRecord rb;
  rb.user_id = b;
  rb.name = "Bob";
  rb.samples.push_back({"", MakeEmbedding(5), 1.0, "campplus", 0, 0});
  ASSERT_TRUE(store.CreateVoiceprint(rb).ok());

  // LoadActive: bob only (alice is blocked).
  auto active = store.LoadActive();
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  bool saw_alice = false;
  bool saw_bob = false;
  for (const auto& r : *active) {
    saw_alice |= r.user_id == a;
    if (r.user_id == b) {
      saw_bob = true;
      ASSERT_EQ(r.samples.size(), 1u);
      EXPECT_EQ(r.samples[0].embedding, MakeEmbedding(5));
    }
  }
  EXPECT_FALSE(saw_alice);
  EXPECT_TRUE(saw_bob);

  // List: alice before bob (creation order), paging, status filter, embeddings on request.
  ListQuery q;
  q.limit = kMaxListLimit;
  auto all = store.List(q);
  ASSERT_TRUE(all.ok());
  int ia = -1;
  int ib = -1;
  for (size_t i = 0; i < all->records.size(); ++i) {
    if (all->records[i].user_id == a) ia = static_cast<int>(i);
    if (all->records[i].user_id == b) ib = static_cast<int>(i);
  }
  ASSERT_GE(ia, 0);
  ASSERT_GT(ib, ia);
  EXPECT_TRUE(all->records[static_cast<size_t>(ia)].samples[0].embedding.empty());
  EXPECT_EQ(all->records[static_cast<size_t>(ia)].samples[0].dim, 256u);
  q.limit = 1;
  q.offset = ia;
  q.include_embeddings = true;
  auto one = store.List(q);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->records.size(), 1u);
  EXPECT_EQ(one->records[0].user_id, a);
  EXPECT_EQ(one->records[0].samples[0].embedding, MakeEmbedding(9, 256));
  EXPECT_EQ(one->total, all->total);
  ListQuery blocked;
  blocked.status = UserStatus::kBlocked;
  auto bl = store.List(blocked);
  ASSERT_TRUE(bl.ok());
  bool blocked_has_alice = false;
  for (const auto& r : bl->records) {
    EXPECT_EQ(r.status, UserStatus::kBlocked);
    blocked_has_alice |= r.user_id == a;
  }
  EXPECT_TRUE(blocked_has_alice);
  ListQuery zero;
  zero.limit = 0;
  EXPECT_EQ(store.List(zero).status().code(), StatusCode::kInvalidArgument);

  // Delete.
  ASSERT_TRUE(store.Delete(a).ok());
  EXPECT_EQ(store.Get(a).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.Delete(a).code(), StatusCode::kNotFound);
  ASSERT_TRUE(store.Delete(b).ok());

  // Audit: newest first, filters, before_id cursor.
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    AuditEvent e;
    e.action = i % 2 ? AuditAction::kVerify : AuditAction::kDelete;
    e.user_id = a;
    e.actor = "key1";
    e.request_id = "req" + std::to_string(i);
    e.detail = R"({"i":)" + std::to_string(i) + "}";
    auto id = store.AppendAudit(e);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    if (!ids.empty()) {
      EXPECT_GT(*id, ids.back());
    }
    ids.push_back(*id);
  }
  AuditEvent bad_event;
  bad_event.detail = "not json";
  EXPECT_EQ(store.AppendAudit(bad_event).status().code(), StatusCode::kInvalidArgument);
  AuditQuery aq;
  aq.user_id = a;
  auto page = store.ReadAudit(aq);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->total, 5);
  ASSERT_EQ(page->events.size(), 5u);
  EXPECT_EQ(page->events[0].id, ids[4]);
  EXPECT_EQ(page->events[0].request_id, "req4");
  EXPECT_EQ(page->events[0].detail, R"({"i":4})");
  EXPECT_GT(page->events[0].ts_ms, 0);
  aq.action = AuditAction::kVerify;
  page = store.ReadAudit(aq);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 2);
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_EQ(page->events[0].id, ids[3]);
  AuditQuery cursor;
  cursor.user_id = a;
  cursor.before_id = ids[2];
  cursor.limit = 1;
  page = store.ReadAudit(cursor);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 2);
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].id, ids[1]);

  auto stats = store.Stats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_TRUE(stats->healthy);
  EXPECT_EQ(stats->encryption, "aes-256-gcm");
  EXPECT_GE(stats->audit_events, 5);
  EXPECT_TRUE(store.Ping().ok());
}

}  // namespace testing

namespace {

using testing::MakeEmbedding;

/// A fresh RedisStore on its own redis-server (so every contract test starts empty).
class RedisContractBackend {
 public:
  std::unique_ptr<VoiceprintStore> Open(std::string* error) {
    Status started = redis_.Start();
    if (!started.ok()) {
      *error = started.ToString();
      return nullptr;
    }
    StoreConfig config = testing::TestConfig(dir_);
    config.backend = "redis";
    config.redis.url_env = "VOXGATE_REDIS_TEST_NO_SUCH_URL";
    config.redis.url = redis_.url();
    auto store = VoiceprintStore::Create(config);
    if (!store.ok()) {
      *error = store.status().ToString();
      return nullptr;
    }
    return std::move(store).value();
  }

 private:
  voxgate::testing::RedisServer redis_;
  testing::TempDir dir_;
};

}  // namespace

namespace testing {
INSTANTIATE_TYPED_TEST_SUITE_P(Redis, StoreContractTest, ::testing::Types<RedisContractBackend>);
}  // namespace testing

namespace {

using voxgate::testing::RedisServer;

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    config_ = testing::TestConfig(dir_);
    config_.backend = "redis";
    config_.redis.url_env = "VOXGATE_REDIS_TEST_NO_SUCH_URL";
    config_.redis.url = redis_.url();
    config_.redis.connect_timeout_ms = 300;
    auto key = LoadEncryptionKey(config_.ResolvedEncryption());
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    cipher_ = std::make_shared<const EmbeddingCipher>(key->key);
  }
  std::unique_ptr<RedisStore> Open() {
    auto s = RedisStore::Open(config_, cipher_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  // Every value of every key under the prefix, raw.
  std::string DumpAll(RedisClient& c) {
    std::string all;
    auto keys = c.Command({"KEYS", config_.redis.key_prefix + "*"});
    EXPECT_TRUE(keys.ok());
    for (const auto& k : keys->elements) {
      auto dump = c.Command({"DUMP", k.str});
      if (dump.ok()) all += dump->str;
    }
    return all;
  }

  RedisServer redis_;
  testing::TempDir dir_;
  StoreConfig config_;
  std::shared_ptr<const EmbeddingCipher> cipher_;
};

TEST_F(RedisStoreTest, Contract) {
  auto store = Open();
  ASSERT_TRUE(store);
  testing::CheckStoreContract(*store, "");
  auto stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->backend, "redis");
  EXPECT_EQ(stats->users, 0);
  EXPECT_EQ(stats->samples, 0);
  EXPECT_GT(std::stoll(stats->details.at("used_memory")), 0);
}

TEST_F(RedisStoreTest, StatsCountUsersAndSamples) {
  auto store = Open();
  ASSERT_TRUE(store);
  for (int i = 0; i < 3; ++i) {
    VoiceprintRecord r;
    r.user_id = "u" + std::to_string(i);
    r.samples.push_back({"", MakeEmbedding(i), 1.0, "m", 0, 0});
    r.samples.push_back({"", MakeEmbedding(i + 10), 1.0, "m", 0, 0});
    ASSERT_TRUE(store->CreateVoiceprint(r).ok());
  }
  ASSERT_TRUE(store->SetStatus("u1", UserStatus::kExpired).ok());
  ASSERT_TRUE(store->ReplaceSamples("u2", {{"", MakeEmbedding(7), 1.0, "m", 0, 0}}).ok());
  auto stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->users, 3);
  EXPECT_EQ(stats->samples, 5);
  EXPECT_EQ(stats->users_by_status.at("active"), 2);
  EXPECT_EQ(stats->users_by_status.at("expired"), 1);
  EXPECT_EQ(stats->users_by_status.at("blocked"), 0);
}

TEST_F(RedisStoreTest, NoPlaintextEmbeddingInRedis) {
  auto store = Open();
  ASSERT_TRUE(store);
  const auto emb = MakeEmbedding(42);
  VoiceprintRecord r;
  r.user_id = "secret-user";
  r.samples.push_back({"s", emb, 1.0, "m", 0, 0});
  ASSERT_TRUE(store->CreateVoiceprint(r).ok());
  auto raw = store->client().Command({"HGET", store->RecordKey("secret-user"), "record"});
  ASSERT_TRUE(raw.ok());
  ASSERT_FALSE(raw->is_nil());
  const std::string everything = DumpAll(store->client()) + raw->str;
  for (size_t first = 0; first + 4 <= emb.size(); first += 4) {
    ASSERT_FALSE(testing::ContainsBytes(everything, testing::FloatBytes(emb, first, 4)))
        << "plaintext embedding bytes at " << first;
  }
  // The raw value is what the codec seals: it opens with the key, and fails with another.
  auto opened = RedisStore::OpenRecord(raw->str, *cipher_, true);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->samples[0].embedding, emb);
  auto other = EncryptionKey::Random();
  ASSERT_TRUE(other.ok());
  EmbeddingCipher wrong(*other);
  EXPECT_EQ(RedisStore::OpenRecord(raw->str, wrong, true).status().code(), StatusCode::kDataLoss);
  // A corrupt value is kDataLoss, never a crash.
  for (size_t cut : {size_t{0}, size_t{3}, size_t{10}, raw->str.size() / 2, raw->str.size() - 1}) {
    EXPECT_EQ(RedisStore::OpenRecord(raw->str.substr(0, cut), *cipher_, true).status().code(),
              StatusCode::kDataLoss);
  }
  // Deleting leaves no record key behind.
  ASSERT_TRUE(store->Delete("secret-user").ok());
  auto gone = store->client().Command({"EXISTS", store->RecordKey("secret-user")});
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->integer, 0);
}

TEST_F(RedisStoreTest, WrongKeyIsRefusedAtOpen) {
  ASSERT_TRUE(Open());
  auto other = EncryptionKey::Random();
  ASSERT_TRUE(other.ok());
  auto s = RedisStore::Open(config_, std::make_shared<const EmbeddingCipher>(*other));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kDataLoss);
}

TEST_F(RedisStoreTest, ConcurrentWritersNeverLoseAVersion) {
  auto store = Open();
  ASSERT_TRUE(store);
  VoiceprintRecord r;
  r.user_id = "hot";
  r.samples.push_back({"", MakeEmbedding(1), 1.0, "m", 0, 0});
  ASSERT_TRUE(store->CreateVoiceprint(r).ok());
  constexpr int kThreads = 6;
  constexpr int kAdds = 15;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAdds; ++i) {
        auto v = store->AddSamples("hot", {{"t" + std::to_string(t) + "-" + std::to_string(i),
                                            MakeEmbedding(t * 100 + i), 1.0, "", 0, 0}});
        if (!v.ok()) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto got = store->Get("hot");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version, 1 + kThreads * kAdds);
  EXPECT_EQ(got->samples.size(), static_cast<size_t>(1 + kThreads * kAdds));
  auto stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->samples, 1 + kThreads * kAdds);
}

TEST_F(RedisStoreTest, RedisDownIsUnavailableThenRecovers) {
  auto store = Open();
  ASSERT_TRUE(store);
  VoiceprintRecord r;
  r.user_id = "kept";
  r.samples.push_back({"", MakeEmbedding(1), 1.0, "m", 0, 0});
  ASSERT_TRUE(store->CreateVoiceprint(r).ok());
  redis_.Kill();
  EXPECT_EQ(store->Get("kept").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store->SetStatus("kept", UserStatus::kInactive).status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(store->Ping().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(redis_.Start().ok());
  auto got = store->Get("kept");  // acknowledged before the kill: still there (fsync always)
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->samples[0].embedding, MakeEmbedding(1));
  EXPECT_TRUE(store->SetStatus("kept", UserStatus::kInactive).ok());
}

}  // namespace
}  // namespace voxgate::store
