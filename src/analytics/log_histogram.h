// LogHistogram: counts of values in fixed, logarithmically spaced bins, for quantiles (p50, p95)
// of latency-like values without keeping the samples. Relative error of a quantile is at most half
// a bin's width ratio: with 128 bins over [1e-4, 10] about 5 %. Values at or below `min` share the
// first bin, values above `max` the last one, so quantiles saturate there.
//
// Memory is allocated once, at construction; Add and Quantile never allocate. Not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace voxgate::analytics {

class LogHistogram {
 public:
  /// `bins` >= 3 (smaller values are raised to 3), 0 < min < max (else 1e-4 and 1e3).
  LogHistogram(double min, double max, int bins);

  /// NaN is ignored.
  void Add(double value);
  void Clear();

  uint64_t count() const { return count_; }
  int bins() const { return static_cast<int>(counts_.size()); }
  uint64_t bin_count(int bin) const { return counts_[bin]; }
  /// The bin a value falls in.
  int BinOf(double value) const;

  /// The q-quantile (q in [0, 1]), interpolated geometrically inside its bin; 0 when empty.
  double Quantile(double q) const;

  /// The value of the `rank`-th (1-based) of `in_bin` values in `bin`, spreading them evenly (on
  /// a log scale) over the bin. Lets a caller take a quantile over several histograms with the
  /// same layout without merging them.
  double ValueInBin(int bin, uint64_t rank, uint64_t in_bin) const;

 private:
  double min_;
  double max_;
  double log_min_;
  double log_step_;  // natural-log width of one inner bin
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
};

}  // namespace voxgate::analytics
