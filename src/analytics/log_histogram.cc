#include "analytics/log_histogram.h"

#include <algorithm>
#include <cmath>

namespace voxgate::analytics {

LogHistogram::LogHistogram(double min, double max, int bins) {
  if (!(min > 0.0 && max > min && std::isfinite(max))) {
    min = 1e-4;
    max = 1e3;
  }
  min_ = min;
  max_ = max;
  counts_.assign(static_cast<size_t>(std::max(bins, 3)), 0);
  log_min_ = std::log(min_);
  log_step_ = (std::log(max_) - log_min_) / static_cast<double>(counts_.size() - 2);
}

int LogHistogram::BinOf(double value) const {
  const int last = bins() - 1;
  if (!(value > min_)) return 0;
  if (value > max_) return last;
  // Bins 1..last-1 split (min, max] evenly in log space.
  const int inner = 1 + static_cast<int>((std::log(value) - log_min_) / log_step_);
  return std::clamp(inner, 1, last - 1);
}

void LogHistogram::Add(double value) {
  if (std::isnan(value)) return;
  ++counts_[BinOf(value)];
  ++count_;
}

void LogHistogram::Clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
}

double LogHistogram::ValueInBin(int bin, uint64_t rank, uint64_t in_bin) const {
  // The outer bins are unbounded on one side: report their finite edge.
  if (bin <= 0) return min_;
  if (bin >= bins() - 1) return max_;
  const double lo = log_min_ + log_step_ * (bin - 1);
  const double fraction = (static_cast<double>(rank) - 0.5) / static_cast<double>(in_bin);
  return std::exp(lo + log_step_ * std::clamp(fraction, 0.0, 1.0));
}

double LogHistogram::Quantile(double q) const {
  if (count_ == 0) return 0.0;
  // Nearest rank: the smallest value with at least q * count values at or below it.
  const auto rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_))));
  uint64_t below = 0;
  for (int b = 0; b < bins(); ++b) {
    if (below + counts_[b] >= rank) return ValueInBin(b, rank - below, counts_[b]);
    below += counts_[b];
  }
  return max_;
}

}  // namespace voxgate::analytics
