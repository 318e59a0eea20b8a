// Histogram: counts observations into fixed buckets (Prometheus semantics: bucket i counts values
// <= upper_bounds[i]; an implicit +Inf bucket counts everything). Thread-safe; Observe is a binary
// search plus three relaxed atomic updates, no locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace voxgate::metrics {

/// Request latency buckets in seconds: 5 ms .. 10 s (the Prometheus client defaults).
std::vector<double> DefaultLatencyBucketsS();
/// `count` bounds start, start*factor, start*factor^2, ...
std::vector<double> ExponentialBuckets(double start, double factor, int count);

class Histogram {
 public:
  /// Bounds are sorted and de-duplicated; NaN and infinite bounds are dropped (+Inf is implicit).
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  /// Records one value. NaN is ignored.
  void Observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;     // without +Inf
    std::vector<uint64_t> bucket_counts;  // per bucket, NOT cumulative; size upper_bounds + 1
    uint64_t count = 0;
    double sum = 0.0;
  };
  /// A consistent-enough copy for rendering (each field read atomically; concurrent observations
  /// may land in some fields and not yet in others).
  Snapshot Collect() const;
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // upper_bounds_.size() + 1 (the last is +Inf)
  std::atomic<double> sum_{0.0};
};

}  // namespace voxgate::metrics
