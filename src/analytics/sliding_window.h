// SlidingWindow: statistics of a stream of (time, value) samples over the last `window_s` seconds:
// count, sum, mean, min, max, rates, and (optionally) p95 from per-bucket log histograms.
//
// The window is a ring of `buckets` fixed time slots of window_s / buckets each; a sample lands in
// the slot of its time, and a slot expires as a whole once it falls out of the window, so the
// window really spans between window_s - slot and window_s (expiry has the granularity of a slot).
// Expiry is driven by the times given: Get(now_s) with a later now sees old slots gone even when
// no sample arrived since. Times are monotonic seconds; a sample older than the window is ignored.
//
// All memory is allocated at construction; Add and Get do not allocate. Not thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "analytics/log_histogram.h"
#include "common/status.h"

namespace voxgate::analytics {

struct SlidingWindowConfig {
  double window_s = 10.0;       // span of the statistics, seconds (> 0)
  int buckets = 10;             // time slots in the window (1..10000); expiry granularity
  int histogram_bins = 0;       // log-spaced bins per slot for p95; 0: no percentiles, else >= 3
  double histogram_min = 1e-4;  // values at or below share the lowest bin (> 0)
  double histogram_max = 1e3;   // values above share the highest bin (> histogram_min)

  Status Validate() const;
  std::string ToString() const;
};

/// Statistics of the samples in the window. With no samples every field is 0 (p95 NaN).
struct WindowStats {
  uint64_t count = 0;
  double sum = 0.0;
  double mean = 0.0;
  double min = 0.0;
  double max = 0.0;
  double span_s = 0.0;      // time the statistics cover (at least one slot; less at the start)
  double rate_per_s = 0.0;  // count / span_s
  double sum_per_s = 0.0;   // sum / span_s (bytes -> bytes per second)
  double p95 = std::numeric_limits<double>::quiet_NaN();  // NaN without histogram or samples
};

class SlidingWindow {
 public:
  /// An invalid config (see Validate) is brought to the nearest valid one.
  explicit SlidingWindow(const SlidingWindowConfig& config);

  /// Adds a sample at `time_s`. False (ignored) when it is older than the window or NaN.
  bool Add(double time_s, double value);

  /// The statistics of the window ending at `now_s` (or at the latest sample, if later).
  WindowStats Get(double now_s) const;
  /// The q-quantile (q in [0, 1]) of the window; NaN without histogram or samples.
  double Quantile(double now_s, double q) const;

  /// Forgets every sample.
  void Reset();

  const SlidingWindowConfig& config() const { return config_; }
  double bucket_s() const { return bucket_s_; }

 private:
  struct Bucket {
    int64_t id = std::numeric_limits<int64_t>::min();  // slot number: floor(time / bucket_s)
    uint64_t count = 0;
    double sum = 0.0;
    double min = 0.0;
    double max = 0.0;
  };

  int64_t BucketId(double time_s) const;
  // The newest slot id of the window ending at now_s.
  int64_t HeadId(double now_s) const;
  bool Live(const Bucket& b, int64_t head) const;

  SlidingWindowConfig config_;
  double bucket_s_;
  std::vector<Bucket> buckets_;
  std::vector<LogHistogram> histograms_;  // one per bucket, or empty
  bool any_ = false;                      // a sample was ever added (since Reset)
  int64_t newest_id_ = 0;                 // slot of the latest sample
  double first_time_s_ = 0.0;             // earliest sample: the window cannot cover before it
  double last_time_s_ = 0.0;              // latest sample
};

}  // namespace voxgate::analytics
