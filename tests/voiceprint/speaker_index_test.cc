#include "voiceprint/speaker_index.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <thread>

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

}  // namespace
}  // namespace voxgate::voiceprint
