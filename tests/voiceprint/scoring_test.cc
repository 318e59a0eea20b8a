#include "voiceprint/scoring.h"

#include <gtest/gtest.h>

#include <random>

namespace voxgate::voiceprint {
namespace {

TEST(ScoreTest, CosineOfKnownVectors) {
  std::vector<float> a{1, 0, 0}, b{0, 1, 0}, c{2, 0, 0}, d{-1, 0, 0};
  EXPECT_FLOAT_EQ(Score(a, b), 0.0f);
  EXPECT_FLOAT_EQ(Score(a, c), 1.0f);
  EXPECT_FLOAT_EQ(Score(a, d), -1.0f);
  std::vector<float> e{1, 1, 0};
  EXPECT_NEAR(Score(a, e), 1.0 / std::sqrt(2.0), 1e-6);
}

TEST(ScoreTest, DegenerateInputsScoreZero) {
  std::vector<float> a{1, 2}, z{0, 0}, longer{1, 2, 3};
  EXPECT_EQ(Score(a, z), 0.0f);
  EXPECT_EQ(Score(a, longer), 0.0f);
  EXPECT_EQ(Score({}, {}), 0.0f);
}

TEST(ScoreTest, L2NormalizeGivesUnitNorm) {
  std::vector<float> v{3, 4};
  L2Normalize(v);
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);
  std::vector<float> z{0, 0};
  L2Normalize(z);
  EXPECT_EQ(z[0], 0.0f);
}

TEST(EerTest, PerfectSeparationHasZeroEer) {
  std::vector<Trial> t{{0.9f, true}, {0.8f, true}, {0.1f, false}, {0.2f, false}};
  EerResult r = ComputeEer(t);
  EXPECT_DOUBLE_EQ(r.eer, 0.0);
  EXPECT_GT(r.threshold, 0.2);
  EXPECT_LT(r.threshold, 0.8);
  EXPECT_DOUBLE_EQ(r.min_dcf, 0.0);
  EXPECT_EQ(r.num_target, 2u);
  EXPECT_EQ(r.num_nontarget, 2u);
}

TEST(EerTest, FullyInvertedScoresGiveEerOfOne) {
  std::vector<Trial> t{{0.1f, true}, {0.2f, true}, {0.8f, false}, {0.9f, false}};
  EXPECT_DOUBLE_EQ(ComputeEer(t).eer, 1.0);
}

TEST(EerTest, KnownOverlap) {
  // With the threshold between 0.5 and 0.6 one target (0.4) is missed and one non-target (0.65)
  // is accepted: both rates are 1/5, so the EER is 0.2.
  std::vector<Trial> t{{0.4f, true},  {0.6f, true},  {0.7f, true},  {0.8f, true},  {0.9f, true},
                       {0.1f, false}, {0.2f, false}, {0.3f, false}, {0.5f, false}, {0.65f, false}};
  EerResult r = ComputeEer(t);
  EXPECT_NEAR(r.eer, 0.2, 1e-9);
  EXPECT_GT(r.threshold, 0.5);
  EXPECT_LT(r.threshold, 0.6);
}

TEST(EerTest, GaussianScoresMatchTheory) {
  // Targets ~ N(1, 1), non-targets ~ N(-1, 1): EER = Phi(-1) = 0.1587.
  std::mt19937 rng(7);
  std::normal_distribution<float> tgt(1.0f, 1.0f), non(-1.0f, 1.0f);
  std::vector<Trial> t;
  for (int i = 0; i < 20000; ++i) t.push_back({tgt(rng), true});
  for (int i = 0; i < 20000; ++i) t.push_back({non(rng), false});
  EerResult r = ComputeEer(t, 0.01);
  EXPECT_NEAR(r.eer, 0.1587, 0.01);
  EXPECT_NEAR(r.threshold, 0.0, 0.05);
  EXPECT_GT(r.min_dcf, r.eer);  // at p_target 0.01 the cost favours far fewer false alarms
  EXPECT_LE(r.min_dcf, 1.0);
  EXPECT_GT(r.min_dcf_threshold, r.threshold);
}

TEST(EerTest, NeedsBothKinds) {
  std::vector<Trial> t{{0.9f, true}};
  EerResult r = ComputeEer(t);
  EXPECT_EQ(r.eer, 0.0);
  EXPECT_EQ(r.num_nontarget, 0u);
}

}  // namespace
}  // namespace voxgate::voiceprint
