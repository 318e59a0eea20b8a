// Many threads on overlapping users: the store stays consistent and loses no update.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "store/voiceprint_store.h"
#include "store_test_env.h"

// Designated initializers leave the other fields at their defaults on purpose; GCC's -Wextra
// still warns about the fields not named.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace voxgate::store {
namespace {

using testing::MakeEmbedding;
using testing::RawDb;
using testing::TempDir;
using testing::TestConfig;

constexpr int kThreads = 8;
constexpr int kUsers = 6;
constexpr size_t kDim = 32;

std::string UserId(int u) { return "user-" + std::to_string(u); }

VoiceprintSample Sample(const std::string& id, int seed) {
  VoiceprintSample s;
  s.sample_id = id;
  s.embedding = MakeEmbedding(seed, kDim);
  s.speech_s = 1.0;
  return s;
}

// Every sample id ever acknowledged, per user (several incarnations of a user included).
struct Ledger {
  std::mutex mu;
  std::map<std::string, std::set<std::string>> acked;
  void Add(const std::string& user, const std::string& sample) {
    std::lock_guard lock(mu);
    acked[user].insert(sample);
  }
};

// Checks a record read at one instant: versions count changes, samples are intact and known.
void CheckRecord(const VoiceprintRecord& r, Ledger& ledger) {
  // Only CreateVoiceprint (1 sample, version 1) and AddSamples (+1 sample, +1 version) write.
  EXPECT_EQ(r.samples.size(), static_cast<size_t>(r.version)) << r.user_id;
  std::set<std::string> ids;
  for (const auto& s : r.samples) {
    EXPECT_TRUE(ids.insert(s.sample_id).second) << "duplicate sample " << s.sample_id;
    EXPECT_EQ(s.embedding.size(), kDim);
  }
  std::lock_guard lock(ledger.mu);
  for (const auto& id : ids) {
    // A sample may be committed just before its call returns, so it can be read before it is
    // acked; its id still names the user it was written for.
    EXPECT_EQ(id.rfind(r.user_id + "/", 0), 0u) << id << " in " << r.user_id;
  }
}

TEST(SqliteStoreConcurrencyTest, OverlappingWritersAndReadersStayConsistent) {
  TempDir dir;
  StoreConfig config = TestConfig(dir);
  config.sqlite.read_connections = 3;  // fewer than threads: readers queue for the pool
  auto opened = VoiceprintStore::Create(config);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  VoiceprintStore& store = **opened;

  Ledger ledger;
  std::atomic<int> creates_ok{0}, deletes_ok{0}, adds_ok{0}, gets_ok{0}, unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);
      for (int i = 0; i < 150; ++i) {
        const std::string user = UserId(static_cast<int>(rng() % kUsers));
        const std::string sid = user + "/" + std::to_string(t) + "-" + std::to_string(i);
        int op = static_cast<int>(rng() % 100);
        if (op < 20) {
          VoiceprintRecord r;
          r.user_id = user;
          r.name = user;
          r.model_id = "m";
          r.samples.push_back(Sample(sid, t * 1000 + i));
          auto c = store.CreateVoiceprint(r);
          if (c.ok()) {
            ++creates_ok;
            ledger.Add(user, sid);
          } else if (c.status().code() != StatusCode::kAlreadyExists) {
            ++unexpected;
            ADD_FAILURE() << c.status().ToString();
          }
        } else if (op < 50) {
          auto a = store.AddSamples(user, {Sample(sid, t * 1000 + i)});
          if (a.ok()) {
            ++adds_ok;
            ledger.Add(user, sid);
          } else if (a.status().code() != StatusCode::kNotFound) {
            ++unexpected;
            ADD_FAILURE() << a.status().ToString();
          }
        } else if (op < 60) {
          Status d = store.Delete(user);
          if (d.ok()) {
            ++deletes_ok;
          } else if (d.code() != StatusCode::kNotFound) {
            ++unexpected;
            ADD_FAILURE() << d.ToString();
          }
        } else if (op < 90) {
          auto g = store.Get(user);
          if (g.ok()) {
            ++gets_ok;
            CheckRecord(*g, ledger);
          } else if (g.status().code() != StatusCode::kNotFound) {
            ++unexpected;
            ADD_FAILURE() << g.status().ToString();
          }
        } else if (op < 95) {
          auto page = store.List({.limit = 10, .include_embeddings = true});
          if (!page.ok()) {
            ++unexpected;
            ADD_FAILURE() << page.status().ToString();
          } else {
            for (const auto& r : page->records) CheckRecord(r, ledger);
          }
        } else {
          auto active = store.LoadActive();
          if (!active.ok()) {
            ++unexpected;
            ADD_FAILURE() << active.status().ToString();
          } else {
            for (const auto& r : *active) CheckRecord(r, ledger);
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_GT(creates_ok.load(), 0);
  EXPECT_GT(adds_ok.load(), 0);
  EXPECT_GT(deletes_ok.load(), 0);
  EXPECT_GT(gets_ok.load(), 0);

  // Phase 1 end state: every surviving sample was acknowledged for its user.
  std::map<std::string, size_t> before;
  for (int u = 0; u < kUsers; ++u) {
    auto r = store.Get(UserId(u));
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
      continue;
    }
    CheckRecord(*r, ledger);
    for (const auto& s : r->samples) {
      EXPECT_TRUE(ledger.acked[r->user_id].count(s.sample_id)) << "unacknowledged " << s.sample_id;
    }
    before[r->user_id] = r->samples.size();
  }

  // Phase 2: no deletes, so every acknowledged add must be there, exactly once.
  for (int u = 0; u < kUsers; ++u) {
    if (before.count(UserId(u))) continue;
    VoiceprintRecord r;
    r.user_id = UserId(u);
    r.samples.push_back(Sample(r.user_id + "/phase2-create", u));
    ASSERT_TRUE(store.CreateVoiceprint(r).ok());
    before[r.user_id] = 1;
  }
  std::map<std::string, std::atomic<int>> added;
  for (int u = 0; u < kUsers; ++u) added[UserId(u)] = 0;
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        const std::string user = UserId((t + i) % kUsers);
        auto a = store.AddSamples(
            user, {Sample(user + "/p2-" + std::to_string(t) + "-" + std::to_string(i), i)});
        if (a.ok()) {
          ++added[user];
        } else {
          ADD_FAILURE() << a.status().ToString();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int u = 0; u < kUsers; ++u) {
    auto r = store.Get(UserId(u));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->samples.size(), before[UserId(u)] + added[UserId(u)].load()) << UserId(u);
    EXPECT_EQ(r->version, static_cast<int64_t>(r->samples.size()));
  }
  auto stats = store.Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->users, kUsers);

  RawDb raw(config.DbPath());
  EXPECT_EQ(raw.Column("PRAGMA integrity_check").at(0), "ok");
  EXPECT_TRUE(raw.Column("PRAGMA foreign_key_check").empty());
  EXPECT_EQ(raw.Column("SELECT count(*) FROM samples WHERE user_id NOT IN "
                       "(SELECT user_id FROM voiceprints)")
                .at(0),
            "0")
      << "no orphaned samples";
}

}  // namespace
}  // namespace voxgate::store
