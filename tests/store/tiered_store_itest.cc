// TieredStore against a real redis-server and a durable tier (SQLite, and PostgreSQL where it is
// installed): the shared contract, read-through caching, two nodes seeing each other's changes,
// a Redis restart under writers and readers, and a durable tier that goes down.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "common/redis_server.h"
#include "postgres_server.h"
#include "store/encryption_key.h"
#include "store/redis_store.h"
#include "store/sqlite_store.h"
#include "store/tiered_store.h"
#include "store_contract.h"
#include "store_test_env.h"
#include "test_util.h"

namespace voxgate::store {
namespace {

using testing::MakeEmbedding;
using voxgate::testing::RedisServer;

template <typename Pred>
bool WaitFor(Pred pred, std::chrono::seconds deadline = std::chrono::seconds(30)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

StoreConfig TieredConfigFor(const testing::TempDir& dir, const RedisServer& redis) {
  StoreConfig c = testing::TestConfig(dir);
  c.backend = "tiered";
  c.tiered.durable = "sqlite";
  c.redis.url_env = "VOXGATE_REDIS_TEST_NO_SUCH_URL";
  c.redis.url = redis.url();
  c.redis.connect_timeout_ms = 300;
  c.redis.command_timeout_ms = 1000;
  return c;
}

VoiceprintRecord Record(const std::string& id, int seed) {
  VoiceprintRecord r;
  r.user_id = id;
  r.name = "name " + id;
  r.model_id = "campplus";
  r.samples.push_back({"", MakeEmbedding(seed), 2.0, "", 0, 0});
  return r;
}

/// A fresh tiered store (SQLite durable tier) on its own redis-server.
class TieredContractBackend {
 public:
  std::unique_ptr<VoiceprintStore> Open(std::string* error) {
    Status started = redis_.Start();
    if (!started.ok()) {
      *error = started.ToString();
      return nullptr;
    }
    auto store = VoiceprintStore::Create(TieredConfigFor(dir_, redis_));
    if (!store.ok()) {
      *error = store.status().ToString();
      return nullptr;
    }
    return std::move(store).value();
  }

 private:
  RedisServer redis_;
  testing::TempDir dir_;
};

}  // namespace

namespace testing {
INSTANTIATE_TYPED_TEST_SUITE_P(Tiered, StoreContractTest, ::testing::Types<TieredContractBackend>);
}  // namespace testing

namespace {

class TieredStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    config_ = TieredConfigFor(dir_, redis_);
    auto key = LoadEncryptionKey(config_.ResolvedEncryption());
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    cipher_ = std::make_shared<const EmbeddingCipher>(key->key);
  }
  // One "node": its own tiered store over the shared Redis and the shared durable database.
  std::unique_ptr<TieredStore> OpenNode() {
    auto s = TieredStore::Open(config_, cipher_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return nullptr;
    EXPECT_TRUE(WaitFor([&] { return (*s)->subscribed(); }));
    return std::move(s).value();
  }
  std::unique_ptr<RedisClient> RawRedis() {
    RedisClientOptions o;
    o.url = redis_.url();
    auto c = RedisClient::Create(o);
    EXPECT_TRUE(c.ok());
    return std::move(c).value();
  }

  RedisServer redis_;
  testing::TempDir dir_;
  StoreConfig config_;
  std::shared_ptr<const EmbeddingCipher> cipher_;
};

TEST_F(TieredStoreTest, ReadThroughFillsEveryTierWithEmbeddingsSealed) {
  auto a = OpenNode();
  auto b = OpenNode();
  ASSERT_TRUE(a && b);
  const auto emb = MakeEmbedding(77);
  VoiceprintRecord r = Record("cached", 77);
  ASSERT_TRUE(a->CreateVoiceprint(r).ok());

  auto first = a->Get("cached");  // memory miss, Redis miss, durable read, fills both
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->samples[0].embedding, emb);
  auto c1 = a->counters();
  EXPECT_EQ(c1.durable_reads, 1);
  EXPECT_EQ(c1.redis_misses, 1);
  auto second = a->Get("cached");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->samples[0].embedding, emb);
  EXPECT_EQ(a->counters().memory_hits, c1.memory_hits + 1);
  EXPECT_EQ(a->counters().durable_reads, 1);

  auto from_b = b->Get("cached");  // another node: served by the Redis cache
  ASSERT_TRUE(from_b.ok());
  EXPECT_EQ(from_b->samples[0].embedding, emb);
  EXPECT_EQ(b->counters().redis_hits, 1);
  EXPECT_EQ(b->counters().durable_reads, 0);

  // Nothing in Redis holds the embedding in the clear.
  auto raw = RawRedis();
  auto keys = raw->Command({"KEYS", config_.redis.key_prefix + "*"});
  ASSERT_TRUE(keys.ok());
  std::string all;
  int cache_entries = 0;
  for (const auto& k : keys->elements) {
    auto type = raw->Command({"TYPE", k.str});
    ASSERT_TRUE(type.ok());
    if (type->str == "hash") {
      auto values = raw->Command({"HGETALL", k.str});
      ASSERT_TRUE(values.ok());
      for (const auto& v : values->elements) all += v.str;
      if (k.str.find(":vp:cached") != std::string::npos) ++cache_entries;
    }
  }
  EXPECT_EQ(cache_entries, 1);
  for (size_t first_value = 0; first_value + 4 <= emb.size(); first_value += 4) {
    ASSERT_FALSE(testing::ContainsBytes(all, testing::FloatBytes(emb, first_value, 4)));
  }

  auto stats = a->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->backend, "tiered");
  EXPECT_TRUE(stats->healthy);
  EXPECT_EQ(stats->users, 1);
  ASSERT_EQ(stats->tiers.size(), 3u);
  EXPECT_EQ(stats->tiers[0].backend, "memory");
  EXPECT_EQ(stats->tiers[1].backend, "redis");
  EXPECT_EQ(stats->tiers[2].backend, "sqlite");
  EXPECT_TRUE(stats->tiers[1].healthy);
  EXPECT_EQ(stats->tiers[0].details.at("hits"), "1");
  EXPECT_EQ(stats->tiers[1].details.at("misses"), "1");
  EXPECT_GT(std::stoll(stats->tiers[1].details.at("used_memory")), 0);
}

TEST_F(TieredStoreTest, ChangesOnOneNodeAreSeenByTheOtherAtOnce) {
  auto a = OpenNode();
  auto b = OpenNode();
  ASSERT_TRUE(a && b);
  std::mutex mu;
  std::vector<std::string> heard_by_b;
  std::vector<std::string> heard_by_a;
  b->SetChangeListener([&](const std::string& id) {
    std::lock_guard lock(mu);
    heard_by_b.push_back(id);
  });
  a->SetChangeListener([&](const std::string& id) {
    std::lock_guard lock(mu);
    heard_by_a.push_back(id);
  });
  auto heard = [&](const std::string& id) {
    std::lock_guard lock(mu);
    return std::count(heard_by_b.begin(), heard_by_b.end(), id);
  };

  ASSERT_TRUE(a->CreateVoiceprint(Record("u1", 1)).ok());
  ASSERT_TRUE(WaitFor([&] { return heard("u1") >= 1; })) << "B's listener never heard of u1";
  // B caches u1 in memory and in Redis.
  ASSERT_TRUE(b->Get("u1").ok());
  ASSERT_TRUE(b->Get("u1").ok());
  EXPECT_GE(b->counters().memory_hits, 1);

  ASSERT_TRUE(a->SetStatus("u1", UserStatus::kBlocked).ok());
  EXPECT_TRUE(WaitFor([&] {
    auto r = b->Get("u1");
    return r.ok() && r->status == UserStatus::kBlocked;
  })) << "B kept serving the old status";
  EXPECT_TRUE(WaitFor([&] { return heard("u1") >= 2; }));

  ASSERT_TRUE(b->UpdateProfile("u1", {.name = "renamed", .metadata = std::nullopt}).ok());
  EXPECT_TRUE(WaitFor([&] {
    auto r = a->Get("u1");
    return r.ok() && r->name == "renamed";
  }));

  ASSERT_TRUE(a->Delete("u1").ok());
  EXPECT_TRUE(WaitFor([&] { return b->Get("u1").status().code() == StatusCode::kNotFound; }))
      << "B kept serving a deleted user";
  EXPECT_TRUE(WaitFor([&] { return heard("u1") >= 3; }));
  EXPECT_GE(b->counters().invalidations_received, 3);
  {
    // A hears about B's change only, never about its own.
    std::lock_guard lock(mu);
    EXPECT_EQ(std::count(heard_by_a.begin(), heard_by_a.end(), "u1"), 1);
  }
  a->SetChangeListener(nullptr);
  b->SetChangeListener(nullptr);
}

TEST_F(TieredStoreTest, RedisRestartUnderLoadLosesNoAcknowledgedWrite) {
  auto a = OpenNode();  // writes
  auto b = OpenNode();  // reads
  ASSERT_TRUE(a && b);
  std::mutex acked_mu;
  std::vector<std::string> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> write_failures{0};
  std::atomic<int> read_failures{0};
  std::atomic<int> reads{0};
  std::string first_read_error;

  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string id = "w" + std::to_string(t) + "-" + std::to_string(i);
        auto created = a->CreateVoiceprint(Record(id, t * 1000 + i));
        if (!created.ok()) {
          write_failures++;
          continue;
        }
        if (i % 3 == 0 && !a->SetStatus(id, UserStatus::kInactive).ok()) write_failures++;
        std::lock_guard lock(acked_mu);
        acked.push_back(id);
      }
    });
  }
  threads.emplace_back([&] {
    std::mt19937 rng(7);
    while (!stop.load()) {
      std::string id;
      {
        std::lock_guard lock(acked_mu);
        if (acked.empty()) continue;
        id = acked[rng() % acked.size()];
      }
      auto r = b->Get(id);
      reads++;
      if (!r.ok()) {
        if (read_failures++ == 0) first_read_error = id + ": " + r.status().ToString();
      }
    }
  });
  auto acked_count = [&] {
    std::lock_guard lock(acked_mu);
    return acked.size();
  };

  ASSERT_TRUE(WaitFor([&] { return acked_count() >= 20; }));
  redis_.Kill();
  const size_t at_kill = acked_count();
  // Writes go on (durable tier) and reads are served degraded while Redis is away.
  EXPECT_TRUE(WaitFor([&] { return acked_count() >= at_kill + 20; }));
  EXPECT_TRUE(WaitFor([&] { return b->counters().degraded_reads > 0; }));
  ASSERT_TRUE(redis_.Start().ok());
  EXPECT_TRUE(WaitFor([&] { return a->subscribed() && b->subscribed(); }));
  const size_t at_restart = acked_count();
  EXPECT_TRUE(WaitFor([&] { return acked_count() >= at_restart + 20; }));
  stop = true;
  for (auto& th : threads) th.join();

  EXPECT_EQ(write_failures.load(), 0);
  EXPECT_EQ(read_failures.load(), 0) << first_read_error;
  EXPECT_GT(reads.load(), 0);

  // Every acknowledged write is in the durable tier, read back by a store of its own.
  auto durable = SqliteStore::Open(config_, cipher_);
  ASSERT_TRUE(durable.ok()) << durable.status().ToString();
  std::vector<std::string> ids;
  {
    std::lock_guard lock(acked_mu);
    ids = acked;
  }
  for (const std::string& id : ids) {
    auto r = (*durable)->Get(id);
    ASSERT_TRUE(r.ok()) << id << ": " << r.status().ToString();
    EXPECT_EQ(r->user_id, id);
  }

  // The caches work again: B's Redis hits rise once A has refilled the (new-epoch) cache.
  const int64_t hits_before = b->counters().redis_hits;
  size_t k = 0;
  EXPECT_TRUE(WaitFor([&] {
    const std::string& id = ids[k++ % ids.size()];
    (void)a->Get(id);
    (void)b->Get(id);
    return b->counters().redis_hits > hits_before;
  }));
  const int64_t mem_before = b->counters().memory_hits;
  ASSERT_TRUE(b->Get(ids[0]).ok());
  ASSERT_TRUE(b->Get(ids[0]).ok());
  EXPECT_GT(b->counters().memory_hits, mem_before);
  auto stats = b->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GT(std::stoll(stats->tiers[1].details.at("degraded_reads")), 0);
}

TEST_F(TieredStoreTest, ReadsAreServedWhileRedisIsDown) {
  auto a = OpenNode();
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->CreateVoiceprint(Record("r1", 1)).ok());
  redis_.Stop();
  EXPECT_TRUE(WaitFor([&] { return !a->subscribed(); }));
  auto r = a->Get("r1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->samples[0].embedding, MakeEmbedding(1));
  ASSERT_TRUE(a->SetStatus("r1", UserStatus::kExpired).ok());
  auto r2 = a->Get("r1");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->status, UserStatus::kExpired);
  EXPECT_TRUE(a->Ping().ok());  // ready: the durable tier answers
  auto stats = a->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_FALSE(stats->tiers[1].healthy);
  EXPECT_EQ(stats->details.at("degraded"), "yes");
  EXPECT_GT(a->counters().degraded_reads, 0);

  // Back: the status written while Redis was away is what every reader sees (a new cache epoch
  // hides whatever Redis kept from before).
  ASSERT_TRUE(redis_.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return a->subscribed(); }));
  auto b = OpenNode();
  ASSERT_TRUE(b);
  EXPECT_TRUE(WaitFor([&] {
    auto got = b->Get("r1");
    return got.ok() && got->status == UserStatus::kExpired;
  }));
}

TEST_F(TieredStoreTest, DurableTierDownFailsWritesAndWritesNothingElse) {
  VOXGATE_REQUIRE_PEER(testing::PostgresServer::Available(), "PostgreSQL");
  testing::PostgresServer pg;
  ASSERT_TRUE(pg.ok()) << pg.error();
  config_.tiered.durable = "postgres";
  config_.postgres.url_env = "VOXGATE_PG_TEST_NO_SUCH_URL";
  config_.postgres.url = pg.url();
  config_.postgres.connect_timeout_s = 2;
  auto a = OpenNode();
  auto b = OpenNode();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->CreateVoiceprint(Record("p1", 1)).ok());
  ASSERT_TRUE(b->Get("p1").ok());
  ASSERT_TRUE(pg.Kill());

  auto created = a->CreateVoiceprint(Record("p2", 2));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), StatusCode::kUnavailable) << created.status().ToString();
  auto status = a->SetStatus("p1", UserStatus::kBlocked);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().code(), StatusCode::kUnavailable);
  // No cache holds the refused record.
  auto raw = RawRedis();
  auto keys = raw->Command({"KEYS", config_.redis.key_prefix + "*vp:p2"});
  ASSERT_TRUE(keys.ok());
  for (const auto& k : keys->elements) {
    auto rec = raw->Command({"HGET", k.str, "rec"});
    ASSERT_TRUE(rec.ok());
    EXPECT_TRUE(rec->is_nil()) << k.str;
  }
  EXPECT_FALSE(a->Get("p2").ok());

  ASSERT_TRUE(pg.Start());
  EXPECT_TRUE(WaitFor([&] { return b->Get("p2").status().code() == StatusCode::kNotFound; }));
  EXPECT_TRUE(WaitFor([&] {
    auto r = b->Get("p1");
    return r.ok() && r->status == UserStatus::kActive;  // the refused change never happened
  }));
  ASSERT_TRUE(a->SetStatus("p1", UserStatus::kBlocked).ok());
  EXPECT_TRUE(WaitFor([&] {
    auto r = b->Get("p1");
    return r.ok() && r->status == UserStatus::kBlocked;
  }));
}

}  // namespace
}  // namespace voxgate::store
