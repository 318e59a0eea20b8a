#include "voiceprint/enrollment.h"

#include <gtest/gtest.h>

#include <cmath>

#include "voiceprint/scoring.h"

namespace voxgate::voiceprint {
namespace {

SampleEmbedding Sample(std::vector<float> v, double speech_s) {
  L2Normalize(v);
  return {std::move(v), speech_s};
}

TEST(EnrollmentTest, VoiceprintIsSpeechWeightedMeanDirection) {
  EnrollmentConfig config;
  auto r = Enroll({Sample({1, 0}, 9.0), Sample({0, 1}, 3.0)}, config);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // (9, 3) normalised.
  EXPECT_NEAR(r->voiceprint[0], 9 / std::sqrt(90.0), 1e-6);
  EXPECT_NEAR(r->voiceprint[1], 3 / std::sqrt(90.0), 1e-6);
  EXPECT_DOUBLE_EQ(r->total_speech_s, 12.0);
  EXPECT_EQ(r->samples_used, 2);
}

TEST(EnrollmentTest, ConsistentSamplesGiveNoConsistencyWarning) {
  EnrollmentConfig config;
  auto r = Enroll({Sample({1, 0.1f, 0}, 6), Sample({1, 0, 0.1f}, 6)}, config);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->min_consistency, 0.9);
  EXPECT_TRUE(r->warnings.empty()) << r->warnings.front();
}

TEST(EnrollmentTest, OutlierSampleIsFlaggedOrRejected) {
  EnrollmentConfig config;
  std::vector<SampleEmbedding> s{Sample({1, 0, 0}, 5), Sample({1, 0.05f, 0}, 5),
                                 Sample({0, 0, 1}, 5)};
  auto r = Enroll(s, config);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->consistency.size(), 3u);
  EXPECT_LT(r->consistency[2], 0.3);
  EXPECT_GT(r->consistency[0], 0.5);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("sample 3"), std::string::npos);

  config.reject_inconsistent = true;
  auto rejected = Enroll(s, config);
  EXPECT_EQ(rejected.status().code(), StatusCode::kUnusable);
}

TEST(EnrollmentTest, SpeechGates) {
  EnrollmentConfig config;
  config.min_sample_speech_s = 1.0;
  config.min_total_speech_s = 3.0;
  EXPECT_EQ(Enroll({Sample({1, 0}, 0.5)}, config).status().code(), StatusCode::kUnusable);
  EXPECT_EQ(Enroll({Sample({1, 0}, 2.0)}, config).status().code(), StatusCode::kUnusable);
  auto short_ok = Enroll({Sample({1, 0}, 4.0)}, config);
  ASSERT_TRUE(short_ok.ok());
  ASSERT_EQ(short_ok->warnings.size(), 1u);  // below the recommended 10 s
  EXPECT_NE(short_ok->warnings[0].find("4.0 s"), std::string::npos);
}

TEST(EnrollmentTest, BadInput) {
  EnrollmentConfig config;
  EXPECT_EQ(Enroll({}, config).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Enroll({Sample({1, 0}, 5), Sample({1, 0, 0}, 5)}, config).status().code(),
            StatusCode::kInvalidArgument);
  config.consistency_threshold = 2;
  EXPECT_FALSE(config.Validate().ok());
}

}  // namespace
}  // namespace voxgate::voiceprint
