// The VoiceprintStore contract (voiceprint_store.h) as a typed GoogleTest suite that every backend
// instantiates, so all of them are held to the same behaviour: lifecycle and version bumps,
// refusal of bad records with nothing changed, user ids stored byte-exact, list paging and
// filters, LoadActive, the audit log (newest first, filters, cursor), stats and ping, and
// concurrent version bumps.
//
// To run it against a backend, define a Backend type: default-constructible (it owns whatever
// the store needs, e.g. a temp dir or a database), with
//   std::unique_ptr<VoiceprintStore> Open(std::string* error);
// returning a fresh, EMPTY store (nullptr and *error on failure), and in one test .cc:
//   INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, StoreContractTest, ::testing::Types<MyBackend>);
// See store_contract_test.cc (SQLite) and postgres_store_itest.cc (PostgreSQL). A header meant
// for inclusion from several test files of one binary: everything here is a template or inline.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/voiceprint_store.h"
#include "store_test_env.h"

// Designated initializers leave the other fields at their defaults on purpose; GCC's -Wextra
// still warns about the fields not named.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace voxgate::store::testing {

inline VoiceprintSample ContractSample(int seed, size_t dim = 192, std::string model = "") {
  VoiceprintSample s;
  s.embedding = MakeEmbedding(seed, dim);
  s.speech_s = 2.5 + seed;
  s.narrowband = seed % 2 == 1;
  s.model_id = std::move(model);
  return s;
}

inline VoiceprintRecord ContractRecord(std::string user_id, int samples = 2, int seed = 0) {
  VoiceprintRecord r;
  r.user_id = std::move(user_id);
  r.name = "Name of " + r.user_id;
  r.metadata = R"({"dept":"support"})";
  r.model_id = "campplus-v1";
  for (int i = 0; i < samples; ++i) r.samples.push_back(ContractSample(seed * 10 + i));
  return r;
}

inline AuditEvent ContractAudit(AuditAction action, std::string user_id, std::string detail = "") {
  AuditEvent e;
  e.action = action;
  e.user_id = std::move(user_id);
  e.actor = "key-1";
  e.request_id = "req-" + e.user_id;
  e.detail = std::move(detail);
  return e;
}

template <typename Backend>
class StoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    store_ = backend_.Open(&error);
    ASSERT_NE(store_, nullptr) << "opening a fresh store: " << error;
  }

  VoiceprintStore& store() { return *store_; }
  int64_t Users() {
    auto stats = store_->Stats();
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    return stats.ok() ? stats->users : -1;
  }

  Backend backend_;
  std::unique_ptr<VoiceprintStore> store_;
};

TYPED_TEST_SUITE_P(StoreContractTest);

TYPED_TEST_P(StoreContractTest, LifecycleBumpsTheVersionOncePerChange) {
  VoiceprintStore& store = this->store();
  auto created = store.CreateVoiceprint(ContractRecord("alice"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->version, 1);
  EXPECT_GT(created->created_at_ms, 1'600'000'000'000);
  ASSERT_EQ(created->samples.size(), 2u);
  EXPECT_FALSE(created->samples[0].sample_id.empty()) << "the store fills sample ids";
  EXPECT_NE(created->samples[0].sample_id, created->samples[1].sample_id);
  EXPECT_EQ(created->samples[0].model_id, "campplus-v1");

  auto got = store.Get("alice");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->name, "Name of alice");
  EXPECT_EQ(got->metadata, R"({"dept":"support"})");
  EXPECT_EQ(got->status, UserStatus::kActive);
  EXPECT_EQ(got->version, 1);
  EXPECT_EQ(got->created_at_ms, created->created_at_ms);
  ASSERT_EQ(got->samples.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(got->samples[i].sample_id, created->samples[i].sample_id);
    EXPECT_EQ(got->samples[i].embedding, MakeEmbedding(static_cast<int>(i)));
    EXPECT_EQ(got->samples[i].dim, 192u);
    EXPECT_DOUBLE_EQ(got->samples[i].speech_s, 2.5 + static_cast<double>(i));
    EXPECT_EQ(got->samples[i].narrowband, i == 1) << "the sample's channel is kept";
  }

  auto v = store.AddSamples("alice", {ContractSample(7)});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 2);
  v = store.SetStatus("alice", UserStatus::kInactive);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 3);
  v = store.SetStatus("alice", UserStatus::kInactive);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 3) << "no change, no bump";
  v = store.UpdateProfile("alice", {.name = std::string("Alice A."), .metadata = std::nullopt});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 4);
  v = store.UpdateProfile("alice", {.name = std::string("Alice A."), .metadata = std::nullopt});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 4) << "no change, no bump";
  v = store.UpdateProfile("alice", {.name = std::nullopt, .metadata = std::string(R"({"a":1})")});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 5);
  v = store.ReplaceSamples("alice", {ContractSample(20, 256, "eres2net-v2")});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 6);

  got = store.Get("alice");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version, 6);
  EXPECT_EQ(got->name, "Alice A.");
  EXPECT_EQ(got->metadata, R"({"a":1})");
  EXPECT_EQ(got->status, UserStatus::kInactive);
  EXPECT_EQ(got->model_id, "eres2net-v2");
  ASSERT_EQ(got->samples.size(), 1u);
  EXPECT_EQ(got->samples[0].embedding, MakeEmbedding(20, 256));
  EXPECT_GE(got->updated_at_ms, got->created_at_ms);

  ASSERT_TRUE(store.Delete("alice").ok());
  EXPECT_EQ(store.Get("alice").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.Delete("alice").code(), StatusCode::kNotFound);
  EXPECT_EQ(store.SetStatus("alice", UserStatus::kActive).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.AddSamples("alice", {ContractSample(1)}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->Users(), 0);
  // The id is free again after a delete.
  auto again = store.CreateVoiceprint(ContractRecord("alice", 1, 3));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->version, 1);
}

TYPED_TEST_P(StoreContractTest, RefusesBadInputAndChangesNothing) {
  VoiceprintStore& store = this->store();
  ASSERT_TRUE(store.CreateVoiceprint(ContractRecord("bob")).ok());

  auto dup = store.CreateVoiceprint(ContractRecord("bob", 1, 5));
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);

  auto refused = [&](VoiceprintRecord r) { return store.CreateVoiceprint(std::move(r)).status(); };
  EXPECT_EQ(refused(ContractRecord("")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused(ContractRecord(std::string("nul\0id", 6))).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(refused(ContractRecord("bad\xff\xfeutf8")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused(ContractRecord(std::string(kMaxUserIdBytes + 1, 'x'))).code(),
            StatusCode::kInvalidArgument);
  {
    VoiceprintRecord r = ContractRecord("carol");
    r.metadata = "[1,2]";
    EXPECT_EQ(refused(r).code(), StatusCode::kInvalidArgument) << "metadata must be an object";
    r.metadata = "{not json";
    EXPECT_EQ(refused(r).code(), StatusCode::kInvalidArgument);
  }
  {
    VoiceprintRecord r = ContractRecord("carol");
    r.samples[1].embedding[3] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_EQ(refused(r).code(), StatusCode::kInvalidArgument) << "NaN in an embedding";
  }
  {
    VoiceprintRecord r = ContractRecord("carol");
    r.samples[1] = ContractSample(9, 128);
    EXPECT_EQ(refused(r).code(), StatusCode::kInvalidArgument) << "mixed dimensions";
  }
  {
    VoiceprintRecord r = ContractRecord("carol");
    r.samples[0].sample_id = "same";
    r.samples[1].sample_id = "same";
    const StatusCode code = refused(r).code();
    EXPECT_TRUE(code == StatusCode::kInvalidArgument || code == StatusCode::kAlreadyExists)
        << StatusCodeName(code);
  }
  EXPECT_EQ(store.AddSamples("bob", {ContractSample(1, 128)}).status().code(),
            StatusCode::kInvalidArgument)
      << "dimension differs from the user's";
  EXPECT_EQ(store.AddSamples("bob", {ContractSample(1, 192, "other-model")}).status().code(),
            StatusCode::kInvalidArgument)
      << "model differs from the user's";
  EXPECT_EQ(store.AddSamples("bob", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.ReplaceSamples("bob", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.UpdateProfile("bob", {.name = std::nullopt, .metadata = std::string("nope")})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store.Get("").status().code(), StatusCode::kInvalidArgument);
  {
    auto sample_taken = store.Get("bob");
    ASSERT_TRUE(sample_taken.ok());
    VoiceprintSample s = ContractSample(4);
    s.sample_id = sample_taken->samples[0].sample_id;
    EXPECT_EQ(store.AddSamples("bob", {s}).status().code(), StatusCode::kAlreadyExists)
        << "sample id taken";
  }

  // Nothing of the refused writes is visible.
  EXPECT_EQ(this->Users(), 1);
  auto bob = store.Get("bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->version, 1);
  EXPECT_EQ(bob->samples.size(), 2u);
  EXPECT_EQ(bob->name, "Name of bob");
  EXPECT_EQ(store.Get("carol").status().code(), StatusCode::kNotFound);
}

TYPED_TEST_P(StoreContractTest, UserIdsAreStoredByteExact) {
  VoiceprintStore& store = this->store();
  const std::vector<std::string> ids = {
      "O'Brien \"the voice\"",
      "'; DROP TABLE voiceprints; --",
      "Zo\xc3\xab \xe5\xbc\xa0\xe4\xbc\x9f \xf0\x9f\x8e\x99",  // Zoë 张伟 🎙
      "back\\slash%_percent",
      "trailing ",
      "trailing",
      "CaSe",
      "case",
      "tab\tnew\nline",
  };
  for (size_t i = 0; i < ids.size(); ++i) {
    VoiceprintRecord r = ContractRecord(ids[i], 1, static_cast<int>(i));
    r.name = ids[i] + " name";
    r.metadata = R"({"quote":"it's \"x\"","u":"\u00e9"})";
    auto created = store.CreateVoiceprint(r);
    ASSERT_TRUE(created.ok()) << ids[i] << ": " << created.status().ToString();
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    auto got = store.Get(ids[i]);
    ASSERT_TRUE(got.ok()) << ids[i] << ": " << got.status().ToString();
    EXPECT_EQ(got->user_id, ids[i]);
    EXPECT_EQ(got->name, ids[i] + " name");
    EXPECT_EQ(got->metadata, R"({"quote":"it's \"x\"","u":"\u00e9"})");
    ASSERT_EQ(got->samples.size(), 1u);
    EXPECT_EQ(got->samples[0].embedding, MakeEmbedding(static_cast<int>(i) * 10));
  }
  EXPECT_EQ(store.Get("Trailing").status().code(), StatusCode::kNotFound);
  auto page = store.List({.limit = 100});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->total, static_cast<int64_t>(ids.size()));
  std::vector<std::string> listed;
  for (const auto& r : page->records) listed.push_back(r.user_id);
  std::vector<std::string> want = ids;
  std::sort(listed.begin(), listed.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(listed, want);
  ASSERT_TRUE(store.Delete("trailing ").ok());
  EXPECT_TRUE(store.Get("trailing").ok()) << "deleting \"trailing \" must not touch \"trailing\"";
}

TYPED_TEST_P(StoreContractTest, ListPagesOldestFirstWithFilters) {
  VoiceprintStore& store = this->store();
  const UserStatus statuses[] = {UserStatus::kActive, UserStatus::kBlocked, UserStatus::kActive,
                                 UserStatus::kExpired, UserStatus::kActive};
  for (int i = 0; i < 5; ++i) {
    VoiceprintRecord r = ContractRecord("u" + std::to_string(i), 1 + i % 2, i);
    r.status = statuses[i];
    ASSERT_TRUE(store.CreateVoiceprint(r).ok());
    // Distinct creation times, so "oldest first" is checked rather than the user-id tie-break.
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
  std::vector<std::string> seen;
  for (int64_t offset = 0; offset < 6; offset += 2) {
    auto page = store.List({.limit = 2, .offset = offset});
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_EQ(page->total, 5);
    EXPECT_EQ(page->records.size(), offset < 4 ? 2u : 1u);
    for (const auto& r : page->records) {
      seen.push_back(r.user_id);
      EXPECT_FALSE(r.samples.empty());
      for (size_t k = 0; k < r.samples.size(); ++k) {
        EXPECT_TRUE(r.samples[k].embedding.empty()) << "no embeddings unless asked";
        EXPECT_EQ(r.samples[k].dim, 192u);
        EXPECT_EQ(r.samples[k].narrowband, k == 1) << r.user_id;
      }
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"u0", "u1", "u2", "u3", "u4"}));

  auto active = store.List({.status = UserStatus::kActive, .limit = 10});
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active->total, 3);
  ASSERT_EQ(active->records.size(), 3u);
  EXPECT_EQ(active->records[1].user_id, "u2");
  auto blocked = store.List({.status = UserStatus::kBlocked, .limit = 10});
  ASSERT_TRUE(blocked.ok());
  ASSERT_EQ(blocked->records.size(), 1u);
  EXPECT_EQ(blocked->records[0].user_id, "u1");
  EXPECT_EQ(blocked->records[0].samples.size(), 2u);

  auto with = store.List({.limit = 1, .offset = 1, .include_embeddings = true});
  ASSERT_TRUE(with.ok());
  ASSERT_EQ(with->records.size(), 1u);
  ASSERT_EQ(with->records[0].samples.size(), 2u);
  EXPECT_EQ(with->records[0].samples[1].embedding, MakeEmbedding(11));

  auto past_end = store.List({.limit = 10, .offset = 50});
  ASSERT_TRUE(past_end.ok());
  EXPECT_TRUE(past_end->records.empty());
  EXPECT_EQ(past_end->total, 5);
  EXPECT_EQ(store.List({.limit = 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.List({.limit = kMaxListLimit + 1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.List({.offset = -1}).status().code(), StatusCode::kInvalidArgument);
}

TYPED_TEST_P(StoreContractTest, LoadActiveReturnsActiveUsersWithEmbeddings) {
  VoiceprintStore& store = this->store();
  ASSERT_TRUE(store.CreateVoiceprint(ContractRecord("a1", 2, 1)).ok());
  ASSERT_TRUE(store.CreateVoiceprint(ContractRecord("a2", 0)).ok());
  ASSERT_TRUE(store.CreateVoiceprint(ContractRecord("off", 1, 2)).ok());
  ASSERT_TRUE(store.CreateVoiceprint(ContractRecord("a3", 3, 3)).ok());
  ASSERT_TRUE(store.SetStatus("off", UserStatus::kBlocked).ok());
  auto active = store.LoadActive();
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  ASSERT_EQ(active->size(), 3u);
  std::vector<std::string> ids;
  for (const auto& r : *active) ids.push_back(r.user_id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"a1", "a2", "a3"}));
  for (const auto& r : *active) {
    EXPECT_EQ(r.status, UserStatus::kActive);
    if (r.user_id == "a2") {
      EXPECT_TRUE(r.samples.empty());
    }
    if (r.user_id == "a3") {
      ASSERT_EQ(r.samples.size(), 3u);
      EXPECT_EQ(r.samples[2].embedding, MakeEmbedding(32));
      EXPECT_FALSE(r.samples[0].narrowband);
      EXPECT_TRUE(r.samples[1].narrowband);
    }
  }
  ASSERT_TRUE(store.SetStatus("off", UserStatus::kActive).ok());
  active = store.LoadActive();
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active->size(), 4u);
}

TYPED_TEST_P(StoreContractTest, AuditLogIsNewestFirstWithFiltersAndCursor) {
  VoiceprintStore& store = this->store();
  std::vector<int64_t> ids;
  for (int i = 0; i < 6; ++i) {
    const AuditAction action = i % 2 == 0 ? AuditAction::kVerify : AuditAction::kRegister;
    auto id = store.AppendAudit(
        ContractAudit(action, i < 4 ? "dave" : "erin", i == 0 ? "" : R"({"score":0.71})"));
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    if (!ids.empty()) {
      EXPECT_GT(*id, ids.back()) << "ids increase";
    }
    ids.push_back(*id);
  }
  EXPECT_EQ(store.AppendAudit(ContractAudit(AuditAction::kVerify, "dave", "[1]")).status().code(),
            StatusCode::kInvalidArgument);

  auto all = store.ReadAudit({});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->total, 6);
  ASSERT_EQ(all->events.size(), 6u);
  EXPECT_EQ(all->events.front().id, ids.back()) << "newest first";
  EXPECT_EQ(all->events.back().id, ids.front());
  EXPECT_EQ(all->events.back().detail, "{}") << "an empty detail is stored as {}";
  EXPECT_GT(all->events.back().ts_ms, 1'600'000'000'000) << "ts set by the store";
  EXPECT_EQ(all->events.back().actor, "key-1");
  EXPECT_EQ(all->events.back().request_id, "req-dave");
  EXPECT_EQ(all->events.front().detail, R"({"score":0.71})");

  auto dave = store.ReadAudit({.user_id = std::string("dave")});
  ASSERT_TRUE(dave.ok());
  EXPECT_EQ(dave->total, 4);
  auto verify = store.ReadAudit({.action = AuditAction::kVerify});
  ASSERT_TRUE(verify.ok());
  EXPECT_EQ(verify->total, 3);
  for (const auto& e : verify->events) EXPECT_EQ(e.action, AuditAction::kVerify);
  auto erin_register =
      store.ReadAudit({.user_id = std::string("erin"), .action = AuditAction::kRegister});
  ASSERT_TRUE(erin_register.ok());
  ASSERT_EQ(erin_register->events.size(), 1u);
  EXPECT_EQ(erin_register->events[0].id, ids[5]);

  // Cursor paging: pages of 4 then 2, stable under a new event arriving in between.
  auto first = store.ReadAudit({.limit = 4});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->events.size(), 4u);
  ASSERT_TRUE(store.AppendAudit(ContractAudit(AuditAction::kDelete, "dave")).ok());
  auto second = store.ReadAudit({.limit = 4, .before_id = first->events.back().id});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->total, 2);
  ASSERT_EQ(second->events.size(), 2u);
  EXPECT_EQ(second->events[0].id, ids[1]);
  auto offset = store.ReadAudit({.limit = 2, .offset = 5});
  ASSERT_TRUE(offset.ok());
  ASSERT_EQ(offset->events.size(), 2u);
  EXPECT_EQ(offset->events[1].id, ids[0]);
  EXPECT_EQ(store.ReadAudit({.limit = 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.ReadAudit({.before_id = -1}).status().code(), StatusCode::kInvalidArgument);
}

TYPED_TEST_P(StoreContractTest, AuditOutlivesTheUser) {
  VoiceprintStore& store = this->store();
  ASSERT_TRUE(store.CreateVoiceprint(ContractRecord("frank")).ok());
  ASSERT_TRUE(store.AppendAudit(ContractAudit(AuditAction::kRegister, "frank")).ok());
  ASSERT_TRUE(store.Delete("frank").ok());
  ASSERT_TRUE(store.AppendAudit(ContractAudit(AuditAction::kDelete, "frank")).ok());
  auto page = store.ReadAudit({.user_id = std::string("frank")});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_EQ(page->events[0].action, AuditAction::kDelete);
  EXPECT_EQ(page->events[1].action, AuditAction::kRegister);
}

TYPED_TEST_P(StoreContractTest, StatsCountWhatIsStoredAndPingAnswers) {
  VoiceprintStore& store = this->store();
  ASSERT_TRUE(store.Ping().ok());
  auto empty = store.Stats();
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->healthy);
  EXPECT_FALSE(empty->backend.empty());
  EXPECT_EQ(empty->users, 0);
  EXPECT_EQ(empty->users_by_status.size(), std::size(kAllUserStatuses)) << "zeros included";
  EXPECT_EQ(empty->encryption, "aes-256-gcm");
  EXPECT_FALSE(empty->key_fingerprint.empty());

  ASSERT_TRUE(store.CreateVoiceprint(ContractRecord("g1", 2, 1)).ok());
  ASSERT_TRUE(store.CreateVoiceprint(ContractRecord("g2", 3, 2)).ok());
  ASSERT_TRUE(store.CreateVoiceprint(ContractRecord("g3", 1, 3)).ok());
  ASSERT_TRUE(store.SetStatus("g3", UserStatus::kExpired).ok());
  ASSERT_TRUE(store.AppendAudit(ContractAudit(AuditAction::kVerify, "g1")).ok());
  auto stats = store.Stats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->users, 3);
  EXPECT_EQ(stats->users_by_status.at("active"), 2);
  EXPECT_EQ(stats->users_by_status.at("expired"), 1);
  EXPECT_EQ(stats->users_by_status.at("blocked"), 0);
  EXPECT_EQ(stats->samples, 6);
  EXPECT_EQ(stats->audit_events, 1);
  EXPECT_GE(stats->schema_version, 1);
  EXPECT_GT(stats->bytes_on_disk, 0);
  EXPECT_EQ(stats->key_fingerprint, empty->key_fingerprint);
}

TYPED_TEST_P(StoreContractTest, ConcurrentWritersNeverLoseAVersionBump) {
  VoiceprintStore& store = this->store();
  ASSERT_TRUE(store.CreateVoiceprint(ContractRecord("shared", 1)).ok());
  constexpr int kThreads = 4;
  constexpr int kChanges = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, &failures, t] {
      for (int i = 0; i < kChanges; ++i) {
        // Distinct names: every call is a real change.
        const std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!store.UpdateProfile("shared", {.name = name, .metadata = std::nullopt}).ok()) {
          failures.fetch_add(1);
        }
        VoiceprintRecord own = ContractRecord("own-" + name, 1, i);
        if (!store.CreateVoiceprint(std::move(own)).ok()) failures.fetch_add(1);
        if (!store.AppendAudit(ContractAudit(AuditAction::kUpdate, "shared")).ok()) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto shared = store.Get("shared");
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(shared->version, 1 + kThreads * kChanges);
  auto stats = store.Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->users, 1 + kThreads * kChanges);
  EXPECT_EQ(stats->audit_events, kThreads * kChanges);
}

REGISTER_TYPED_TEST_SUITE_P(StoreContractTest, LifecycleBumpsTheVersionOncePerChange,
                            RefusesBadInputAndChangesNothing, UserIdsAreStoredByteExact,
                            ListPagesOldestFirstWithFilters,
                            LoadActiveReturnsActiveUsersWithEmbeddings,
                            AuditLogIsNewestFirstWithFiltersAndCursor, AuditOutlivesTheUser,
                            StatsCountWhatIsStoredAndPingAnswers,
                            ConcurrentWritersNeverLoseAVersionBump);

}  // namespace voxgate::store::testing

#pragma GCC diagnostic pop
