#include "analytics/qos_metrics.h"

#include <vector>

namespace voxgate::analytics {
namespace {

std::shared_ptr<metrics::Registry> OrDefault(std::shared_ptr<metrics::Registry> r) {
  if (r) return r;
  return std::shared_ptr<metrics::Registry>(&metrics::Registry::Default(),
                                            [](metrics::Registry*) {});
}

metrics::Counter& CounterFor(metrics::Registry& r, const std::string& name, const std::string& help,
                             const std::string& kind) {
  return r.CounterFamily(name, help, {"kind"}).WithLabels({kind});
}

metrics::Histogram& HistogramFor(metrics::Registry& r, const std::string& name,
                                 const std::string& help, const std::vector<double>& bounds,
                                 const std::string& kind) {
  return r.HistogramFamily(name, help, {"kind"}, bounds).WithLabels({kind});
}

// Jitter and lag: 1 ms (good LAN) to seconds (a stalled pipeline).
std::vector<double> JitterBucketsS() {
  return {0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1};
}
std::vector<double> LagBucketsS() {
  return {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5};
}
// MOS: finer where calls actually sit (3.5 .. 4.5).
std::vector<double> MosBuckets() { return {1, 1.5, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.3, 4.4, 4.5}; }

}  // namespace

QosMetrics::QosMetrics(std::shared_ptr<metrics::Registry> registry, std::string kind)
    : registry_(OrDefault(std::move(registry))),
      kind_(std::move(kind)),
      packets_received_(CounterFor(*registry_, "voxgate_rtp_packets_received_total",
                                   "RTP packets received and counted (RFC 3550).", kind_)),
      packets_lost_(CounterFor(*registry_, "voxgate_rtp_packets_lost_total",
                               "RTP packets lost (never received, too old to arrive).", kind_)),
      packets_late_(CounterFor(*registry_, "voxgate_rtp_packets_late_total",
                               "RTP packets that arrived after their playout time.", kind_)),
      frames_(CounterFor(*registry_, "voxgate_audio_frames_total",
                         "Audio frames out of the session pipeline.", kind_)),
      frames_concealed_(CounterFor(*registry_, "voxgate_audio_frames_concealed_total",
                                   "Audio frames synthesized by packet loss concealment.", kind_)),
      frames_dropped_(CounterFor(*registry_, "voxgate_audio_frames_dropped_total",
                                 "Audio frames dropped because processing fell behind.", kind_)),
      bytes_in_(CounterFor(*registry_, "voxgate_session_bytes_in_total",
                           "Media payload bytes received by live sessions.", kind_)),
      processing_lag_s_(HistogramFor(*registry_, "voxgate_session_processing_lag_seconds",
                                     "Per frame: how far processing lags behind real time.",
                                     LagBucketsS(), kind_)),
      session_jitter_s_(HistogramFor(*registry_, "voxgate_session_jitter_seconds",
                                     "Per ended session: RFC 3550 interarrival jitter.",
                                     JitterBucketsS(), kind_)),
      session_mos_(HistogramFor(*registry_, "voxgate_session_mos",
                                "Per ended session: E-model MOS estimate.", MosBuckets(), kind_)) {}

}  // namespace voxgate::analytics
