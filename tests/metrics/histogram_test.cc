#include "metrics/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "metrics/text_format.h"

namespace voxgate::metrics {
namespace {

TEST(HistogramTest, BucketPlacementUsesLessOrEqual) {
  Histogram h({1, 2, 5});
  h.Observe(-3);  // below every bound: first bucket
  h.Observe(1);   // exactly on a bound: that bucket (le is inclusive)
  h.Observe(1.0000001);
  h.Observe(2);
  h.Observe(5);
  h.Observe(5.5);  // above every bound: +Inf
  h.Observe(std::numeric_limits<double>::infinity());
  h.Observe(std::nan(""));  // ignored
  Histogram::Snapshot s = h.Collect();
  ASSERT_EQ(s.bucket_counts.size(), 4u);
  EXPECT_EQ(s.bucket_counts[0], 2u);
  EXPECT_EQ(s.bucket_counts[1], 2u);
  EXPECT_EQ(s.bucket_counts[2], 1u);
  EXPECT_EQ(s.bucket_counts[3], 2u);
  EXPECT_EQ(s.count, 7u);
}

TEST(HistogramTest, BoundsAreSortedAndDeduplicated) {
  Histogram h({5, 1, 1, std::numeric_limits<double>::infinity(), std::nan("")});
  EXPECT_EQ(h.upper_bounds(), (std::vector<double>{1, 5}));
}

TEST(HistogramTest, BucketHelpers) {
  EXPECT_EQ(ExponentialBuckets(0.001, 2, 3), (std::vector<double>{0.001, 0.002, 0.004}));
  std::vector<double> latency = DefaultLatencyBucketsS();
  EXPECT_TRUE(std::is_sorted(latency.begin(), latency.end()));
}

TEST(TextFormatTest, FormatsValues) {
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(-2), "-2");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(0.005), "0.005");
  EXPECT_EQ(FormatValue(1e20), "1e+20");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(TextFormatTest, ValidatesNames) {
  EXPECT_TRUE(IsValidMetricName("voxgate_http_requests_total"));
  EXPECT_TRUE(IsValidMetricName("ns:metric"));
  EXPECT_FALSE(IsValidMetricName("9lives"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_TRUE(IsValidLabelName("route"));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
}

}  // namespace
}  // namespace voxgate::metrics
