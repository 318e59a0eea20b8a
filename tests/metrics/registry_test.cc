#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace voxgate::metrics {
namespace {

TEST(RegistryTest, RendersExactTextForKnownMetrics) {
  Registry registry;
  auto& requests =
      registry.CounterFamily("http_requests_total", "Requests served.", {"method", "status"});
  requests.WithLabels({"GET", "200"}).Increment();
  requests.WithLabels({"GET", "200"}).Increment(2);
  requests.WithLabels({"POST", "413"}).Increment();
  registry.GetGauge("queue_depth", "Tasks waiting.").Set(3);
  auto& latency = registry.GetHistogram("latency_seconds", "Latency.", {0.1, 0.5, 1});
  latency.Observe(0.05);
  latency.Observe(0.5);
  latency.Observe(2.25);

  EXPECT_EQ(registry.RenderText(),
            "# HELP http_requests_total Requests served.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{method=\"GET\",status=\"200\"} 3\n"
            "http_requests_total{method=\"POST\",status=\"413\"} 1\n"
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{le=\"0.1\"} 1\n"
            "latency_seconds_bucket{le=\"0.5\"} 2\n"
            "latency_seconds_bucket{le=\"1\"} 2\n"
            "latency_seconds_bucket{le=\"+Inf\"} 3\n"
            "latency_seconds_sum 2.8\n"
            "latency_seconds_count 3\n"
            "# HELP queue_depth Tasks waiting.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth 3\n");
}

TEST(RegistryTest, LabelledHistogramPutsLeLast) {
  Registry registry;
  registry.HistogramFamily("d_seconds", "D.", {"route"}, {1}).WithLabels({"/health"}).Observe(0.5);
  EXPECT_EQ(registry.RenderText(),
            "# HELP d_seconds D.\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{route=\"/health\",le=\"1\"} 1\n"
            "d_seconds_bucket{route=\"/health\",le=\"+Inf\"} 1\n"
            "d_seconds_sum{route=\"/health\"} 0.5\n"
            "d_seconds_count{route=\"/health\"} 1\n");
}

TEST(RegistryTest, EscapesLabelValuesAndHelp) {
  Registry registry;
  registry.CounterFamily("c_total", "Line one\nback\\slash \"quoted\"", {"path"})
      .WithLabels({"a\"b\\c\nd"})
      .Increment();
  EXPECT_EQ(registry.RenderText(),
            "# HELP c_total Line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE c_total counter\n"
            "c_total{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(RegistryTest, GetOrCreateReturnsTheSameFamily) {
  Registry registry;
  auto& a = registry.CounterFamily("x_total", "X.", {"k"});
  auto& b = registry.CounterFamily("x_total", "X.", {"k"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.WithLabels({"v"}), &b.WithLabels({"v"}));
}

TEST(RegistryTest, ConflictingRegistrationIsDetachedNotFatal) {
  Registry registry;
  registry.GetCounter("x_total", "X.").Increment();
  Gauge& g = registry.GetGauge("x_total", "X as a gauge.");
  g.Set(42);  // works, but is not exported
  Counter& bad = registry.GetCounter("bad name", "Invalid.");
  bad.Increment();
  EXPECT_EQ(registry.RenderText(), "# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n");
}

TEST(RegistryTest, ConcurrentIncrementsSumCorrectly) {
  Registry registry;
  auto& family = registry.CounterFamily("hits_total", "Hits.", {"worker"});
  Gauge& gauge = registry.GetGauge("level", "Level.");
  Histogram& hist = registry.GetHistogram("h", "H.", {0.5});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        family.WithLabels({std::to_string(t % 2)}).Increment();
        gauge.Increment();
        gauge.Decrement(0.5);
        hist.Observe(i % 2 ? 1.0 : 0.25);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(family.WithLabels({"0"}).value() + family.WithLabels({"1"}).value(),
            kThreads * kPerThread);
  EXPECT_EQ(gauge.value(), kThreads * kPerThread * 0.5);
  Histogram::Snapshot s = hist.Collect();
  EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(s.bucket_counts[0], static_cast<uint64_t>(kThreads * kPerThread / 2));
  EXPECT_DOUBLE_EQ(s.sum, kThreads * kPerThread / 2 * 1.25);
}

TEST(RegistryTest, FamilyCardinalityIsBounded) {
  Registry registry;
  auto& family = registry.CounterFamily("ids_total", "Ids.", {"id"});
  for (size_t i = 0; i < Family<Counter>::kMaxChildren + 50; ++i) {
    family.WithLabels({std::to_string(i)}).Increment();
  }
  EXPECT_EQ(family.size(), Family<Counter>::kMaxChildren + 1);
  EXPECT_EQ(family.WithLabels({"__overflow__"}).value(), 50);
}

}  // namespace
}  // namespace voxgate::metrics
