// QosTracker: the quality of service of one live session (a SIP call or a WebSocket stream): RTP
// reception (loss, jitter, duplicates, reordering, late packets), the pipeline's output (frames,
// concealment, speech, processing lag, frames dropped for lack of CPU), RTT, bytes in, and an
// E-model MOS, as totals since the start and over sliding windows (default 1 s, 10 s, 60 s).
//
// Times are monotonic seconds passed in by the caller, so the tracker never reads a clock. Inputs
// without a time (late packets, drops, bytes) are placed at the latest time the tracker has seen.
//
// Loss here is expected - unique packets received: a duplicate does not make up for a lost packet
// (RFC 3550's cumulative loss, which subtracts duplicates, is what RtpStats reports in RTCP).
//
// MOS: ITU-T G.107 E-model with the loss of the period and a one-way delay estimate of
// RTT / 2 (network; 0 while no RTT is known) + jitter-buffer delay (as reported, else twice the
// jitter, a typical adaptive-buffer target) + mean processing lag. Loss is taken as random
// (BurstR = 1).
//
// Thread-safe: updates come from the I/O thread (packets) and a media worker (frames), snapshots
// from API threads. One mutex guards everything; at 50-100 updates per second per session it is
// uncontended in practice, and the update paths do not allocate (windows are preallocated).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "analytics/log_histogram.h"
#include "analytics/qos_metrics.h"
#include "analytics/rtp_stats.h"
#include "analytics/sliding_window.h"
#include "common/status.h"

namespace voxgate::analytics {

struct QosTrackerConfig {
  std::string codec = "PCMU";                   // payload codec, for the E-model (PCMU, opus, ...)
  int clock_rate_hz = 8000;                     // RTP timestamp clock of the payload
  std::vector<double> windows_s = {1, 10, 60};  // sliding windows, seconds (1..8, each > 0)
  int buckets_per_window = 10;                  // expiry granularity: window / buckets
  bool plc = true;                              // the pipeline conceals lost packets (E-model)

  Status Validate() const;
  std::string ToString() const;
};

/// Quality over one period (the whole session, or a sliding window). Unknown values are NaN.
struct QosSummary {
  double window_s = 0.0;  // 0 for the totals
  // RTP.
  int64_t packets_expected = 0;
  int64_t packets_received = 0;  // includes duplicates (RFC 3550)
  int64_t packets_lost = 0;      // expected - unique received, >= 0
  double loss_pct = 0.0;
  int64_t duplicates = 0;  // totals only
  int64_t reordered = 0;   // totals only
  int64_t late = 0;
  double jitter_s = std::numeric_limits<double>::quiet_NaN();  // NaN: no RTP
  // Pipeline.
  int64_t frames = 0;
  int64_t concealed_frames = 0;
  double concealed_pct = 0.0;
  int64_t frames_dropped = 0;
  double audio_s = 0.0;  // audio out of the pipeline, seconds
  double speech_ratio = std::numeric_limits<double>::quiet_NaN();  // speech / audio time
  double lag_mean_s = std::numeric_limits<double>::quiet_NaN();    // NaN: no frames
  double lag_max_s = std::numeric_limits<double>::quiet_NaN();
  double lag_p95_s = std::numeric_limits<double>::quiet_NaN();
  // Transport.
  int64_t bytes_in = 0;
  double bitrate_bps = std::numeric_limits<double>::quiet_NaN();  // windows only
  double rtt_s = std::numeric_limits<double>::quiet_NaN();        // latest; NaN: unknown
  double duration_s = 0.0;                                        // totals only
  // E-model.
  double one_way_delay_s = 0.0;
  double r_factor = 0.0;
  double mos = 0.0;
};

class QosTracker {
 public:
  /// `metrics`: shared counters and histograms of this session kind (may be null); must outlive
  /// the tracker. An invalid config is used as far as it goes (windows <= 0 are skipped).
  explicit QosTracker(QosTrackerConfig config, QosMetrics* metrics = nullptr);
  QosTracker(const QosTracker&) = delete;
  QosTracker& operator=(const QosTracker&) = delete;

  /// One RTP packet of the current source. `arrival_s`: monotonic receive time.
  void OnRtpPacket(uint16_t seq, uint32_t rtp_timestamp, double arrival_s, size_t payload_bytes);
  /// The sender changed SSRC: statistics restart for the new source, totals carry on.
  void OnSsrcChange();
  /// RFC 3550 reception report fields for the current source, for an RTCP SR/RR; starts a new
  /// fraction-lost interval. nullopt while the source is not validated (no packets yet).
  std::optional<RtpStats::ReportBlock> MakeReportBlock();
  /// A packet arrived after its playout slot (counted by the jitter buffer). `now_s` NaN: the
  /// latest time seen.
  void OnLatePacket(double now_s = kLatest);
  /// One frame out of the pipeline at `now_s`: `frame_s` long, synthesized by PLC or not, speech
  /// or not (VAD), `processing_lag_s` behind real time.
  void OnFrame(double now_s, double frame_s, bool concealed, bool speech, double processing_lag_s);
  /// A frame dropped because processing fell behind (queue overflow).
  void OnFrameDropped(double now_s = kLatest);
  /// A round-trip time measured from RTCP, seconds.
  void OnRtt(double rtt_s);
  /// The jitter buffer's current playout delay, seconds (replaces the 2 x jitter estimate).
  void OnJitterBufferDelay(double delay_s);
  /// Media bytes received by a session without RTP (WebSocket); RTP payloads count by themselves.
  void OnBytesIn(size_t bytes, double now_s = kLatest);

  /// Ends the session for the metrics: observes the per-session jitter and MOS histograms and
  /// counts losses not yet counted. Idempotent; the tracker still answers snapshots.
  void Finish(double now_s);

  QosSummary Totals(double now_s) const;
  /// Window `index` of config.windows_s (in the order given); an empty summary when
  /// index >= windows().
  QosSummary Window(size_t index, double now_s) const;
  size_t windows() const { return windows_.size(); }
  /// {"codec", "totals": {...}, "windows": {"1s": {...}, "10s": ..., "60s": ...}}; times in ms,
  /// unknown values null.
  nlohmann::json Snapshot(double now_s) const;

  const QosTrackerConfig& config() const { return config_; }

  static constexpr double kLatest = std::numeric_limits<double>::quiet_NaN();

 private:
  struct Windows {
    explicit Windows(double window_s, int buckets);
    double window_s;
    SlidingWindow expected;   // per packet: newly expected sequence numbers
    SlidingWindow received;   // per packet: newly received unique packets
    SlidingWindow jitter;     // per packet: the jitter estimate, seconds
    SlidingWindow late;       // 1 per late packet
    SlidingWindow audio;      // per frame: its length, seconds
    SlidingWindow speech;     // per frame: its length if speech, else 0
    SlidingWindow concealed;  // per frame: 1 if concealed, else 0
    SlidingWindow lag;        // per frame: processing lag, seconds (with p95)
    SlidingWindow dropped;    // 1 per dropped frame
    SlidingWindow bytes;      // bytes received
  };

  // Helpers below expect mu_ held.
  double TimeOr(double now_s) const;
  void Touch(double time_s);
  RtpStats::Counts RtpTotals() const;
  // Adds the counts of a source that ended (SSRC change) or restarted to carried_.
  void Carry(const RtpStats::Counts& c);
  // Loss is exported to the counter only once settled (see RtpStats::settled_lost).
  void ExportSettledLoss();
  double JitterBufferDelay(double jitter_s) const;
  void FillEModel(QosSummary* s) const;
  QosSummary TotalsLocked(double now_s) const;
  QosSummary WindowLocked(size_t index, double now_s) const;

  const QosTrackerConfig config_;
  QosMetrics* const metrics_;

  mutable std::mutex mu_;
  RtpStats rtp_;                      // GUARDED_BY(mu_): current source
  RtpStats::Counts carried_;          // GUARDED_BY(mu_): previous sources and restarts
  int64_t rtp_packets_ = 0;           // GUARDED_BY(mu_): packets counted by any source
  int64_t last_expected_ = 0;         // GUARDED_BY(mu_): totals already put into the windows
  int64_t last_unique_ = 0;           // GUARDED_BY(mu_)
  int64_t lost_exported_ = 0;         // GUARDED_BY(mu_): added to packets_lost so far
  int64_t late_ = 0;                  // GUARDED_BY(mu_)
  int64_t frames_ = 0;                // GUARDED_BY(mu_)
  int64_t concealed_ = 0;             // GUARDED_BY(mu_)
  int64_t dropped_ = 0;               // GUARDED_BY(mu_)
  int64_t bytes_in_ = 0;              // GUARDED_BY(mu_)
  double audio_s_ = 0.0;              // GUARDED_BY(mu_)
  double speech_s_ = 0.0;             // GUARDED_BY(mu_)
  double lag_sum_s_ = 0.0;            // GUARDED_BY(mu_)
  double lag_max_s_ = 0.0;            // GUARDED_BY(mu_)
  LogHistogram lag_hist_;             // GUARDED_BY(mu_): whole-session p95
  std::optional<double> rtt_s_;       // GUARDED_BY(mu_)
  std::optional<double> jb_delay_s_;  // GUARDED_BY(mu_)
  bool seen_time_ = false;            // GUARDED_BY(mu_)
  double first_time_s_ = 0.0;         // GUARDED_BY(mu_)
  double latest_time_s_ = 0.0;        // GUARDED_BY(mu_)
  bool finished_ = false;             // GUARDED_BY(mu_)
  std::vector<Windows> windows_;      // GUARDED_BY(mu_) (the vector itself is fixed)
};

}  // namespace voxgate::analytics
