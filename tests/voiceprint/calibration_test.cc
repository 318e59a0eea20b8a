// Calibration, AS-Norm cohort and the fitting functions behind `voxgate calibrate`: the maths on
// inputs whose answer is known, the verdict rules (gates, bands, levels, explicit thresholds) and
// the file format's round trip and refusals.
#include "voiceprint/calibration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "voiceprint/calibration_fit.h"

namespace voxgate::voiceprint {
namespace {

TEST(SecurityLevelTest, NamesRoundTripAndBadNamesAreRefused) {
  for (SecurityLevel l : kSecurityLevels) {
    auto parsed = ParseSecurityLevel(SecurityLevelName(l));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, l);
  }
  EXPECT_DOUBLE_EQ(TargetFalseAcceptRate(SecurityLevel::kHigh), 0.001);
  EXPECT_DOUBLE_EQ(TargetFalseAcceptRate(SecurityLevel::kBalanced), 0.01);
  EXPECT_DOUBLE_EQ(TargetFalseAcceptRate(SecurityLevel::kConvenient), 0.05);
  auto bad = ParseSecurityLevel("<script>");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseSecurityLevel("").ok());
  EXPECT_FALSE(ParseSecurityLevel("HIGH").ok());
}

// Unit vectors along axes: cosines are exact.
std::vector<float> Axis(int dim, int i, float scale = 1.0f) {
  std::vector<float> v(dim, 0.0f);
  v[i] = scale;
  return v;
}

TEST(ScoreCohortTest, TopNStatisticsAndNormalisationAreExact) {
  // Cohort: e0, e1, and (e0 + e1)/sqrt 2. Probe e0 scores 1, 0, 0.7071.
  std::vector<float> rows;
  for (auto v : {Axis(3, 0), Axis(3, 1), std::vector<float>{1, 1, 0}}) {
    rows.insert(rows.end(), v.begin(), v.end());
  }
  auto cohort = ScoreCohort::Create(rows, 3, 2);
  ASSERT_TRUE(cohort.ok()) << cohort.status().ToString();
  EXPECT_EQ(cohort->count(), 3);
  const CohortStats s = cohort->StatsByChannel(Axis(3, 0)).wideband;
  const double r = 1.0 / std::sqrt(2.0);
  EXPECT_NEAR(s.mean, (1.0 + r) / 2, 1e-6);
  EXPECT_NEAR(s.std, (1.0 - r) / 2, 1e-6);
  // AS-Norm is affine in the score, and Denormalize inverts it.
  const CohortStats e{0.2, 0.05}, p{0.1, 0.1};
  const double n = ScoreCohort::Normalize(0.6, e, p);
  EXPECT_NEAR(n, 0.5 * ((0.6 - 0.2) / 0.05 + (0.6 - 0.1) / 0.1), 1e-12);
  EXPECT_NEAR(ScoreCohort::Denormalize(n, e, p), 0.6, 1e-12);
  // top_n above the cohort size is clamped; a wrong size gives the neutral {0, 1}.
  auto all = ScoreCohort::Create(rows, 3, 50);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->top_n(), 3);
  const CohortStats neutral = all->StatsByChannel(std::vector<float>{1, 0}).wideband;
  EXPECT_EQ(neutral.mean, 0.0);
  EXPECT_EQ(neutral.std, 1.0);
}

TEST(ScoreCohortTest, ASplitCohortGivesEachChannelsStatistics) {
  // Rows 0-1 wideband (e0, e1), rows 2-3 telephone (e0 + e1, e2). Probe e0 scores 1, 0 against
  // the wideband part and 0.7071, 0 against the telephone part.
  std::vector<float> rows;
  for (auto v : {Axis(3, 0), Axis(3, 1), std::vector<float>{1, 1, 0}, Axis(3, 2)}) {
    rows.insert(rows.end(), v.begin(), v.end());
  }
  auto split = ScoreCohort::Create(rows, 3, 1, 2);
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  EXPECT_EQ(split->wideband_rows(), 2);
  const CohortStatsByChannel s = split->StatsByChannel(Axis(3, 0));
  EXPECT_NEAR(s.wideband.mean, 1.0, 1e-6);
  EXPECT_NEAR(s.telephone.mean, 1.0 / std::sqrt(2.0), 1e-6);
  EXPECT_EQ(&s.In(true), &s.telephone);
  EXPECT_EQ(&s.In(false), &s.wideband);
  // Not split: both channels get the whole cohort's statistics.
  auto whole = ScoreCohort::Create(rows, 3, 1);
  ASSERT_TRUE(whole.ok());
  const CohortStatsByChannel w = whole->StatsByChannel(Axis(3, 0));
  EXPECT_NEAR(w.wideband.mean, 1.0, 1e-6);
  EXPECT_NEAR(w.telephone.mean, 1.0, 1e-6);
  // A part smaller than top_n uses all its rows; a split beyond the rows is refused.
  auto wide_top = ScoreCohort::Create(rows, 3, 3, 2);
  ASSERT_TRUE(wide_top.ok()) << wide_top.status().ToString();
  EXPECT_NEAR(wide_top->StatsByChannel(Axis(3, 0)).wideband.mean, 0.5, 1e-6);
  EXPECT_FALSE(ScoreCohort::Create(rows, 3, 1, 5).ok());
}

TEST(ScoreCohortTest, BadInputIsRefused) {
  EXPECT_FALSE(ScoreCohort::Create({}, 3, 1).ok());
  EXPECT_FALSE(ScoreCohort::Create({1, 2, 3, 4}, 3, 1).ok());
  EXPECT_FALSE(ScoreCohort::Create({1, NAN, 0}, 3, 1).ok());
  EXPECT_FALSE(ScoreCohort::Create({1, 0, 0}, 3, 0).ok());
  const std::string path = ::testing::TempDir() + "/short.cohort.f32";
  std::ofstream(path, std::ios::binary) << "abcd";
  auto short_file = ScoreCohort::Load(path, 2, 3, 1);
  ASSERT_FALSE(short_file.ok());
  EXPECT_EQ(short_file.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(ScoreCohort::Load(path + ".missing", 2, 3, 1).status().code(), StatusCode::kNotFound);
}

TEST(CalibrationFitTest, ThresholdHoldsTheFalseAcceptRate) {
  std::vector<double> scores;
  for (int i = 0; i < 1000; ++i) scores.push_back(i / 1000.0);
  const double t = ThresholdAtFalseAcceptRate(scores, 0.01);
  const auto accepted =
      std::count_if(scores.begin(), scores.end(), [&](double s) { return s >= t; });
  EXPECT_EQ(accepted, 10);
  // Ties are never split: with every score equal, at most `far` of them may pass, so none does.
  const double tied = ThresholdAtFalseAcceptRate(std::vector<double>(100, 0.5), 0.05);
  EXPECT_GT(tied, 0.5);
  EXPECT_TRUE(std::isinf(ThresholdAtFalseAcceptRate({}, 0.01)));
}

TEST(CalibrationFitTest, ExponentialTailMatchesAnExponentialSample) {
  // Exponential(1) scores: P(X > t) = e^-t, so the 0.1 % point is ln 1000 = 6.91.
  std::mt19937 rng(3);
  std::exponential_distribution<double> exp1(1.0);
  std::vector<double> scores(20000);
  for (double& s : scores) s = exp1(rng);
  EXPECT_NEAR(TailThreshold(scores, 0.001), std::log(1000.0), 0.25);
  EXPECT_TRUE(std::isinf(TailThreshold({1, 2, 3}, 0.001)));
}

TEST(CalibrationFitTest, LogisticFitRecoversAKnownLlr) {
  // Trials drawn from a known calibration: P(target | s, q) = sigmoid(a + b s + c q + d s q).
  const LlrModel truth{-1.0, 1.5, -0.5, 0.25};
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> score(-4.0, 6.0), speech(1.0, 20.0), u(0.0, 1.0);
  std::vector<CalibrationTrial> trials;
  while (trials.size() < 40000) {
    CalibrationTrial t{score(rng), speech(rng), false};
    t.target = u(rng) < 1.0 / (1.0 + std::exp(-truth.Llr(t.normalized, t.speech_s)));
    trials.push_back(t);
  }
  // FitLlr weighs each class to one half (equal priors), which moves only the offset: by
  // ln(non-targets / targets).
  size_t nt = 0, nn = 0;
  for (const auto& t : trials) (t.target ? nt : nn)++;
  const LlrModel fit = FitLlr(trials);
  const double prior_shift = std::log(static_cast<double>(nn) / static_cast<double>(nt));
  EXPECT_NEAR(fit.a - prior_shift, truth.a, 0.15);
  EXPECT_NEAR(fit.b, truth.b, 0.1);
  EXPECT_NEAR(fit.c, truth.c, 0.15);
  EXPECT_NEAR(fit.d, truth.d, 0.06);
  // One class only: the identity model, not a division by zero.
  const LlrModel none = FitLlr({{1.0, 3.0, true}});
  EXPECT_DOUBLE_EQ(none.b, 1.0);
}

TEST(CalibrationFitTest, BandsMarkLevelsThatWouldRejectTooManyAsUnusable) {
  // Short probes: targets barely above impostors; long probes: well apart.
  std::mt19937 rng(5);
  std::normal_distribution<double> n(0.0, 1.0);
  std::vector<std::vector<CalibrationTrial>> groups(2);
  for (int i = 0; i < 6000; ++i) groups[0].push_back({n(rng), 2.0, false});
  for (int i = 0; i < 200; ++i) groups[0].push_back({1.0 + n(rng), 2.0, true});
  for (int i = 0; i < 6000; ++i) groups[1].push_back({n(rng), 8.0, false});
  for (int i = 0; i < 200; ++i) groups[1].push_back({6.0 + n(rng), 8.0, true});
  const auto bands = FitBands(groups, {2.0, 8.0});
  ASSERT_EQ(bands.size(), 2u);
  const int high = static_cast<int>(SecurityLevel::kHigh);
  const int conv = static_cast<int>(SecurityLevel::kConvenient);
  // At 2 s the high level (0.1 % of N(0,1): 3.09) would reject ~98 % of targets around 1.0.
  EXPECT_FALSE(bands[0].usable[high]);
  EXPECT_GT(bands[0].frr[high], 0.5);
  EXPECT_NEAR(bands[0].threshold[conv], 1.645, 0.08);
  EXPECT_NEAR(bands[0].far[conv], 0.05, 0.002);
  // The longest band holds every level.
  for (SecurityLevel l : kSecurityLevels) EXPECT_TRUE(bands[1].usable[static_cast<int>(l)]);
  EXPECT_NEAR(bands[1].threshold[high], 3.09, 0.25);
  EXPECT_LT(bands[1].frr[high], 0.02);
}

// A calibration with hand-set bands measured at 1.5 s and 4 s, no cohort.
Calibration HandMade() {
  ChannelCalibration c;
  ScoreBand shorter;
  shorter.min_speech_s = 1.5;
  shorter.threshold = {0.9, 0.6, 0.4};
  shorter.usable = {false, true, true};
  ScoreBand longer;
  longer.min_speech_s = 4.0;
  longer.threshold = {0.8, 0.5, 0.3};
  longer.usable = {true, true, true};
  c.bands = {shorter, longer};
  c.llr = {-5.0, 10.0, 0.0, 0.0};
  // Cross-channel trials score lower for everyone: their thresholds are 0.2 lower.
  ChannelCalibration cross = c;
  for (ScoreBand& b : cross.bands) {
    for (double& t : b.threshold) t -= 0.2;
  }
  return Calibration("m:1", ScoreCohort(), {c, c, cross});
}

ProbeEvidence Probe(double speech_s, double snr_db = 30, double clipping = 0,
                    bool narrowband = false) {
  ProbeEvidence p;
  p.speech_s = speech_s;
  p.quality.snr_db = snr_db;
  p.quality.clipping_ratio = clipping;
  p.quality.narrowband = narrowband;
  p.quality.bandwidth_hz = narrowband ? 3800 : 7900;
  return p;
}

TEST(CalibrationTest, VerdictsFollowTheBandOfTheProbesLength) {
  const Calibration cal = HandMade();
  const EnrolledEvidence none;
  // Between the bands the threshold moves with ln(speech): at 1.5 s the short band's, half way
  // (sqrt(1.5 * 4) s) half way, from 4 s on the long band's.
  EXPECT_DOUBLE_EQ(cal.Judge(0.0, none, Probe(1.5), SecurityLevel::kBalanced).threshold, 0.6);
  EXPECT_NEAR(cal.Judge(0.0, none, Probe(std::sqrt(6.0)), SecurityLevel::kBalanced).threshold, 0.55,
              1e-9);
  EXPECT_DOUBLE_EQ(cal.Judge(0.0, none, Probe(4.0), SecurityLevel::kBalanced).threshold, 0.5);
  EXPECT_DOUBLE_EQ(cal.Judge(0.0, none, Probe(30.0), SecurityLevel::kBalanced).threshold, 0.5);
  // 2 s: near the short band. 0.55 is below balanced there (0.571), above convenient (0.371).
  Verdict v = cal.Judge(0.55, none, Probe(2.0), SecurityLevel::kBalanced);
  EXPECT_EQ(v.decision, Verdict::Decision::kReject);
  const double w = std::log(2.0 / 1.5) / std::log(4.0 / 1.5);
  EXPECT_NEAR(v.threshold, 0.6 - 0.1 * w, 1e-12);
  EXPECT_NE(v.reason.find("security level balanced"), std::string::npos) << v.reason;
  EXPECT_TRUE(cal.Judge(0.55, none, Probe(2.0), SecurityLevel::kConvenient).accepted());
  // 5 s: the long band, where 0.55 passes balanced.
  v = cal.Judge(0.55, none, Probe(5.0), SecurityLevel::kBalanced);
  EXPECT_TRUE(v.accepted());
  EXPECT_DOUBLE_EQ(v.threshold, 0.5);
  EXPECT_NEAR(v.llr, 0.5, 1e-12);
  EXPECT_NEAR(v.probability, 1.0 / (1.0 + std::exp(-0.5)), 1e-12);
  // High is not usable below 4 s: inconclusive, saying how much speech it needs.
  v = cal.Judge(0.99, none, Probe(2.0), SecurityLevel::kHigh);
  EXPECT_TRUE(v.inconclusive());
  EXPECT_NE(v.reason.find("at least 4.00 s"), std::string::npos) << v.reason;
  EXPECT_DOUBLE_EQ(cal.MinSpeechS(Channel::kWideband, SecurityLevel::kHigh), 4.0);
  EXPECT_DOUBLE_EQ(cal.MinSpeechS(Channel::kWideband, SecurityLevel::kBalanced), 1.5);
  // Below the first band: inconclusive at every level.
  EXPECT_TRUE(cal.Judge(0.99, none, Probe(1.2), SecurityLevel::kConvenient).inconclusive());
}

TEST(CalibrationTest, QualityGatesAndExplicitThresholds) {
  Calibration cal = HandMade();
  const EnrolledEvidence none;
  Verdict v = cal.Judge(0.99, none, Probe(5.0, 30, 0.05), SecurityLevel::kBalanced);
  EXPECT_TRUE(v.inconclusive());
  EXPECT_NE(v.reason.find("clipped"), std::string::npos) << v.reason;
  v = cal.Judge(0.99, none, Probe(5.0, 1.0), SecurityLevel::kBalanced);
  EXPECT_TRUE(v.inconclusive());
  EXPECT_NE(v.reason.find("noisy"), std::string::npos) << v.reason;
  v = cal.Judge(0.99, none, Probe(0.6), SecurityLevel::kBalanced);
  EXPECT_TRUE(v.inconclusive());
  EXPECT_NE(v.reason.find("0.60 s of speech"), std::string::npos) << v.reason;
  // Narrow-band audio against a narrow-band enrollment is judged on the telephone channel;
  // either side alone narrow-band makes the trial cross-channel, with the cross thresholds.
  const EnrolledEvidence phone{{}, true};
  EXPECT_EQ(cal.Judge(0.7, phone, Probe(5.0, 30, 0, true), SecurityLevel::kBalanced).channel,
            Channel::kTelephone);
  v = cal.Judge(0.35, none, Probe(5.0, 30, 0, true), SecurityLevel::kBalanced);
  EXPECT_EQ(v.channel, Channel::kCross);
  EXPECT_TRUE(v.accepted()) << "0.35 passes the cross threshold 0.3, not the telephone's 0.5";
  EXPECT_DOUBLE_EQ(v.threshold, 0.3);
  v = cal.Judge(0.35, phone, Probe(5.0), SecurityLevel::kBalanced);
  EXPECT_EQ(v.channel, Channel::kCross);
  EXPECT_TRUE(v.accepted());
  EXPECT_FALSE(
      cal.Judge(0.35, phone, Probe(5.0, 30, 0, true), SecurityLevel::kBalanced).accepted());
  // An explicit threshold replaces the level (still after the gates), even where the level
  // could not decide.
  v = cal.Judge(0.7, none, Probe(2.0), SecurityLevel::kHigh, 0.65);
  EXPECT_TRUE(v.accepted());
  EXPECT_TRUE(v.explicit_threshold);
  EXPECT_DOUBLE_EQ(v.threshold, 0.65);
  QualityGates lenient;
  lenient.max_clipping_ratio = 0.2;
  cal.set_gates(lenient);
  EXPECT_TRUE(cal.Judge(0.99, none, Probe(5.0, 30, 0.05), SecurityLevel::kBalanced).accepted());
}

TEST(CalibrationTest, UncalibratedUsesTheModelThresholdForEveryLevel) {
  const Calibration cal = Calibration::Uncalibrated(0.3);
  EXPECT_FALSE(cal.calibrated());
  for (SecurityLevel l : kSecurityLevels) {
    const Verdict v = cal.Judge(0.35, {}, Probe(2.0), l);
    EXPECT_TRUE(v.accepted());
    EXPECT_DOUBLE_EQ(v.threshold, 0.3);
    EXPECT_DOUBLE_EQ(v.probability, 0.35);
  }
  EXPECT_FALSE(cal.Judge(0.25, {}, Probe(2.0), SecurityLevel::kConvenient).accepted());
}

TEST(CalibrationTest, FileRoundTripsAndRefusesAnotherModelOrGarbage) {
  const std::string dir = ::testing::TempDir() + "/calibration_test";
  std::filesystem::create_directories(dir);
  std::vector<float> rows;
  for (int i = 0; i < 4; ++i) {
    auto v = Axis(4, i);
    rows.insert(rows.end(), v.begin(), v.end());
  }
  auto cohort = ScoreCohort::Create(rows, 4, 2);
  ASSERT_TRUE(cohort.ok());
  const Calibration made = HandMade();
  const Calibration with_cohort("m:1", *cohort,
                                {made.channel(Channel::kWideband),
                                 made.channel(Channel::kTelephone), made.channel(Channel::kCross)});
  const std::string path = dir + "/m.calibration.json";
  ASSERT_TRUE(with_cohort.Save(path, R"({"note":"test"})").ok());
  EXPECT_TRUE(std::filesystem::exists(dir + "/m.calibration.cohort.f32"));

  auto loaded = Calibration::Load(path, "m:1");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->cohort().count(), 4);
  EXPECT_EQ(loaded->cohort().top_n(), 2);
  const auto& band = loaded->channel(Channel::kTelephone).bands.at(1);
  EXPECT_DOUBLE_EQ(band.min_speech_s, 4.0);
  EXPECT_DOUBLE_EQ(band.threshold[1], 0.5);
  EXPECT_FALSE(loaded->channel(Channel::kWideband).bands.at(0).usable[0]);
  const ProbeEvidence p = Probe(5.0);
  EXPECT_DOUBLE_EQ(loaded->channel(Channel::kCross).bands.at(1).threshold[1], 0.3);
  const EnrolledEvidence enrolled{{{0.1, 0.1}, {0.1, 0.1}}, false};
  EXPECT_EQ(loaded->Judge(0.4, enrolled, p, SecurityLevel::kBalanced).normalized,
            with_cohort.Judge(0.4, enrolled, p, SecurityLevel::kBalanced).normalized);

  // A file made before cross-channel trials were measured judges them on the telephone's.
  {
    nlohmann::json j = nlohmann::json::parse(std::ifstream(path));
    j["channels"].erase("cross");
    std::ofstream(dir + "/older.calibration.json") << j.dump();
    auto older = Calibration::Load(dir + "/older.calibration.json", "m:1");
    ASSERT_TRUE(older.ok()) << older.status().ToString();
    EXPECT_DOUBLE_EQ(older->channel(Channel::kCross).bands.at(1).threshold[1], 0.5);
  }

  auto other = Calibration::Load(path, "another:2");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(other.status().message().find("voxgate calibrate"), std::string::npos);

  std::ofstream(dir + "/bad.calibration.json")
      << R"({"format":"voxgate-calibration/1","model_id":)";
  EXPECT_EQ(Calibration::Load(dir + "/bad.calibration.json", "").status().code(),
            StatusCode::kDataLoss);
  std::ofstream(dir + "/old.calibration.json") << R"({"threshold":0.28})";
  EXPECT_EQ(Calibration::Load(dir + "/old.calibration.json", "").status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(Calibration::Load(dir + "/none.json", "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Calibration::PathForModel("/a/b/model.onnx"), "/a/b/model.calibration.json");
}

}  // namespace
}  // namespace voxgate::voiceprint
