// QosMetrics: the Prometheus view of live-session quality, for one kind of session ("sip",
// "websocket"), shared by every QosTracker of that kind. Counters move as media flows; the
// per-session histograms (jitter, MOS) take one observation when a session finishes, so they show
// the distribution over sessions rather than over packets.
//
//   voxgate_rtp_packets_received_total{kind}      RTP packets counted (RFC 3550 "received")
//   voxgate_rtp_packets_lost_total{kind}          RTP packets lost for good
//   voxgate_rtp_packets_late_total{kind}          packets that missed their playout slot
//   voxgate_audio_frames_total{kind}              frames out of the pipeline
//   voxgate_audio_frames_concealed_total{kind}    of which concealed (PLC)
//   voxgate_audio_frames_dropped_total{kind}      frames dropped for lack of CPU (queue overflow)
//   voxgate_session_bytes_in_total{kind}          media payload bytes received
//   voxgate_session_processing_lag_seconds{kind}  per frame: pipeline lag behind real time
//   voxgate_session_jitter_seconds{kind}          per session: final RFC 3550 jitter
//   voxgate_session_mos{kind}                     per session: E-model MOS over the whole session
//
// Thread-safe: the metric children are lock-free and looked up once, here.
#pragma once

#include <memory>
#include <string>

#include "metrics/registry.h"

namespace voxgate::analytics {

class QosMetrics {
 public:
  /// `registry`: where the families live (null: metrics::Registry::Default()). `kind`: the label.
  QosMetrics(std::shared_ptr<metrics::Registry> registry, std::string kind);
  QosMetrics(const QosMetrics&) = delete;
  QosMetrics& operator=(const QosMetrics&) = delete;

  const std::string& kind() const { return kind_; }

  metrics::Counter& packets_received() { return packets_received_; }
  metrics::Counter& packets_lost() { return packets_lost_; }
  metrics::Counter& packets_late() { return packets_late_; }
  metrics::Counter& frames() { return frames_; }
  metrics::Counter& frames_concealed() { return frames_concealed_; }
  metrics::Counter& frames_dropped() { return frames_dropped_; }
  metrics::Counter& bytes_in() { return bytes_in_; }
  metrics::Histogram& processing_lag_s() { return processing_lag_s_; }
  metrics::Histogram& session_jitter_s() { return session_jitter_s_; }
  metrics::Histogram& session_mos() { return session_mos_; }

 private:
  std::shared_ptr<metrics::Registry> registry_;
  std::string kind_;
  metrics::Counter& packets_received_;
  metrics::Counter& packets_lost_;
  metrics::Counter& packets_late_;
  metrics::Counter& frames_;
  metrics::Counter& frames_concealed_;
  metrics::Counter& frames_dropped_;
  metrics::Counter& bytes_in_;
  metrics::Histogram& processing_lag_s_;
  metrics::Histogram& session_jitter_s_;
  metrics::Histogram& session_mos_;
};

}  // namespace voxgate::analytics
