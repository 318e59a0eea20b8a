#include "analytics/sliding_window.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace voxgate::analytics {

Status SlidingWindowConfig::Validate() const {
  if (!(window_s > 0.0) || !std::isfinite(window_s)) {
    return InvalidArgumentError("sliding window: window_s must be > 0");
  }
  if (buckets < 1 || buckets > 10000) {
    return InvalidArgumentError("sliding window: buckets must be in [1, 10000]");
  }
  if (histogram_bins != 0 && (histogram_bins < 3 || histogram_bins > 4096)) {
    return InvalidArgumentError("sliding window: histogram_bins must be 0 or in [3, 4096]");
  }
  if (histogram_bins != 0 &&
      !(histogram_min > 0.0 && histogram_max > histogram_min && std::isfinite(histogram_max))) {
    return InvalidArgumentError("sliding window: need 0 < histogram_min < histogram_max");
  }
  return Status::Ok();
}

std::string SlidingWindowConfig::ToString() const {
  return fmt::format(
      "SlidingWindowConfig{{window_s={}, buckets={}, histogram_bins={}, histogram_min={}, "
      "histogram_max={}}}",
      window_s, buckets, histogram_bins, histogram_min, histogram_max);
}

namespace {

SlidingWindowConfig Sanitized(SlidingWindowConfig c) {
  if (!(c.window_s > 0.0) || !std::isfinite(c.window_s)) c.window_s = 10.0;
  c.buckets = std::clamp(c.buckets, 1, 10000);
  if (c.histogram_bins != 0) c.histogram_bins = std::clamp(c.histogram_bins, 3, 4096);
  if (!(c.histogram_min > 0.0 && c.histogram_max > c.histogram_min &&
        std::isfinite(c.histogram_max))) {
    c.histogram_min = 1e-4;
    c.histogram_max = 1e3;
  }
  return c;
}

}  // namespace

SlidingWindow::SlidingWindow(const SlidingWindowConfig& config)
    : config_(Sanitized(config)),
      bucket_s_(config_.window_s / config_.buckets),
      buckets_(static_cast<size_t>(config_.buckets)) {
  if (config_.histogram_bins > 0) {
    histograms_.assign(buckets_.size(), LogHistogram(config_.histogram_min, config_.histogram_max,
                                                     config_.histogram_bins));
  }
}

int64_t SlidingWindow::BucketId(double time_s) const {
  return static_cast<int64_t>(std::floor(time_s / bucket_s_));
}

int64_t SlidingWindow::HeadId(double now_s) const {
  // A `now` before the latest sample (a stale clock read on another thread) must not resurrect
  // or hide slots: the window then ends at the latest sample.
  if (!std::isfinite(now_s)) return newest_id_;
  return std::max(BucketId(now_s), newest_id_);
}

bool SlidingWindow::Live(const Bucket& b, int64_t head) const {
  return b.id <= head && b.id > head - static_cast<int64_t>(buckets_.size());
}

bool SlidingWindow::Add(double time_s, double value) {
  if (std::isnan(value) || !std::isfinite(time_s)) return false;
  const int64_t id = BucketId(time_s);
  const auto n = static_cast<int64_t>(buckets_.size());
  if (any_ && id <= newest_id_ - n) return false;  // already out of the window
  if (!any_) {
    any_ = true;
    newest_id_ = id;
    first_time_s_ = time_s;
    last_time_s_ = time_s;
  }
  newest_id_ = std::max(newest_id_, id);
  first_time_s_ = std::min(first_time_s_, time_s);
  last_time_s_ = std::max(last_time_s_, time_s);

  const auto slot = static_cast<size_t>(((id % n) + n) % n);
  Bucket& b = buckets_[slot];
  if (b.id != id) {
    // The slot still holds an expired bucket: reuse it.
    b = Bucket{.id = id, .count = 0, .sum = 0.0, .min = value, .max = value};
    if (!histograms_.empty()) histograms_[slot].Clear();
  }
  ++b.count;
  b.sum += value;
  b.min = std::min(b.min, value);
  b.max = std::max(b.max, value);
  if (!histograms_.empty()) histograms_[slot].Add(value);
  return true;
}

WindowStats SlidingWindow::Get(double now_s) const {
  WindowStats s;
  if (!any_) return s;
  const int64_t head = HeadId(now_s);
  bool first = true;
  for (const Bucket& b : buckets_) {
    if (!Live(b, head) || b.count == 0) continue;
    s.count += b.count;
    s.sum += b.sum;
    s.min = first ? b.min : std::min(s.min, b.min);
    s.max = first ? b.max : std::max(s.max, b.max);
    first = false;
  }
  if (s.count == 0) return s;
  s.mean = s.sum / static_cast<double>(s.count);

  // The window covers from the start of its oldest slot (or the first sample ever, if later) to
  // now; at least one slot, so a rate right after the first sample is not divided by ~0.
  const double end = std::isfinite(now_s) ? std::max(now_s, last_time_s_) : last_time_s_;
  const double start =
      std::max(static_cast<double>(head - static_cast<int64_t>(buckets_.size()) + 1) * bucket_s_,
               first_time_s_);
  s.span_s = std::max(end - start, bucket_s_);
  s.rate_per_s = static_cast<double>(s.count) / s.span_s;
  s.sum_per_s = s.sum / s.span_s;
  s.p95 = Quantile(now_s, 0.95);
  return s;
}

double SlidingWindow::Quantile(double now_s, double q) const {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  if (histograms_.empty() || !any_) return kNaN;
  const int64_t head = HeadId(now_s);
  uint64_t total = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    if (Live(buckets_[i], head)) total += buckets_[i].count;
  }
  if (total == 0) return kNaN;
  const auto rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(total))));
  // Walk the bins in value order, summing each bin over the live slots: a merged histogram
  // without a scratch copy.
  uint64_t below = 0;
  const int bins = histograms_.front().bins();
  for (int bin = 0; bin < bins; ++bin) {
    uint64_t in_bin = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      if (Live(buckets_[i], head)) in_bin += histograms_[i].bin_count(bin);
    }
    if (below + in_bin >= rank) {
      // Never report beyond what was seen (the outer bins report their edge).
      double min = 0.0, max = 0.0;
      bool first = true;
      for (const Bucket& b : buckets_) {
        if (!Live(b, head) || b.count == 0) continue;
        min = first ? b.min : std::min(min, b.min);
        max = first ? b.max : std::max(max, b.max);
        first = false;
      }
      return std::clamp(histograms_.front().ValueInBin(bin, rank - below, in_bin), min, max);
    }
    below += in_bin;
  }
  return kNaN;  // not reached: the bins hold every live sample
}

void SlidingWindow::Reset() {
  for (Bucket& b : buckets_) b = Bucket{};
  for (LogHistogram& h : histograms_) h.Clear();
  any_ = false;
  newest_id_ = 0;
  first_time_s_ = 0.0;
  last_time_s_ = 0.0;
}

}  // namespace voxgate::analytics
