// Counter: a monotonically increasing value (requests served, bytes received). Thread-safe and
// lock-free: Increment is one atomic read-modify-write.
#pragma once

#include <atomic>

namespace voxgate::metrics {

class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  /// Adds `amount` (>= 0; negative or NaN amounts are ignored, counters never go down).
  void Increment(double amount = 1.0) {
    if (!(amount >= 0.0)) return;
    value_.fetch_add(amount, std::memory_order_relaxed);
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

}  // namespace voxgate::metrics
