#include "analytics/sliding_window.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "analytics/log_histogram.h"

namespace voxgate::analytics {
namespace {

// Slots of 1/8 s: exact in binary floating point, so boundary tests are exact.
SlidingWindowConfig Config(double window_s, int buckets, int histogram_bins = 0) {
  SlidingWindowConfig c;
  c.window_s = window_s;
  c.buckets = buckets;
  c.histogram_bins = histogram_bins;
  c.histogram_min = 1e-4;
  c.histogram_max = 10.0;
  return c;
}

TEST(LogHistogramTest, QuantilesOfAUniformRangeAreWithinABin) {
  LogHistogram h(1e-4, 10.0, 128);
  for (int i = 1; i <= 1000; ++i) h.Add(i * 1e-3);  // 1 ms .. 1 s
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_NEAR(h.Quantile(0.95), 0.950, 0.950 * 0.05);
  EXPECT_NEAR(h.Quantile(0.50), 0.500, 0.500 * 0.05);
  EXPECT_NEAR(h.Quantile(0.01), 0.010, 0.010 * 0.05);
}

TEST(LogHistogramTest, OuterBinsSaturate) {
  LogHistogram h(1e-3, 1.0, 16);
  h.Add(0.0);
  h.Add(-5.0);
  h.Add(1e-3);  // at min: lowest bin
  EXPECT_EQ(h.bin_count(0), 3u);
  h.Add(50.0);
  EXPECT_EQ(h.bin_count(15), 1u);
  EXPECT_EQ(h.Quantile(0.0), 1e-3);
  EXPECT_EQ(h.Quantile(1.0), 1.0);
  h.Add(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(h.count(), 4u);
  h.Clear();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Quantile(0.5), 0.0);
}

TEST(LogHistogramTest, BinsAreOrdered) {
  LogHistogram h(1e-4, 10.0, 64);
  int previous = 0;
  for (double v = 1e-5; v < 100.0; v *= 1.07) {
    const int bin = h.BinOf(v);
    EXPECT_GE(bin, previous) << v;
    previous = bin;
  }
  EXPECT_EQ(previous, 63);
}

TEST(SlidingWindowTest, ConfigValidation) {
  EXPECT_TRUE(Config(1.0, 8).Validate().ok());
  EXPECT_TRUE(Config(1.0, 8, 64).Validate().ok());
  EXPECT_FALSE(Config(0.0, 8).Validate().ok());
  EXPECT_FALSE(Config(1.0, 0).Validate().ok());
  EXPECT_FALSE(Config(1.0, 8, 2).Validate().ok());
  SlidingWindowConfig bad_range = Config(1.0, 8, 64);
  bad_range.histogram_min = 1.0;
  bad_range.histogram_max = 0.5;
  EXPECT_FALSE(bad_range.Validate().ok());
  EXPECT_NE(Config(2.5, 5).ToString().find("window_s=2.5"), std::string::npos);
}

TEST(SlidingWindowTest, EmptyWindow) {
  SlidingWindow w(Config(1.0, 8, 32));
  WindowStats s = w.Get(5.0);
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.sum, 0.0);
  EXPECT_EQ(s.rate_per_s, 0.0);
  EXPECT_TRUE(std::isnan(s.p95));
}

TEST(SlidingWindowTest, StatisticsOfTheSamplesInTheWindow) {
  SlidingWindow w(Config(1.0, 8));
  w.Add(0.10, 4.0);
  w.Add(0.30, -2.0);
  w.Add(0.55, 10.0);
  w.Add(0.90, 8.0);
  WindowStats s = w.Get(0.95);
  EXPECT_EQ(s.count, 4u);
  EXPECT_DOUBLE_EQ(s.sum, 20.0);
  EXPECT_DOUBLE_EQ(s.mean, 5.0);
  EXPECT_EQ(s.min, -2.0);
  EXPECT_EQ(s.max, 10.0);
  EXPECT_TRUE(std::isnan(s.p95));  // no histogram configured
}

TEST(SlidingWindowTest, SlotsExpireExactlyAtTheWindowBoundary) {
  // 1 s window of eight 0.125 s slots. A sample at 0.0 lives in slot [0, 0.125); the window ending
  // at now holds slots floor(now / 0.125) - 7 .. floor(now / 0.125).
  SlidingWindow w(Config(1.0, 8));
  w.Add(0.0, 1.0);
  w.Add(0.125, 2.0);
  EXPECT_EQ(w.Get(0.999).count, 2u);
  EXPECT_EQ(w.Get(1.0).count, 1u);  // slot 0 left the window
  EXPECT_EQ(w.Get(1.0).sum, 2.0);
  EXPECT_EQ(w.Get(1.124).count, 1u);
  EXPECT_EQ(w.Get(1.125).count, 0u);
}

TEST(SlidingWindowTest, GetWithALaterTimeExpiresWithoutNewSamples) {
  SlidingWindow w(Config(2.0, 8));
  for (int i = 0; i < 100; ++i) w.Add(i * 0.01, 1.0);  // 0 .. 0.99 s
  EXPECT_EQ(w.Get(1.0).count, 100u);
  EXPECT_EQ(w.Get(2.25).count, 50u);  // slots before 0.5 s expired
  EXPECT_EQ(w.Get(10.0).count, 0u);
  // An earlier `now` than the latest sample does not bring anything back or hide anything.
  EXPECT_EQ(w.Get(0.2).count, 100u);
}

TEST(SlidingWindowTest, RingSlotsAreReusedAfterAGap) {
  SlidingWindow w(Config(1.0, 8));
  w.Add(0.0, 1.0);
  w.Add(0.5, 1.0);
  // 100 s later the same ring slots come round again; the old data must not leak in.
  w.Add(100.0, 5.0);
  w.Add(100.5, 7.0);
  WindowStats s = w.Get(100.6);
  EXPECT_EQ(s.count, 2u);
  EXPECT_EQ(s.sum, 12.0);
  EXPECT_EQ(s.min, 5.0);
}

TEST(SlidingWindowTest, LateSamplesInsideTheWindowCountOthersAreIgnored) {
  SlidingWindow w(Config(1.0, 8));
  w.Add(5.0, 1.0);
  EXPECT_TRUE(w.Add(4.5, 2.0));   // late but in the window
  EXPECT_FALSE(w.Add(3.0, 3.0));  // older than the window
  EXPECT_FALSE(w.Add(5.0, std::numeric_limits<double>::quiet_NaN()));
  EXPECT_FALSE(w.Add(std::numeric_limits<double>::infinity(), 1.0));
  WindowStats s = w.Get(5.0);
  EXPECT_EQ(s.count, 2u);
  EXPECT_EQ(s.sum, 3.0);
}

TEST(SlidingWindowTest, RateOfASteadyStream) {
  SlidingWindow w(Config(1.0, 8));
  for (int k = 0; k < 150; ++k) w.Add(k * 0.02, 160.0);  // 50 packets/s of 160 bytes, to 2.98 s
  WindowStats s = w.Get(2.99);
  // The window holds slots from 2.0 s: 50 samples over 0.99 s.
  EXPECT_EQ(s.count, 50u);
  EXPECT_NEAR(s.span_s, 0.99, 1e-9);
  EXPECT_NEAR(s.rate_per_s, 50.0 / 0.99, 1e-6);
  EXPECT_NEAR(s.sum_per_s, 50.0 * 160.0 / 0.99, 1e-3);
}

TEST(SlidingWindowTest, RateAtTheStartCoversOnlyTheTimeSinceTheFirstSample) {
  SlidingWindow w(Config(8.0, 8));
  for (int k = 0; k < 100; ++k) w.Add(100.0 + k * 0.02, 1.0);  // 2 s at 50/s, from t = 100
  WindowStats s = w.Get(102.0);
  EXPECT_NEAR(s.span_s, 2.0, 1e-9);
  EXPECT_NEAR(s.rate_per_s, 50.0, 1e-6);
  // Right after the first sample the span is one slot, not ~0.
  SlidingWindow fresh(Config(8.0, 8));
  fresh.Add(10.0, 1.0);
  EXPECT_EQ(fresh.Get(10.0).span_s, 1.0);
  EXPECT_EQ(fresh.Get(10.0).rate_per_s, 1.0);
}

TEST(SlidingWindowTest, P95OfTheWindowAndAfterExpiry) {
  SlidingWindow w(Config(1.0, 8, 128));
  // First second: 1..100 ms, 95th percentile 95 ms.
  for (int i = 1; i <= 100; ++i) w.Add(i * 0.009, i * 1e-3);
  WindowStats s = w.Get(0.95);
  ASSERT_EQ(s.count, 100u);
  EXPECT_NEAR(s.p95, 0.095, 0.095 * 0.05);
  EXPECT_NEAR(w.Quantile(0.95, 0.5), 0.050, 0.050 * 0.05);
  EXPECT_LE(w.Quantile(0.95, 1.0), 0.100);  // never beyond the maximum seen
  EXPECT_GE(w.Quantile(0.95, 0.0), 0.001);  // nor below the minimum
  // Next second: a constant 2 ms; the old large values expire.
  for (int i = 0; i < 100; ++i) w.Add(1.0 + i * 0.009, 0.002);
  WindowStats later = w.Get(1.95);
  EXPECT_EQ(later.max, 0.002);
  EXPECT_NEAR(later.p95, 0.002, 0.002 * 0.05);
  EXPECT_TRUE(std::isnan(w.Get(10.0).p95));
}

TEST(SlidingWindowTest, ResetForgetsEverything) {
  SlidingWindow w(Config(1.0, 8, 16));
  w.Add(50.0, 3.0);
  w.Reset();
  EXPECT_EQ(w.Get(50.0).count, 0u);
  // After a reset an earlier time is fine again.
  EXPECT_TRUE(w.Add(1.0, 2.0));
  EXPECT_EQ(w.Get(1.0).count, 1u);
}

TEST(SlidingWindowTest, InvalidConfigIsSanitized) {
  SlidingWindow w(Config(-1.0, 0, 1));
  EXPECT_GT(w.config().window_s, 0.0);
  EXPECT_GE(w.config().buckets, 1);
  EXPECT_GE(w.config().histogram_bins, 3);
  w.Add(0.0, 1.0);
  EXPECT_EQ(w.Get(0.0).count, 1u);
}

}  // namespace
}  // namespace voxgate::analytics
