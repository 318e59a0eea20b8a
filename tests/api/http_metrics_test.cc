#include "api/http_metrics.h"

#include <gtest/gtest.h>

#include "metrics/registry.h"

namespace voxgate::api {
namespace {

TEST(HttpMetricsTest, RecentWindowGivesRateAndLatencyPercentiles) {
  metrics::Registry registry;
  HttpMetrics m(registry);
  EXPECT_EQ(m.recent().requests, 0);
  EXPECT_EQ(m.recent().p50_ms, 0.0);
  // 98 fast requests (2 ms), 2 slow ones (800 ms), one of them a 5xx.
  for (int i = 0; i < 98; ++i) m.RecordRequest("/a", "GET", 200, 0.002);
  m.RecordRequest("/a", "GET", 200, 0.8);
  m.RecordRequest("/a", "GET", 503, 0.8);
  const HttpMetrics::Recent r = m.recent();
  EXPECT_EQ(r.requests, 100);
  EXPECT_EQ(r.errors, 1);
  EXPECT_DOUBLE_EQ(r.rate_per_s, 100.0 / HttpMetrics::kRecentWindowS);
  // Buckets are 25 % wide: the reported value is within one bucket of the truth.
  EXPECT_GT(r.p50_ms, 2.0 / 1.25);
  EXPECT_LT(r.p50_ms, 2.0 * 1.25);
  EXPECT_GT(r.p99_ms, 800.0 / 1.25);
  EXPECT_LT(r.p99_ms, 800.0 * 1.25);
  EXPECT_EQ(m.totals().requests, 100);
}

}  // namespace
}  // namespace voxgate::api
