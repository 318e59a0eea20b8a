#include "analytics/qos_tracker.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "analytics/e_model.h"

namespace voxgate::analytics {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Processing lag histograms: 0.1 ms .. 10 s in 128 log bins, about 5 % quantile resolution.
constexpr double kLagMinS = 1e-4;
constexpr double kLagMaxS = 10.0;
constexpr int kLagBins = 128;

SlidingWindowConfig WindowConfig(double window_s, int buckets, int histogram_bins = 0) {
  SlidingWindowConfig c;
  c.window_s = window_s;
  c.buckets = buckets;
  c.histogram_bins = histogram_bins;
  c.histogram_min = kLagMinS;
  c.histogram_max = kLagMaxS;
  return c;
}

double Pct(int64_t part, int64_t whole) {
  return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

nlohmann::json NumOrNull(double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; }
nlohmann::json MsOrNull(double s) { return NumOrNull(s * 1000.0); }

std::string WindowKey(double window_s) { return fmt::format("{}s", window_s); }

nlohmann::json SummaryJson(const QosSummary& s, bool totals) {
  nlohmann::json j = {
      {"packets_received", s.packets_received},
      {"packets_expected", s.packets_expected},
      {"packets_lost", s.packets_lost},
      {"loss_pct", s.loss_pct},
      {"late", s.late},
      {"jitter_ms", MsOrNull(s.jitter_s)},
      {"frames", s.frames},
      {"concealed_frames", s.concealed_frames},
      {"concealed_pct", s.concealed_pct},
      {"frames_dropped", s.frames_dropped},
      {"speech_ratio", NumOrNull(s.speech_ratio)},
      {"processing_lag_ms",
       {{"mean", MsOrNull(s.lag_mean_s)},
        {"max", MsOrNull(s.lag_max_s)},
        {"p95", MsOrNull(s.lag_p95_s)}}},
      {"bytes_in", s.bytes_in},
      {"one_way_delay_ms", s.one_way_delay_s * 1000.0},
      {"r_factor", s.r_factor},
      {"mos", s.mos},
  };
  if (totals) {
    j["duplicates"] = s.duplicates;
    j["reordered"] = s.reordered;
    j["rtt_ms"] = MsOrNull(s.rtt_s);
    j["audio_s"] = s.audio_s;
    j["duration_s"] = s.duration_s;
  } else {
    j["bitrate_kbps"] = NumOrNull(s.bitrate_bps / 1000.0);
  }
  return j;
}

}  // namespace

Status QosTrackerConfig::Validate() const {
  if (codec.empty()) return InvalidArgumentError("qos: codec must not be empty");
  if (clock_rate_hz < 1000 || clock_rate_hz > 192000) {
    return InvalidArgumentError("qos: clock_rate_hz must be in [1000, 192000]");
  }
  if (windows_s.empty() || windows_s.size() > 8) {
    return InvalidArgumentError("qos: windows_s must list 1 to 8 windows");
  }
  for (double w : windows_s) {
    if (!(w > 0.0) || !std::isfinite(w)) {
      return InvalidArgumentError("qos: every window must be > 0 seconds");
    }
  }
  if (buckets_per_window < 1 || buckets_per_window > 1000) {
    return InvalidArgumentError("qos: buckets_per_window must be in [1, 1000]");
  }
  return Status::Ok();
}

std::string QosTrackerConfig::ToString() const {
  return fmt::format(
      "QosTrackerConfig{{codec={}, clock_rate_hz={}, windows_s=[{}], buckets_per_window={}, "
      "plc={}}}",
      codec, clock_rate_hz, fmt::join(windows_s, ", "), buckets_per_window, plc);
}

QosTracker::Windows::Windows(double w, int buckets)
    : window_s(w),
      expected(WindowConfig(w, buckets)),
      received(WindowConfig(w, buckets)),
      jitter(WindowConfig(w, buckets)),
      late(WindowConfig(w, buckets)),
      audio(WindowConfig(w, buckets)),
      speech(WindowConfig(w, buckets)),
      concealed(WindowConfig(w, buckets)),
      lag(WindowConfig(w, buckets, kLagBins)),
      dropped(WindowConfig(w, buckets)),
      bytes(WindowConfig(w, buckets)) {}

QosTracker::QosTracker(QosTrackerConfig config, QosMetrics* metrics)
    : config_(std::move(config)),
      metrics_(metrics),
      rtp_(config_.clock_rate_hz),
      lag_hist_(kLagMinS, kLagMaxS, kLagBins) {
  const int buckets = std::clamp(config_.buckets_per_window, 1, 1000);
  for (double w : config_.windows_s) {
    if (w > 0.0 && std::isfinite(w)) windows_.emplace_back(w, buckets);
  }
}

double QosTracker::TimeOr(double now_s) const {
  return std::isfinite(now_s) ? now_s : latest_time_s_;
}

void QosTracker::Touch(double time_s) {
  if (!std::isfinite(time_s)) return;
  if (!seen_time_) {
    seen_time_ = true;
    first_time_s_ = time_s;
    latest_time_s_ = time_s;
    return;
  }
  first_time_s_ = std::min(first_time_s_, time_s);
  latest_time_s_ = std::max(latest_time_s_, time_s);
}

void QosTracker::Carry(const RtpStats::Counts& c) {
  carried_.received += c.received;
  carried_.expected += c.expected;
  carried_.duplicates += c.duplicates;
  carried_.reordered += c.reordered;
  // The old sequence's remaining gaps can no longer be filled: they are settled now.
  carried_.settled_lost +=
      std::max<int64_t>(c.expected - (c.received - c.duplicates), c.settled_lost);
}

RtpStats::Counts QosTracker::RtpTotals() const {
  RtpStats::Counts now = rtp_.counts();
  RtpStats::Counts t = carried_;
  t.received += now.received;
  t.expected += now.expected;
  t.duplicates += now.duplicates;
  t.reordered += now.reordered;
  t.settled_lost += now.settled_lost;
  return t;
}

void QosTracker::ExportSettledLoss() {
  if (metrics_ == nullptr) return;
  const int64_t settled = RtpTotals().settled_lost;
  if (settled > lost_exported_) {
    metrics_->packets_lost().Increment(static_cast<double>(settled - lost_exported_));
    lost_exported_ = settled;
  }
}

void QosTracker::OnRtpPacket(uint16_t seq, uint32_t rtp_timestamp, double arrival_s,
                             size_t payload_bytes) {
  std::lock_guard lock(mu_);
  Touch(arrival_s);
  const double t = TimeOr(arrival_s);
  bytes_in_ += static_cast<int64_t>(payload_bytes);
  for (Windows& w : windows_) w.bytes.Add(t, static_cast<double>(payload_bytes));
  if (metrics_ != nullptr) metrics_->bytes_in().Increment(static_cast<double>(payload_bytes));

  const RtpStats::Counts before = rtp_.counts();
  const RtpStats::Arrival arrival = rtp_.OnPacket(seq, rtp_timestamp, arrival_s);
  if (arrival == RtpStats::Arrival::kProbation || arrival == RtpStats::Arrival::kBadJump) return;
  // RtpStats started counting afresh; keep what the old sequence had for the totals.
  if (arrival == RtpStats::Arrival::kRestart) Carry(before);
  ++rtp_packets_;
  if (metrics_ != nullptr) metrics_->packets_received().Increment();

  // The windows get what this packet changed in the running totals.
  const RtpStats::Counts totals = RtpTotals();
  const int64_t unique = totals.received - totals.duplicates;
  const int64_t d_expected = totals.expected - last_expected_;
  const int64_t d_unique = unique - last_unique_;
  last_expected_ = totals.expected;
  last_unique_ = unique;
  const double jitter_s = rtp_.jitter_s();
  for (Windows& w : windows_) {
    if (d_expected > 0) w.expected.Add(t, static_cast<double>(d_expected));
    if (d_unique > 0) w.received.Add(t, static_cast<double>(d_unique));
    w.jitter.Add(t, jitter_s);
  }
  ExportSettledLoss();
}

void QosTracker::OnSsrcChange() {
  std::lock_guard lock(mu_);
  Carry(rtp_.counts());
  rtp_ = RtpStats(config_.clock_rate_hz);
  ExportSettledLoss();
}

std::optional<RtpStats::ReportBlock> QosTracker::MakeReportBlock() {
  std::lock_guard lock(mu_);
  if (!rtp_.valid()) return std::nullopt;
  return rtp_.MakeReportBlock();
}

void QosTracker::OnLatePacket(double now_s) {
  std::lock_guard lock(mu_);
  Touch(now_s);
  ++late_;
  if (seen_time_) {
    for (Windows& w : windows_) w.late.Add(TimeOr(now_s), 1.0);
  }
  if (metrics_ != nullptr) metrics_->packets_late().Increment();
}

void QosTracker::OnFrame(double now_s, double frame_s, bool concealed, bool speech,
                         double processing_lag_s) {
  std::lock_guard lock(mu_);
  Touch(now_s);
  const double t = TimeOr(now_s);
  frame_s = std::isfinite(frame_s) ? std::max(frame_s, 0.0) : 0.0;
  ++frames_;
  audio_s_ += frame_s;
  if (speech) speech_s_ += frame_s;
  if (concealed) ++concealed_;
  const bool has_lag = std::isfinite(processing_lag_s);
  if (has_lag) {
    processing_lag_s = std::max(processing_lag_s, 0.0);
    lag_sum_s_ += processing_lag_s;
    lag_max_s_ = std::max(lag_max_s_, processing_lag_s);
    lag_hist_.Add(processing_lag_s);
  }
  if (seen_time_) {
    for (Windows& w : windows_) {
      w.audio.Add(t, frame_s);
      w.speech.Add(t, speech ? frame_s : 0.0);
      w.concealed.Add(t, concealed ? 1.0 : 0.0);
      if (has_lag) w.lag.Add(t, processing_lag_s);
    }
  }
  if (metrics_ != nullptr) {
    metrics_->frames().Increment();
    if (concealed) metrics_->frames_concealed().Increment();
    if (has_lag) metrics_->processing_lag_s().Observe(processing_lag_s);
  }
}

void QosTracker::OnFrameDropped(double now_s) {
  std::lock_guard lock(mu_);
  Touch(now_s);
  ++dropped_;
  if (seen_time_) {
    for (Windows& w : windows_) w.dropped.Add(TimeOr(now_s), 1.0);
  }
  if (metrics_ != nullptr) metrics_->frames_dropped().Increment();
}

void QosTracker::OnRtt(double rtt_s) {
  if (!(rtt_s >= 0.0) || !std::isfinite(rtt_s)) return;
  std::lock_guard lock(mu_);
  rtt_s_ = rtt_s;
}

void QosTracker::OnJitterBufferDelay(double delay_s) {
  if (!(delay_s >= 0.0) || !std::isfinite(delay_s)) return;
  std::lock_guard lock(mu_);
  jb_delay_s_ = delay_s;
}

void QosTracker::OnBytesIn(size_t bytes, double now_s) {
  std::lock_guard lock(mu_);
  Touch(now_s);
  bytes_in_ += static_cast<int64_t>(bytes);
  if (seen_time_) {
    for (Windows& w : windows_) w.bytes.Add(TimeOr(now_s), static_cast<double>(bytes));
  }
  if (metrics_ != nullptr) metrics_->bytes_in().Increment(static_cast<double>(bytes));
}

double QosTracker::JitterBufferDelay(double jitter_s) const {
  if (jb_delay_s_) return *jb_delay_s_;
  return std::isfinite(jitter_s) ? 2.0 * jitter_s : 0.0;
}

void QosTracker::FillEModel(QosSummary* s) const {
  double delay_s = rtt_s_ ? *rtt_s_ / 2.0 : 0.0;
  delay_s += JitterBufferDelay(s->jitter_s);
  if (std::isfinite(s->lag_mean_s)) delay_s += s->lag_mean_s;
  s->one_way_delay_s = delay_s;
  EModelInput in;
  in.codec = config_.codec;
  in.packet_loss_pct = s->loss_pct;
  in.one_way_delay_ms = delay_s * 1000.0;
  in.plc = config_.plc;
  s->r_factor = RFactor(in);
  s->mos = MosFromR(s->r_factor);
}

QosSummary QosTracker::Totals(double now_s) const {
  std::lock_guard lock(mu_);
  return TotalsLocked(now_s);
}

QosSummary QosTracker::TotalsLocked(double now_s) const {
  QosSummary s;
  const RtpStats::Counts rtp = RtpTotals();
  s.packets_expected = rtp.expected;
  s.packets_received = rtp.received;
  s.packets_lost = std::max<int64_t>(0, rtp.expected - (rtp.received - rtp.duplicates));
  s.loss_pct = Pct(s.packets_lost, s.packets_expected);
  s.duplicates = rtp.duplicates;
  s.reordered = rtp.reordered;
  s.late = late_;
  if (rtp_packets_ > 0) s.jitter_s = rtp_.jitter_s();
  s.frames = frames_;
  s.concealed_frames = concealed_;
  s.concealed_pct = Pct(concealed_, frames_);
  s.frames_dropped = dropped_;
  s.audio_s = audio_s_;
  if (audio_s_ > 0.0) s.speech_ratio = speech_s_ / audio_s_;
  if (lag_hist_.count() > 0) {
    s.lag_mean_s = lag_sum_s_ / static_cast<double>(lag_hist_.count());
    s.lag_max_s = lag_max_s_;
    s.lag_p95_s = std::min(lag_hist_.Quantile(0.95), lag_max_s_);
  }
  s.bytes_in = bytes_in_;
  if (rtt_s_) s.rtt_s = *rtt_s_;
  if (seen_time_) s.duration_s = std::max(0.0, TimeOr(now_s) - first_time_s_);
  FillEModel(&s);
  return s;
}

QosSummary QosTracker::WindowLocked(size_t index, double now_s) const {
  QosSummary s;
  if (index >= windows_.size()) return s;
  const Windows& w = windows_[index];
  const double t = TimeOr(now_s);
  s.window_s = w.window_s;
  const WindowStats expected = w.expected.Get(t);
  const WindowStats received = w.received.Get(t);
  s.packets_expected = static_cast<int64_t>(expected.sum);
  s.packets_received = static_cast<int64_t>(received.sum);
  // A late packet can land in a later window than the gap it fills, so clamp.
  s.packets_lost = std::max<int64_t>(0, s.packets_expected - s.packets_received);
  s.loss_pct = Pct(s.packets_lost, s.packets_expected);
  s.late = static_cast<int64_t>(w.late.Get(t).count);
  const WindowStats jitter = w.jitter.Get(t);
  if (jitter.count > 0) s.jitter_s = jitter.mean;
  const WindowStats audio = w.audio.Get(t);
  const WindowStats concealed = w.concealed.Get(t);
  s.frames = static_cast<int64_t>(audio.count);
  s.concealed_frames = static_cast<int64_t>(concealed.sum);
  s.concealed_pct = Pct(s.concealed_frames, s.frames);
  s.frames_dropped = static_cast<int64_t>(w.dropped.Get(t).count);
  s.audio_s = audio.sum;
  if (audio.sum > 0.0) s.speech_ratio = w.speech.Get(t).sum / audio.sum;
  const WindowStats lag = w.lag.Get(t);
  if (lag.count > 0) {
    s.lag_mean_s = lag.mean;
    s.lag_max_s = lag.max;
    s.lag_p95_s = lag.p95;
  }
  const WindowStats bytes = w.bytes.Get(t);
  s.bytes_in = static_cast<int64_t>(bytes.sum);
  if (bytes.count > 0) s.bitrate_bps = bytes.sum_per_s * 8.0;
  if (rtt_s_) s.rtt_s = *rtt_s_;
  FillEModel(&s);
  return s;
}

QosSummary QosTracker::Window(size_t index, double now_s) const {
  std::lock_guard lock(mu_);
  return WindowLocked(index, now_s);
}

nlohmann::json QosTracker::Snapshot(double now_s) const {
  // One lock for all, so the totals and the windows describe the same moment.
  std::lock_guard lock(mu_);
  nlohmann::json windows = nlohmann::json::object();
  for (size_t i = 0; i < windows_.size(); ++i) {
    windows[WindowKey(windows_[i].window_s)] = SummaryJson(WindowLocked(i, now_s), false);
  }
  return {{"codec", config_.codec},
          {"totals", SummaryJson(TotalsLocked(now_s), true)},
          {"windows", std::move(windows)}};
}

void QosTracker::Finish(double now_s) {
  std::lock_guard lock(mu_);
  if (finished_) return;
  finished_ = true;
  if (metrics_ == nullptr) return;
  const QosSummary totals = TotalsLocked(now_s);
  // Gaps at the very end can no longer be filled: count them now.
  if (totals.packets_lost > lost_exported_) {
    metrics_->packets_lost().Increment(static_cast<double>(totals.packets_lost - lost_exported_));
    lost_exported_ = totals.packets_lost;
  }
  if (std::isfinite(totals.jitter_s)) metrics_->session_jitter_s().Observe(totals.jitter_s);
  if (rtp_packets_ > 0 || frames_ > 0) metrics_->session_mos().Observe(totals.mos);
}

}  // namespace voxgate::analytics
