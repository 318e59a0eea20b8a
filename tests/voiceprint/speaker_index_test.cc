#include "voiceprint/speaker_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "common/config_node.h"
#include "voiceprint/scoring.h"

namespace voxgate::voiceprint {
namespace {

std::vector<float> RandomUnit(std::mt19937& rng, size_t dim) {
  std::normal_distribution<float> n;
  std::vector<float> v(dim);
  for (float& x : v) x = n(rng);
  L2Normalize(v);
  return v;
}

// Synthetic speaker embeddings. Uniform random directions in 192 dimensions are nothing like real
// ones: every pair is nearly orthogonal, so there is no neighbourhood for a graph to follow. Real
// embeddings spread over fewer directions; for the starter model's embeddings of 2,542 real
// utterances (1,113 speakers) the covariance has a participation ratio of 61 and impostor cosines
// have a standard deviation of 0.126. Per-coordinate standard deviations exp(-j / 64) give 64 and
// 0.124, and the same variance needed for 50/80/90/95/99 % of the total within a few components.
std::vector<float> SyntheticVoiceprint(std::mt19937& rng, size_t dim = 192) {
  std::normal_distribution<float> n;
  std::vector<float> v(dim);
  for (size_t j = 0; j < dim; ++j) v[j] = n(rng) * std::exp(-static_cast<float>(j) / 64.0f);
  L2Normalize(v);
  return v;
}

// Another take of the same speaker: cosine `cosine` to `v` on average, with noise drawn from the
// same distribution (0.6 is a typical same-speaker score against an enrolled voiceprint).
std::vector<float> NoisyCopy(std::mt19937& rng, const std::vector<float>& v, double cosine) {
  const double sigma = std::sqrt(1.0 / (cosine * cosine) - 1.0);
  std::vector<float> noise = SyntheticVoiceprint(rng, v.size());
  std::vector<float> q(v.size());
  for (size_t j = 0; j < v.size(); ++j) q[j] = v[j] + static_cast<float>(sigma) * noise[j];
  L2Normalize(q);
  return q;
}

std::string Id(size_t i) { return "user-" + std::to_string(i); }

// Brute force in double precision over a user -> vector map: the reference for exact search.
std::vector<std::pair<double, std::string>> BruteForce(
    const std::map<std::string, std::vector<float>>& db, const std::vector<float>& q, size_t k) {
  std::vector<std::pair<double, std::string>> all;
  for (const auto& [id, v] : db) {
    double dot = 0;
    for (size_t j = 0; j < v.size(); ++j) dot += static_cast<double>(v[j]) * q[j];
    all.emplace_back(dot, id);
  }
  k = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + k, all.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  all.resize(k);
  return all;
}

SpeakerIndexConfig SmallSwitch(int64_t hnsw_min_vectors) {
  SpeakerIndexConfig config;
  config.hnsw_min_vectors = hnsw_min_vectors;
  config.background_rebuild = false;  // rebuilds happen inside the update: deterministic
  return config;
}

TEST(SpeakerIndexTest, SearchAgreesWithBruteForce) {
  std::mt19937 rng(1);
  SpeakerIndex index;
  std::vector<std::vector<float>> db;
  for (int i = 0; i < 500; ++i) {
    db.push_back(RandomUnit(rng, 64));
    ASSERT_TRUE(index.Upsert("u" + std::to_string(i), db.back()).ok());
  }
  for (int t = 0; t < 20; ++t) {
    std::vector<float> q = RandomUnit(rng, 64);
    auto top = index.Search(q, 5);
    ASSERT_EQ(top.size(), 5u);
    int best = 0;
    for (int i = 1; i < 500; ++i) {
      if (Score(db[i], q) > Score(db[best], q)) best = i;
    }
    EXPECT_EQ(top[0].user_id, "u" + std::to_string(best));
    EXPECT_NEAR(top[0].score, Score(db[best], q), 1e-5);
    for (size_t i = 1; i < top.size(); ++i) EXPECT_GE(top[i - 1].score, top[i].score);
  }
}

TEST(SpeakerIndexTest, UpsertReplacesAndRemoveKeepsOthersFindable) {
  SpeakerIndex index;
  ASSERT_TRUE(index.Upsert("a", {1, 0, 0}).ok());
  ASSERT_TRUE(index.Upsert("b", {0, 1, 0}).ok());
  ASSERT_TRUE(index.Upsert("c", {0, 0, 1}).ok());
  ASSERT_TRUE(index.Upsert("a", {0, 0, 2}).ok());  // replaced, and normalised
  EXPECT_EQ(index.size(), 3u);
  float s = 0;
  ASSERT_TRUE(index.ScoreOf("a", std::vector<float>{0, 0, 1}, &s));
  EXPECT_NEAR(s, 1.0f, 1e-6);

  EXPECT_TRUE(index.Remove("a"));
  EXPECT_FALSE(index.Remove("a"));
  EXPECT_EQ(index.size(), 2u);
  auto top = index.Search(std::vector<float>{0, 0, 1}, 1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].user_id, "c");
  EXPECT_FALSE(index.ScoreOf("a", std::vector<float>{0, 0, 1}, &s));
}

TEST(SpeakerIndexTest, DimensionMismatchIsRefused) {
  SpeakerIndex index;
  ASSERT_TRUE(index.Upsert("a", {1, 0}).ok());
  EXPECT_EQ(index.Upsert("b", {1, 0, 0}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(index.Search(std::vector<float>{1, 0, 0}, 3).empty());
  EXPECT_EQ(index.Upsert("c", {}).code(), StatusCode::kInvalidArgument);
}

TEST(SpeakerIndexTest, ConcurrentReadersAndWriters) {
  SpeakerIndex index;
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 300; ++i) {
        const std::string id = "t" + std::to_string(t) + "_" + std::to_string(i % 50);
        if (i % 3 == 2) {
          index.Remove(id);
        } else {
          ASSERT_TRUE(index.Upsert(id, RandomUnit(rng, 32)).ok());
        }
        auto top = index.Search(RandomUnit(rng, 32), 3);
        EXPECT_LE(top.size(), 3u);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(index.size(), 200u);
  EXPECT_EQ(index.dim(), 32u);
  // Rows and ids stayed in step: a full search returns every user exactly once.
  std::mt19937 rng(9);
  auto all = index.Search(RandomUnit(rng, 32), 1000);
  EXPECT_EQ(all.size(), index.size());
  std::set<std::string> unique;
  for (const auto& m : all) unique.insert(m.user_id);
  EXPECT_EQ(unique.size(), all.size());
}

TEST(SpeakerIndexConfigTest, ValidatesLoadsAndPrints) {
  SpeakerIndexConfig config;
  EXPECT_TRUE(config.Validate().ok());
  EXPECT_NE(config.ToString().find("hnsw_min_vectors=20000"), std::string::npos);
  for (auto breaks : std::vector<void (*)(SpeakerIndexConfig&)>{
           [](SpeakerIndexConfig& c) { c.hnsw_min_vectors = 0; },
           [](SpeakerIndexConfig& c) { c.hnsw_m = 2; },
           [](SpeakerIndexConfig& c) { c.hnsw_ef_construction = 0; },
           [](SpeakerIndexConfig& c) { c.hnsw_ef_search = 0; },
           [](SpeakerIndexConfig& c) { c.max_tombstone_fraction = 0.0; },
           [](SpeakerIndexConfig& c) { c.max_tombstone_fraction = 1.0; },
           [](SpeakerIndexConfig& c) { c.build_threads = -1; }}) {
    SpeakerIndexConfig bad;
    breaks(bad);
    EXPECT_EQ(bad.Validate().code(), StatusCode::kInvalidArgument) << bad.ToString();
  }
  auto node = ConfigNode::Parse(
      "index:\n  hnsw_min_vectors: 5000\n  hnsw_ef_search: 200\n  background_rebuild: false\n");
  ASSERT_TRUE(node.ok());
  SpeakerIndexConfig loaded;
  ASSERT_TRUE(loaded.Load(node->Child("index")).ok());
  EXPECT_EQ(loaded.hnsw_min_vectors, 5000);
  EXPECT_EQ(loaded.hnsw_ef_search, 200);
  EXPECT_FALSE(loaded.background_rebuild);
  EXPECT_EQ(loaded.hnsw_m, SpeakerIndexConfig().hnsw_m);
  auto bad = ConfigNode::Parse("index:\n  hnsw_m: 1\n");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(SpeakerIndexConfig().Load(bad->Child("index")).ok());
}

// Exact mode is Faiss's IndexFlatIP: whole top-k lists, ids and scores, equal brute force.
TEST(SpeakerIndexTest, ExactModeEqualsBruteForceTopK) {
  std::mt19937 rng(2);
  SpeakerIndex index;
  std::map<std::string, std::vector<float>> db;
  for (size_t i = 0; i < 3000; ++i) {
    db[Id(i)] = SyntheticVoiceprint(rng);
    ASSERT_TRUE(index.Upsert(Id(i), db[Id(i)]).ok());
  }
  ASSERT_FALSE(index.Stats().hnsw);
  std::uniform_int_distribution<size_t> pick(0, db.size() - 1);
  for (int t = 0; t < 60; ++t) {
    std::vector<float> q =
        t % 2 ? SyntheticVoiceprint(rng) : NoisyCopy(rng, db[Id(pick(rng))], 0.6);
    auto top = index.Search(q, 10);
    auto ref = BruteForce(db, q, 10);
    ASSERT_EQ(top.size(), ref.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      EXPECT_NEAR(top[i].score, ref[i].first, 1e-5);
      // Ids agree unless two candidates tie within float rounding.
      if (i + 1 < ref.size() && ref[i].first - ref[i + 1].first > 1e-5 &&
          (i == 0 || ref[i - 1].first - ref[i].first > 1e-5)) {
        EXPECT_EQ(top[i].user_id, ref[i].second) << "query " << t << " rank " << i;
      }
    }
  }
}

// HNSW against exact search on 30,000 synthetic voiceprints with the default configuration:
// other takes of enrolled speakers (what identification sees) and voices of nobody enrolled.
TEST(SpeakerIndexTest, HnswRecallAtOneAgainstExactSearch) {
  std::mt19937 rng(3);
  constexpr size_t kUsers = 30000;
  std::vector<std::vector<float>> db(kUsers);
  std::vector<SpeakerVoiceprint> load;
  for (size_t i = 0; i < kUsers; ++i) {
    db[i] = SyntheticVoiceprint(rng);
    load.push_back({Id(i), db[i]});
  }
  SpeakerIndex hnsw;
  SpeakerIndexConfig exact_config;
  exact_config.hnsw_min_vectors = 1 << 30;
  SpeakerIndex exact(exact_config);
  ASSERT_TRUE(exact.Assign(load).ok());
  ASSERT_TRUE(hnsw.Assign(std::move(load)).ok());
  ASSERT_TRUE(hnsw.Stats().hnsw);
  ASSERT_FALSE(exact.Stats().hnsw);
  ASSERT_EQ(hnsw.size(), kUsers);

  std::uniform_int_distribution<size_t> pick(0, kUsers - 1);
  for (const bool enrolled : {true, false}) {
    constexpr int kQueries = 500;
    int hits = 0;
    for (int t = 0; t < kQueries; ++t) {
      std::vector<float> q =
          enrolled ? NoisyCopy(rng, db[pick(rng)], 0.6) : SyntheticVoiceprint(rng);
      auto want = exact.Search(q, 1);
      auto got = hnsw.Search(q, 5);
      ASSERT_EQ(want.size(), 1u);
      ASSERT_EQ(got.size(), 5u);
      for (size_t i = 1; i < got.size(); ++i) EXPECT_GE(got[i - 1].score, got[i].score);
      // Scores are real inner products of the returned users, not approximations.
      float s = 0;
      ASSERT_TRUE(exact.ScoreOf(got[0].user_id, q, &s));
      EXPECT_NEAR(got[0].score, s, 1e-4);
      if (got[0].user_id == want[0].user_id || got[0].score >= want[0].score - 1e-6f) ++hits;
    }
    const double recall = static_cast<double>(hits) / kQueries;
    EXPECT_GE(recall, 0.99) << (enrolled ? "noisy copies of enrolled voiceprints" : "new voices");
  }
}

// Removed and replaced users under HNSW: tombstones never come back, replaced users are found by
// their new voiceprint only, and the graph is rebuilt once tombstones pass the fraction.
TEST(SpeakerIndexTest, HnswRemovalsAndUpdatesNeverReturnStaleUsers) {
  std::mt19937 rng(4);
  SpeakerIndexConfig config = SmallSwitch(2000);
  config.max_tombstone_fraction = 0.25;
  SpeakerIndex index(config);
  std::map<std::string, std::vector<float>> db;
  std::vector<SpeakerVoiceprint> load;
  for (size_t i = 0; i < 4000; ++i) {
    db[Id(i)] = SyntheticVoiceprint(rng);
    load.push_back({Id(i), db[Id(i)]});
  }
  ASSERT_TRUE(index.Assign(std::move(load)).ok());
  ASSERT_TRUE(index.Stats().hnsw);
  const uint64_t rebuilds_after_load = index.Stats().rebuilds;

  std::vector<std::vector<float>> removed_vectors;
  std::set<std::string> removed;
  for (size_t i = 0; i < 4000; i += 8) {  // 500 removals
    removed_vectors.push_back(db[Id(i)]);
    removed.insert(Id(i));
    EXPECT_TRUE(index.Remove(Id(i)));
    db.erase(Id(i));
  }
  std::map<std::string, std::vector<float>> old_of;
  for (size_t i = 1; i < 4000; i += 16) {  // 250 updates
    old_of[Id(i)] = db[Id(i)];
    db[Id(i)] = SyntheticVoiceprint(rng);
    ASSERT_TRUE(index.Upsert(Id(i), db[Id(i)]).ok());
  }
  SpeakerIndexStats stats = index.Stats();
  EXPECT_TRUE(stats.hnsw);
  EXPECT_EQ(stats.size, db.size());
  EXPECT_EQ(stats.tombstones, 750u);  // under 25 % of 4,250 rows: no rebuild yet
  EXPECT_EQ(stats.rebuilds, rebuilds_after_load);

  auto check = [&] {
    for (const auto& v : removed_vectors) {
      for (const auto& m : index.Search(v, 10)) {
        EXPECT_EQ(removed.count(m.user_id), 0u) << m.user_id << " was removed";
      }
    }
    for (const auto& [id, old] : old_of) {
      auto top = index.Search(db[id], 1);
      ASSERT_EQ(top.size(), 1u);
      EXPECT_EQ(top[0].user_id, id);
      EXPECT_NEAR(top[0].score, 1.0f, 1e-4);
      // The old voiceprint no longer matches itself: at most the new one scores against it.
      for (const auto& m : index.Search(old, 3)) {
        if (m.user_id == id) {
          EXPECT_NEAR(m.score, Score(db[id], old), 1e-4);
        }
      }
    }
    // A full listing holds every live user exactly once, even with k past efSearch.
    std::mt19937 qrng(5);
    auto all = index.Search(SyntheticVoiceprint(qrng), db.size() + 10);
    ASSERT_EQ(all.size(), db.size());
    std::set<std::string> ids;
    for (const auto& m : all) ids.insert(m.user_id);
    EXPECT_EQ(ids.size(), db.size());
    for (const auto& id : removed) EXPECT_EQ(ids.count(id), 0u);
    float s = 0;
    EXPECT_FALSE(index.ScoreOf(*removed.begin(), removed_vectors.front(), &s));
  };
  check();

  // 400 more removals pass 25 % at the 313th: the graph is rebuilt without tombstones, still
  // HNSW, and collects the last 87.
  for (size_t i = 4; i < 4000 && removed.size() < 900; i += 8) {
    removed_vectors.push_back(db[Id(i)]);
    removed.insert(Id(i));
    EXPECT_TRUE(index.Remove(Id(i)));
    db.erase(Id(i));
  }
  stats = index.Stats();
  EXPECT_TRUE(stats.hnsw);
  EXPECT_GT(stats.rebuilds, rebuilds_after_load);
  EXPECT_LT(stats.tombstones, 100u);
  EXPECT_EQ(stats.size, db.size());
  check();
}

// The search mode follows the size: exact below hnsw_min_vectors, HNSW from it, back to exact
// below half of it; and results stay right across each switch.
TEST(SpeakerIndexTest, SwitchesBetweenExactAndHnswBySize) {
  std::mt19937 rng(6);
  SpeakerIndex index(SmallSwitch(1000));
  std::map<std::string, std::vector<float>> db;
  auto self_found = [&] {
    size_t n = 0;
    for (const auto& [id, v] : db) {
      if (n++ % 37 != 0) continue;
      auto top = index.Search(v, 1);
      ASSERT_EQ(top.size(), 1u);
      EXPECT_EQ(top[0].user_id, id);
    }
  };
  for (size_t i = 0; i < 999; ++i) {
    db[Id(i)] = SyntheticVoiceprint(rng);
    ASSERT_TRUE(index.Upsert(Id(i), db[Id(i)]).ok());
  }
  EXPECT_FALSE(index.Stats().hnsw);
  db[Id(999)] = SyntheticVoiceprint(rng);
  ASSERT_TRUE(index.Upsert(Id(999), db[Id(999)]).ok());
  EXPECT_TRUE(index.Stats().hnsw);
  EXPECT_EQ(index.size(), 1000u);
  self_found();

  // Shrinking: still HNSW at half the switch-over, exact just below it.
  for (size_t i = 0; i < 500; ++i) {
    ASSERT_TRUE(index.Remove(Id(i)));
    db.erase(Id(i));
  }
  EXPECT_TRUE(index.Stats().hnsw);
  ASSERT_TRUE(index.Remove(Id(500)));
  db.erase(Id(500));
  SpeakerIndexStats stats = index.Stats();
  EXPECT_FALSE(stats.hnsw);
  EXPECT_EQ(stats.tombstones, 0u);
  EXPECT_EQ(stats.size, 499u);
  self_found();
  for (const auto& [id, v] : db) {
    float s = 0;
    ASSERT_TRUE(index.ScoreOf(id, v, &s));
    EXPECT_NEAR(s, 1.0f, 1e-5);
  }

  // Bulk loads choose by their own size.
  std::vector<SpeakerVoiceprint> big, small;
  for (size_t i = 0; i < 1000; ++i) big.push_back({Id(i), SyntheticVoiceprint(rng)});
  for (size_t i = 0; i < 10; ++i) small.push_back({Id(i), SyntheticVoiceprint(rng)});
  ASSERT_TRUE(index.Assign(big).ok());
  EXPECT_TRUE(index.Stats().hnsw);
  EXPECT_EQ(index.size(), 1000u);
  ASSERT_TRUE(index.Assign(small).ok());
  EXPECT_FALSE(index.Stats().hnsw);
  EXPECT_EQ(index.size(), 10u);
  auto top = index.Search(small[3].voiceprint, 1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].user_id, Id(3));
}

// Background rebuild: the switch to HNSW is built on another thread while updates continue;
// updates made during the build are replayed onto the new graph.
TEST(SpeakerIndexTest, BackgroundRebuildKeepsConcurrentUpdates) {
  SpeakerIndexConfig config;
  config.hnsw_min_vectors = 1500;
  SpeakerIndex index(config);
  std::mt19937 rng(7);
  std::map<std::string, std::vector<float>> db;
  for (size_t i = 0; i < 1500; ++i) {
    db[Id(i)] = SyntheticVoiceprint(rng);
    ASSERT_TRUE(index.Upsert(Id(i), db[Id(i)]).ok());
  }
  // The last insertion scheduled the build; keep adding, replacing and removing meanwhile.
  std::thread reader([&] {
    std::mt19937 qrng(8);
    for (int i = 0; i < 200; ++i) EXPECT_EQ(index.Search(SyntheticVoiceprint(qrng), 3).size(), 3u);
  });
  for (size_t i = 1500; i < 2500; ++i) {
    db[Id(i)] = SyntheticVoiceprint(rng);
    ASSERT_TRUE(index.Upsert(Id(i), db[Id(i)]).ok());
    const std::string replaced = Id(i - 1400);
    db[replaced] = SyntheticVoiceprint(rng);
    ASSERT_TRUE(index.Upsert(replaced, db[replaced]).ok());
    const std::string gone = Id(i - 1500);
    if (i % 4 == 0 && db.erase(gone) == 1) {
      EXPECT_TRUE(index.Remove(gone));
    }
  }
  reader.join();
  index.WaitForRebuild();
  SpeakerIndexStats stats = index.Stats();
  EXPECT_TRUE(stats.hnsw);
  EXPECT_GE(stats.rebuilds, 1u);
  EXPECT_FALSE(stats.rebuilding);
  ASSERT_EQ(stats.size, db.size());
  for (const auto& [id, v] : db) {
    auto top = index.Search(v, 1);
    ASSERT_EQ(top.size(), 1u);
    EXPECT_EQ(top[0].user_id, id);
    EXPECT_NEAR(top[0].score, 1.0f, 1e-4);
  }
  auto all = index.Search(SyntheticVoiceprint(rng), db.size());
  std::set<std::string> ids;
  for (const auto& m : all) ids.insert(m.user_id);
  EXPECT_EQ(ids.size(), db.size());
  for (const auto& id : ids) EXPECT_EQ(db.count(id), 1u) << id;
}

TEST(SpeakerIndexTest, DimensionErrorsInEveryMode) {
  std::mt19937 rng(9);
  SpeakerIndex index(SmallSwitch(300));
  std::vector<SpeakerVoiceprint> load;
  for (size_t i = 0; i < 400; ++i) load.push_back({Id(i), SyntheticVoiceprint(rng)});
  ASSERT_TRUE(index.Assign(load).ok());
  ASSERT_TRUE(index.Stats().hnsw);
  EXPECT_EQ(index.dim(), 192u);
  EXPECT_EQ(index.Upsert("x", SyntheticVoiceprint(rng, 80)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Upsert("x", {}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(index.Search(SyntheticVoiceprint(rng, 80), 3).empty());
  EXPECT_TRUE(index.Search(SyntheticVoiceprint(rng), 0).empty());
  float s = 0;
  EXPECT_FALSE(index.ScoreOf(Id(1), SyntheticVoiceprint(rng, 80), &s));

  // A bulk load with mixed sizes or an empty vector is refused and keeps the old content.
  std::vector<SpeakerVoiceprint> mixed = {{"a", SyntheticVoiceprint(rng)},
                                          {"b", SyntheticVoiceprint(rng, 80)}};
  EXPECT_EQ(index.Assign(mixed).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Assign({{"a", {}}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.size(), 400u);
  auto top = index.Search(load[7].voiceprint, 1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].user_id, Id(7));

  // An emptied index takes a new size (a new model); so does a cleared one.
  ASSERT_TRUE(index.Assign({}).ok());
  EXPECT_EQ(index.size(), 0u);
  EXPECT_TRUE(index.Search(SyntheticVoiceprint(rng), 3).empty());
  ASSERT_TRUE(index.Upsert("y", SyntheticVoiceprint(rng, 80)).ok());
  EXPECT_EQ(index.dim(), 80u);
  EXPECT_TRUE(index.Remove("y"));
  ASSERT_TRUE(index.Upsert("z", SyntheticVoiceprint(rng, 64)).ok());
  EXPECT_EQ(index.dim(), 64u);
  index.Clear();
  EXPECT_EQ(index.dim(), 0u);
  ASSERT_TRUE(index.Upsert("w", SyntheticVoiceprint(rng)).ok());
  EXPECT_EQ(index.dim(), 192u);
}

TEST(SpeakerIndexTest, AssignKeepsTheLastDuplicateAndRebuildCompacts) {
  std::mt19937 rng(10);
  SpeakerIndex index(SmallSwitch(100));
  std::vector<SpeakerVoiceprint> load;
  for (size_t i = 0; i < 200; ++i) load.push_back({Id(i), SyntheticVoiceprint(rng)});
  const std::vector<float> last = SyntheticVoiceprint(rng);
  load.push_back({Id(5), last});
  ASSERT_TRUE(index.Assign(load).ok());
  EXPECT_EQ(index.size(), 200u);
  float s = 0;
  ASSERT_TRUE(index.ScoreOf(Id(5), last, &s));
  EXPECT_NEAR(s, 1.0f, 1e-5);

  for (size_t i = 0; i < 10; ++i) ASSERT_TRUE(index.Remove(Id(100 + i)));
  EXPECT_EQ(index.Stats().tombstones, 10u);
  ASSERT_TRUE(index.Rebuild().ok());
  SpeakerIndexStats stats = index.Stats();
  EXPECT_TRUE(stats.hnsw);
  EXPECT_EQ(stats.tombstones, 0u);
  EXPECT_EQ(stats.size, 190u);
  EXPECT_GT(stats.memory_bytes, size_t{190} * 192 * sizeof(float));
}

}  // namespace
}  // namespace voxgate::voiceprint
