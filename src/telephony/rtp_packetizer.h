// RtpPacketizer: the sending half of a call's media. Each 20 ms tick it encodes one frame and
// writes it as an RTP packet (RFC 3550) with the codec's clock (G.711 8 kHz; Opus 48 kHz whatever
// the encoder's input rate), or, while a key press is being sent, an RFC 4733 telephone-event
// packet in its place. It keeps the sender counters an RTCP SR reports.
//
// RFC 3550 5.1: SSRC, first sequence number and first timestamp are random. The marker bit is
// set on the first packet of each talkspurt: the first packet, the first after SkipFrame()
// (silence suppression) and the first audio packet after a key press. A key press is a start
// packet (marker, duration 0), one update per 20 ms with the duration so far, and three end
// packets (E bit, final duration) on the following ticks, all with the event's timestamp and
// their own sequence numbers; the RTP clock keeps running under it, so audio resumes in time.
// Event durations use the codec's RTP clock (telephone-event/8000 with G.711, /48000 with Opus).
//
// Not thread-safe: one per call, driven by the call's send tick. WriteFrame() does not allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/result.h"
#include "telephony/call_handler.h"
#include "telephony/payload_encoder.h"
#include "telephony/rtcp_packet.h"
#include "telephony/rtp_packet.h"

namespace voxgate::telephony {

struct RtpPacketizerConfig {
  CodecSpec codec;               // payload type, codec and RTP clock to send
  int input_rate_hz = 8000;      // rate of the PCM given to WriteFrame (G.711: 8000)
  int opus_bitrate_bps = 24000;  // Opus only
  int telephone_event_pt = -1;   // RFC 4733 payload type (96..127); -1: no DTMF
  int dtmf_volume_dbm0 = 10;     // event power level, -dBm0 (0..63)
  int64_t ssrc = -1;             // 0..2^32-1 to fix the SSRC (tests, test tools); -1: random
  uint64_t random_seed = 0;      // seeds SSRC/sequence/timestamp; 0: from std::random_device

  Status Validate() const;
  std::string ToString() const;
};

class RtpPacketizer {
 public:
  /// Room that always suffices for one packet.
  static constexpr size_t kMaxPacketBytes = kRtpHeaderBytes + PayloadEncoder::kMaxPayloadBytes;
  static constexpr int kDtmfEndPackets = 3;

  static Result<std::unique_ptr<RtpPacketizer>> Create(const RtpPacketizerConfig& config);

  /// One 20 ms tick: encodes `frame` (frame_samples() samples at input_rate_hz) and writes the
  /// packet to `out` (kMaxPacketBytes suffice), or writes the current telephone-event packet
  /// instead while a key press is in progress (the frame is then not used). Returns the packet
  /// size. kInvalidArgument on a wrong frame length or a too small `out` (nothing is counted).
  Result<size_t> WriteFrame(std::span<const float> frame, std::span<uint8_t> out);

  /// A tick with nothing sent (silence suppression): the RTP clock advances one frame and the
  /// next audio packet starts a talkspurt. Ignored while a key press is being sent.
  void SkipFrame();

  /// Starts sending `key` ('0'-'9', '*', '#', 'A'-'D') from the next tick, for duration_ms
  /// (40 ms or more, and short enough for the 16-bit duration field: 8.19 s at 8 kHz, 1.36 s at
  /// 48 kHz). kUnsupported without a telephone-event payload type; kUnavailable while another
  /// key press is being sent; kInvalidArgument for a bad key or duration.
  Status StartDtmf(char key, int duration_ms = 160);
  /// True from StartDtmf() until the last end packet has been written.
  bool dtmf_active() const { return dtmf_active_; }

  uint32_t ssrc() const { return ssrc_; }
  /// Sequence number and RTP timestamp of the next tick.
  uint16_t next_sequence() const { return sequence_; }
  uint32_t next_timestamp() const { return timestamp_; }
  int frame_samples() const { return encoder_->frame_samples(); }
  uint32_t timestamp_increment() const { return increment_; }
  /// RFC 3550 sender counters (wrapping): packets sent and their payload octets.
  uint32_t packets_sent() const { return packets_; }
  uint32_t octets_sent() const { return octets_; }
  /// Sender info for an SR sent at `ntp`, taken to be the time of the next tick.
  SenderInfo MakeSenderInfo(NtpTime ntp) const;
  const RtpPacketizerConfig& config() const { return config_; }

 private:
  RtpPacketizer(const RtpPacketizerConfig& config, std::unique_ptr<PayloadEncoder> encoder);
  size_t WriteDtmfPacket(std::span<uint8_t> out);

  RtpPacketizerConfig config_;
  std::unique_ptr<PayloadEncoder> encoder_;
  uint32_t ssrc_ = 0;
  uint16_t sequence_ = 0;
  uint32_t timestamp_ = 0;
  uint32_t increment_ = 160;
  bool marker_ = true;
  uint32_t packets_ = 0;
  uint32_t octets_ = 0;

  bool dtmf_active_ = false;
  uint8_t dtmf_event_ = 0;
  uint32_t dtmf_timestamp_ = 0;
  uint32_t dtmf_duration_ = 0;  // total, RTP units
  uint32_t dtmf_packets_ = 0;   // event packets written so far
  int dtmf_ends_sent_ = 0;
};

}  // namespace voxgate::telephony
