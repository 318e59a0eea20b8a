#include "telephony/rtp_packetizer.h"

#include <array>
#include <random>
#include <sstream>

#include "telephony/dtmf_event.h"

namespace voxgate::telephony {

Status RtpPacketizerConfig::Validate() const {
  if (codec.payload_type < 0 || codec.payload_type > 127) {
    return InvalidArgumentError("packetizer codec payload_type must be 0..127, got " +
                                std::to_string(codec.payload_type));
  }
  if (telephone_event_pt != -1 && (telephone_event_pt < 0 || telephone_event_pt > 127 ||
                                   telephone_event_pt == codec.payload_type)) {
    return InvalidArgumentError(
        "packetizer telephone_event_pt must be -1 or 0..127 and differ from the codec's, got " +
        std::to_string(telephone_event_pt));
  }
  if (dtmf_volume_dbm0 < 0 || dtmf_volume_dbm0 > 63) {
    return InvalidArgumentError("packetizer dtmf_volume_dbm0 must be 0..63, got " +
                                std::to_string(dtmf_volume_dbm0));
  }
  if (ssrc < -1 || ssrc > 0xFFFFFFFFll) {
    return InvalidArgumentError("packetizer ssrc must be -1 or 0..4294967295, got " +
                                std::to_string(ssrc));
  }
  return Status::Ok();  // codec/rate combinations are checked by PayloadEncoder::Create
}

std::string RtpPacketizerConfig::ToString() const {
  std::ostringstream os;
  os << "RtpPacketizerConfig(codec=" << CodecName(codec.codec) << "/" << codec.clock_rate_hz
     << " pt " << codec.payload_type << ", input_rate_hz=" << input_rate_hz
     << ", opus_bitrate_bps=" << opus_bitrate_bps << ", telephone_event_pt=" << telephone_event_pt
     << ", dtmf_volume_dbm0=" << dtmf_volume_dbm0 << ", ssrc=" << ssrc
     << ", random_seed=" << random_seed << ")";
  return os.str();
}

Result<std::unique_ptr<RtpPacketizer>> RtpPacketizer::Create(const RtpPacketizerConfig& config) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  VOXGATE_ASSIGN_OR_RETURN(auto encoder, PayloadEncoder::Create(config.codec, config.input_rate_hz,
                                                                config.opus_bitrate_bps));
  return std::unique_ptr<RtpPacketizer>(new RtpPacketizer(config, std::move(encoder)));
}

RtpPacketizer::RtpPacketizer(const RtpPacketizerConfig& config,
                             std::unique_ptr<PayloadEncoder> encoder)
    : config_(config), encoder_(std::move(encoder)) {
  std::mt19937_64 rng(
      config.random_seed != 0
          ? config.random_seed
          : (static_cast<uint64_t>(std::random_device{}()) << 32 | std::random_device{}()));
  const uint64_t r = rng();
  ssrc_ = config.ssrc >= 0 ? static_cast<uint32_t>(config.ssrc) : static_cast<uint32_t>(r);
  sequence_ = static_cast<uint16_t>(r >> 32);
  timestamp_ = static_cast<uint32_t>(rng());
  increment_ = static_cast<uint32_t>(encoder_->timestamp_increment());
}

Result<size_t> RtpPacketizer::WriteFrame(std::span<const float> frame, std::span<uint8_t> out) {
  if (frame.size() != static_cast<size_t>(encoder_->frame_samples())) {
    return InvalidArgumentError("a 20 ms frame is " + std::to_string(encoder_->frame_samples()) +
                                " samples, got " + std::to_string(frame.size()));
  }
  if (dtmf_active_) {
    const size_t n = WriteDtmfPacket(out);
    if (n == 0) return InvalidArgumentError("output buffer too small for an RTP event packet");
    return n;
  }
  if (out.size() <= kRtpHeaderBytes) {
    return InvalidArgumentError("output buffer too small for an RTP packet");
  }
  // Encoded in place after the header; WriteRtp then leaves the payload where it is.
  VOXGATE_ASSIGN_OR_RETURN(const size_t payload_bytes,
                           encoder_->Encode(frame, out.subspan(kRtpHeaderBytes)));
  RtpHeader h;
  h.marker = marker_;
  h.payload_type = static_cast<uint8_t>(config_.codec.payload_type);
  h.sequence = sequence_;
  h.timestamp = timestamp_;
  h.ssrc = ssrc_;
  const size_t n =
      WriteRtp(h, std::span<const uint8_t>(out.data() + kRtpHeaderBytes, payload_bytes), out);
  marker_ = false;
  ++sequence_;
  timestamp_ += increment_;
  ++packets_;
  octets_ += static_cast<uint32_t>(payload_bytes);
  return n;
}

size_t RtpPacketizer::WriteDtmfPacket(std::span<uint8_t> out) {
  if (out.size() < kRtpHeaderBytes + kDtmfEventBytes) return 0;
  const uint32_t reported = dtmf_packets_ * increment_;
  const bool end = reported >= dtmf_duration_;
  DtmfEvent event;
  event.event = dtmf_event_;
  event.end = end;
  event.volume = static_cast<uint8_t>(config_.dtmf_volume_dbm0);
  event.duration = static_cast<uint16_t>(end ? dtmf_duration_ : reported);
  std::array<uint8_t, kDtmfEventBytes> payload{};
  WriteDtmfEvent(event, payload);
  RtpHeader h;
  h.marker = dtmf_packets_ == 0;
  h.payload_type = static_cast<uint8_t>(config_.telephone_event_pt);
  h.sequence = sequence_;
  h.timestamp = dtmf_timestamp_;
  h.ssrc = ssrc_;
  const size_t n = WriteRtp(h, payload, out);
  ++dtmf_packets_;
  if (end && ++dtmf_ends_sent_ == kDtmfEndPackets) {
    dtmf_active_ = false;
    marker_ = true;  // audio after the event starts a new talkspurt
  }
  ++sequence_;
  timestamp_ += increment_;  // the media clock runs on under the event
  ++packets_;
  octets_ += static_cast<uint32_t>(kDtmfEventBytes);
  return n;
}

void RtpPacketizer::SkipFrame() {
  if (dtmf_active_) return;
  timestamp_ += increment_;
  marker_ = true;
}

Status RtpPacketizer::StartDtmf(char key, int duration_ms) {
  if (config_.telephone_event_pt < 0) {
    return UnsupportedError("no telephone-event payload type was negotiated");
  }
  if (dtmf_active_) return UnavailableError("a key press is being sent");
  const int event = DtmfCharToEvent(key);
  if (event < 0) return InvalidArgumentError(std::string("not a DTMF key: '") + key + "'");
  const int64_t units = static_cast<int64_t>(duration_ms) * config_.codec.clock_rate_hz / 1000;
  if (duration_ms < 40 || units > 0xFFFF) {
    return InvalidArgumentError("DTMF duration " + std::to_string(duration_ms) +
                                " ms is outside 40 ms .. what 16 bits hold at " +
                                std::to_string(config_.codec.clock_rate_hz) + " Hz");
  }
  dtmf_active_ = true;
  dtmf_event_ = static_cast<uint8_t>(event);
  dtmf_timestamp_ = timestamp_;
  dtmf_duration_ = static_cast<uint32_t>(units);
  dtmf_packets_ = 0;
  dtmf_ends_sent_ = 0;
  return Status::Ok();
}

SenderInfo RtpPacketizer::MakeSenderInfo(NtpTime ntp) const {
  SenderInfo info;
  info.ntp = ntp;
  info.rtp_timestamp = timestamp_;
  info.packet_count = packets_;
  info.octet_count = octets_;
  return info;
}

}  // namespace voxgate::telephony
