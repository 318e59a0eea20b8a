// CallMedia: the media of one answered call, without sockets or threads: received RTP datagrams go
// in (OnRtp / OnRtcp), decoded 16-bit-clean frames come out once per packet time (Playout), and
// outgoing RTP and RTCP packets are written on demand (WriteRtp / MakeRtcpReport). The call
// manager owns the sockets and the clock and drives one CallMedia per call; tests drive it with
// hand-made datagrams.
//
// Receive path, per datagram:
//   - RTCP (on the RTCP port, or multiplexed on the RTP port per RFC 5761) -> round-trip time from
//     report blocks about our stream, LSR/DLSR bookkeeping for our own reports;
//   - RTP that does not parse -> dropped, counted `malformed`;
//   - a second SSRC while the current one is alive -> dropped, counted `wrong_ssrc`. The source
//     switches (RFC 3550 8.2 style) only after the current SSRC has been silent for
//     ssrc_switch_silence_s, e.g. after a transfer or a re-INVITE to another media server;
//   - telephone-event payloads -> DtmfDetector (digits are returned to the caller);
//   - the audio payload type and comfort noise (PT 13) -> jitter buffer;
//   - any other payload type -> dropped, counted `unknown_payload_type`.
// Every packet of the current source is also reported to the session's QosTracker (loss, jitter),
// and late packets from the jitter buffer are reported as late.
//
// Playout, once per packet time (ptime): the jitter buffer hands out the payload due now, which is
// decoded, or reports the slot missing, which is concealed (G.711 Appendix I style or Opus PLC) and
// marked concealed; comfort-noise payloads become comfort noise. After max_conceal_ms of missing
// audio in a row nothing more is played until packets come back (a silent or departed sender is
// not "concealed" for minutes). Frames are stamped with a sample clock that counts every frame
// played, concealed or not.
//
// Send path: WriteRtp() encodes one 20 ms frame (a prompt) or writes a telephone-event packet
// while a key press is sent; SkipFrame() advances the clock without sending (silence
// suppression). MakeRtcpReport() builds an SR (after we have sent) or an RR, with a report block
// on the received source, and optionally a BYE.
//
// Not thread-safe: one per call, used from the call manager's I/O thread. OnRtp(), Playout() and
// WriteRtp() do not allocate; RTCP (every few seconds) does.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "analytics/qos_tracker.h"
#include "audio/audio_frame.h"
#include "common/config_node.h"
#include "common/result.h"
#include "telephony/call_handler.h"
#include "telephony/dtmf_detector.h"
#include "telephony/jitter_buffer.h"
#include "telephony/payload_decoder.h"
#include "telephony/rtcp_packet.h"
#include "telephony/rtp_packetizer.h"

namespace voxgate::telephony {

struct CallMediaConfig {
  JitterBufferConfig jitter_buffer;    // frame_ms is replaced by the call's ptime
  int opus_bitrate_bps = 24000;        // what we send with Opus, bit/s
  double ssrc_switch_silence_s = 1.0;  // a new SSRC is taken once the current one is this quiet
  // Concealment stops after this much missing audio in a row: the sender is silent (silence
  // suppression, hold) or gone, and no frames are played until its packets return.
  int max_conceal_ms = 200;

  Status Validate() const;
  std::string ToString() const;
  /// Keys: jitter_buffer.*, opus_bitrate_bps, ssrc_switch_silence_s, max_conceal_ms.
  Status Load(const ConfigNode& node);
};

class CallMedia {
 public:
  struct Counters {
    int64_t rtp_packets = 0;           // RTP datagrams of the current source that were used
    int64_t malformed = 0;             // datagrams that are neither valid RTP nor valid RTCP
    int64_t wrong_ssrc = 0;            // packets of a second source, dropped
    int64_t unknown_payload_type = 0;  // payload types not negotiated, dropped
    int64_t ssrc_changes = 0;          // source switches after silence
    int64_t rtcp_packets = 0;          // valid RTCP compounds received
    int64_t dtmf_digits = 0;           // key presses detected
    int64_t frames_played = 0;         // frames out of Playout(), decoded
    int64_t frames_concealed = 0;      // frames out of Playout(), concealed or comfort noise
    int64_t decode_errors = 0;         // payloads the decoder refused (concealed instead)
    int64_t rtp_sent = 0;              // packets written by WriteRtp()
  };

  /// `media`: what SIP negotiated. `qos`: the session's tracker (must outlive this; may be null).
  /// `output_rate_hz`: rate of the played frames (G.711: 8000; Opus: any Opus rate, 16000 feeds
  /// the pipeline without resampling). `send_rate_hz`: rate of the PCM given to WriteRtp() (the
  /// same rules). kInvalidArgument / kUnsupported for a ptime the jitter buffer cannot play.
  static Result<std::unique_ptr<CallMedia>> Create(const NegotiatedMedia& media,
                                                   const CallMediaConfig& config,
                                                   analytics::QosTracker* qos, int output_rate_hz,
                                                   int send_rate_hz, std::string cname);
  ~CallMedia();
  CallMedia(const CallMedia&) = delete;
  CallMedia& operator=(const CallMedia&) = delete;

  /// One datagram from the RTP port at monotonic time `now_s`. Returns the key presses it
  /// completed (RFC 4733), if any.
  DtmfDetector::Digits OnRtp(std::span<const uint8_t> datagram, double now_s);
  /// One datagram from the RTCP port. False when it is not valid RTCP (counted malformed).
  bool OnRtcp(std::span<const uint8_t> datagram, double now_s);

  /// Once per ptime: fills `frame` with the next ptime of audio at output_rate_hz and returns
  /// true, or returns false while playout has not started (no packet yet, or still buffering).
  bool Playout(audio::AudioFrame* frame);

  /// One 20 ms send tick: `pcm` must hold send_frame_samples() samples. Writes an RTP packet to
  /// `out` (RtpPacketizer::kMaxPacketBytes suffice) and returns its size.
  Result<size_t> WriteRtp(std::span<const float> pcm, std::span<uint8_t> out);
  /// A send tick with nothing sent (silence suppression).
  void SkipFrame();
  /// Sends `key` as RFC 4733 events from the next send ticks (see RtpPacketizer::StartDtmf).
  Status StartDtmf(char key, int duration_ms = 160);

  /// SR (once we have sent RTP) or RR, with a report block about the received source when there
  /// is one, and SDES CNAME; with `bye` a BYE for our SSRC is appended. `now_s`: monotonic
  /// time, for the delay since the remote's last SR (DLSR).
  std::vector<uint8_t> MakeRtcpReport(double now_s, bool bye);

  /// A key press whose end packets never came (stream moved on, or the call ended).
  std::optional<DtmfDigit> FlushDtmf();

  const Counters& counters() const { return counters_; }
  const JitterBuffer& jitter_buffer() const { return *jitter_buffer_; }
  /// Monotonic time of the last RTP packet of the current source (NaN: none yet).
  double last_rtp_s() const { return last_rtp_s_; }
  int ptime_ms() const { return ptime_ms_; }
  int output_rate_hz() const { return decoder_->output_rate_hz(); }
  /// Samples per Playout() frame at output_rate_hz.
  int playout_samples() const { return output_rate_hz() * ptime_ms_ / 1000; }
  int send_frame_samples() const { return packetizer_->frame_samples(); }
  uint32_t ssrc() const { return packetizer_->ssrc(); }
  /// The remote's SSRC; nullopt before its first packet.
  std::optional<uint32_t> remote_ssrc() const { return remote_ssrc_; }
  const NegotiatedMedia& media() const { return media_; }

 private:
  CallMedia(const NegotiatedMedia& media, const CallMediaConfig& config, analytics::QosTracker* qos,
            std::string cname);
  // True when the packet belongs to the current source (switching sources when allowed).
  bool AcceptSource(uint32_t ssrc, double now_s);

  NegotiatedMedia media_;
  CallMediaConfig config_;
  analytics::QosTracker* qos_;
  std::string cname_;
  int ptime_ms_ = 20;
  std::unique_ptr<JitterBuffer> jitter_buffer_;
  std::unique_ptr<PayloadDecoder> decoder_;
  std::unique_ptr<RtpPacketizer> packetizer_;
  DtmfDetector dtmf_;
  std::vector<uint8_t> staging_;  // [payload type][payload] into the jitter buffer
  std::vector<uint8_t> playout_;  // out of the jitter buffer
  std::vector<float> decoded_;    // one whole decoded payload, before the cut to ptime
  Counters counters_;
  int64_t clock_ = 0;   // samples played so far, at output_rate_hz
  int missing_ms_ = 0;  // missing audio in a row
  std::optional<uint32_t> remote_ssrc_;
  double last_rtp_s_;
  // RTCP: the last SR from the remote (for LSR/DLSR in our reports).
  uint32_t last_sr_middle32_ = 0;
  double last_sr_arrival_s_ = 0;
};

}  // namespace voxgate::telephony
