#include "metrics/histogram.h"

#include <algorithm>
#include <cmath>

namespace voxgate::metrics {

std::vector<double> DefaultLatencyBucketsS() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> bounds;
  double v = start;
  for (int i = 0; i < count; ++i) {
    bounds.push_back(v);
    v *= factor;
  }
  return bounds;
}

Histogram::Histogram(std::vector<double> upper_bounds) {
  std::erase_if(upper_bounds, [](double b) { return !std::isfinite(b); });
  std::sort(upper_bounds.begin(), upper_bounds.end());
  upper_bounds.erase(std::unique(upper_bounds.begin(), upper_bounds.end()), upper_bounds.end());
  upper_bounds_ = std::move(upper_bounds);
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(upper_bounds_.size() + 1);
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // First bound >= value: the bucket whose "le" includes the value.
  size_t i =
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot s;
  s.upper_bounds = upper_bounds_;
  s.bucket_counts.resize(upper_bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    s.bucket_counts[i] = buckets_[i].load(std::memory_order_relaxed);
    total += s.bucket_counts[i];
  }
  // Report the count as the sum of the buckets so that the +Inf bucket always equals _count.
  s.count = total;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace voxgate::metrics
