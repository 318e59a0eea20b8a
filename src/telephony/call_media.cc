#include "telephony/call_media.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "telephony/rtp_packet.h"

namespace voxgate::telephony {
namespace {

constexpr int kComfortNoisePt = 13;  // RFC 3389, static payload type

}  // namespace

Status CallMediaConfig::Validate() const {
  // frame_ms is the call's ptime; check the rest with a valid one.
  JitterBufferConfig jb = jitter_buffer;
  jb.frame_ms = 20;
  VOXGATE_RETURN_IF_ERROR(jb.Validate());
  if (opus_bitrate_bps < 6000 || opus_bitrate_bps > 510000) {
    return InvalidArgumentError(
        fmt::format("opus_bitrate_bps must be in [6000, 510000], got {}", opus_bitrate_bps));
  }
  if (!(ssrc_switch_silence_s >= 0 && ssrc_switch_silence_s <= 60)) {
    return InvalidArgumentError(
        fmt::format("ssrc_switch_silence_s must be in [0, 60], got {}", ssrc_switch_silence_s));
  }
  if (max_conceal_ms < 0 || max_conceal_ms > 10000) {
    return InvalidArgumentError(
        fmt::format("max_conceal_ms must be in [0, 10000], got {}", max_conceal_ms));
  }
  return Status::Ok();
}

std::string CallMediaConfig::ToString() const {
  std::ostringstream os;
  os << "CallMediaConfig(" << jitter_buffer.ToString() << ", opus_bitrate_bps=" << opus_bitrate_bps
     << ", ssrc_switch_silence_s=" << ssrc_switch_silence_s << ", max_conceal_ms=" << max_conceal_ms
     << ")";
  return os.str();
}

Status CallMediaConfig::Load(const ConfigNode& node) {
  ConfigNode jb = node.Child("jitter_buffer");
  VOXGATE_RETURN_IF_ERROR(jb.Get("min_delay_ms", &jitter_buffer.min_delay_ms));
  VOXGATE_RETURN_IF_ERROR(jb.Get("max_delay_ms", &jitter_buffer.max_delay_ms));
  int64_t packets = static_cast<int64_t>(jitter_buffer.max_packets);
  VOXGATE_RETURN_IF_ERROR(jb.Get("max_packets", &packets));
  if (packets < 1) return InvalidArgumentError(jb.path() + ".max_packets must be >= 1");
  jitter_buffer.max_packets = static_cast<size_t>(packets);
  VOXGATE_RETURN_IF_ERROR(node.Get("opus_bitrate_bps", &opus_bitrate_bps));
  VOXGATE_RETURN_IF_ERROR(node.Get("ssrc_switch_silence_s", &ssrc_switch_silence_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_conceal_ms", &max_conceal_ms));
  return Validate();
}

CallMedia::CallMedia(const NegotiatedMedia& media, const CallMediaConfig& config,
                     analytics::QosTracker* qos, std::string cname)
    : media_(media),
      config_(config),
      qos_(qos),
      cname_(std::move(cname)),
      ptime_ms_(media.ptime_ms),
      dtmf_(media.audio.clock_rate_hz),
      last_rtp_s_(std::numeric_limits<double>::quiet_NaN()) {}

CallMedia::~CallMedia() = default;

Result<std::unique_ptr<CallMedia>> CallMedia::Create(const NegotiatedMedia& media,
                                                     const CallMediaConfig& config,
                                                     analytics::QosTracker* qos, int output_rate_hz,
                                                     int send_rate_hz, std::string cname) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  VOXGATE_RETURN_IF_ERROR(CheckRtpClock(media.audio));
  if (media.ptime_ms < 10 || media.ptime_ms > 60 || media.ptime_ms % 10 != 0) {
    return UnsupportedError(fmt::format("ptime {} ms is not supported", media.ptime_ms));
  }
  std::unique_ptr<CallMedia> m(new CallMedia(media, config, qos, std::move(cname)));
  if (output_rate_hz * media.ptime_ms / 1000 > audio::AudioFrame::kMaxSamples) {
    return UnsupportedError(
        fmt::format("ptime {} ms at {} Hz exceeds a frame", media.ptime_ms, output_rate_hz));
  }
  JitterBufferConfig jb = config.jitter_buffer;
  jb.frame_ms = media.ptime_ms;
  jb.max_payload_bytes += 1;  // the payload type byte in front of each payload
  VOXGATE_ASSIGN_OR_RETURN(m->jitter_buffer_, JitterBuffer::Create(jb));
  VOXGATE_ASSIGN_OR_RETURN(m->decoder_, PayloadDecoder::Create(media.audio, output_rate_hz));
  RtpPacketizerConfig pc;
  pc.codec = media.audio;
  pc.input_rate_hz = send_rate_hz;
  pc.opus_bitrate_bps = config.opus_bitrate_bps;
  pc.telephone_event_pt = media.telephone_event_pt;
  VOXGATE_ASSIGN_OR_RETURN(m->packetizer_, RtpPacketizer::Create(pc));
  // One byte more than the jitter buffer takes, so that a payload one byte over the limit is
  // still staged whole and refused by the jitter buffer (not queued without its type byte).
  m->staging_.resize(jb.max_payload_bytes + 1);
  m->playout_.resize(jb.max_payload_bytes);
  // A payload decodes whole before it is cut to ptime: G.711 gives a sample per byte, an Opus
  // packet at most 120 ms.
  m->decoded_.resize(
      std::max<size_t>(jb.max_payload_bytes, static_cast<size_t>(output_rate_hz) * 120 / 1000));
  return m;
}

bool CallMedia::AcceptSource(uint32_t ssrc, double now_s) {
  if (!remote_ssrc_) {
    remote_ssrc_ = ssrc;
    return true;
  }
  if (*remote_ssrc_ == ssrc) return true;
  // Another source. While the current one is alive it is a stray or hostile stream; once the
  // current one has gone quiet, the call's media moved (transfer, new media server).
  if (!(now_s - last_rtp_s_ >= config_.ssrc_switch_silence_s)) {
    ++counters_.wrong_ssrc;
    return false;
  }
  remote_ssrc_ = ssrc;
  ++counters_.ssrc_changes;
  jitter_buffer_->Reset();
  decoder_->Reset();
  // A key press cut off by the switch is dropped: its end can no longer be known.
  dtmf_ = DtmfDetector(media_.audio.clock_rate_hz);
  // LSR/DLSR echo the SR of the source a report block is about; the old source's would give
  // the new one a bogus round-trip time.
  last_sr_middle32_ = 0;
  last_sr_arrival_s_ = 0;
  if (qos_ != nullptr) qos_->OnSsrcChange();
  return true;
}

DtmfDetector::Digits CallMedia::OnRtp(std::span<const uint8_t> datagram, double now_s) {
  DtmfDetector::Digits digits;
  if (IsRtcp(datagram)) {  // rtcp-mux (RFC 5761)
    OnRtcp(datagram, now_s);
    return digits;
  }
  auto parsed = ParseRtp(datagram);
  if (!parsed.ok()) {
    ++counters_.malformed;
    return digits;
  }
  const RtpHeader& h = parsed->header;
  const bool audio = h.payload_type == media_.audio.payload_type;
  const bool event = media_.telephone_event_pt >= 0 && h.payload_type == media_.telephone_event_pt;
  const bool cn = h.payload_type == kComfortNoisePt;
  if (!audio && !event && !cn) {
    ++counters_.unknown_payload_type;
    return digits;
  }
  if (!AcceptSource(h.ssrc, now_s)) return digits;
  ++counters_.rtp_packets;
  last_rtp_s_ = now_s;
  if (qos_ != nullptr) qos_->OnRtpPacket(h.sequence, h.timestamp, now_s, parsed->payload.size());

  if (event) {
    digits = dtmf_.OnPacket(h.timestamp, parsed->payload);
    counters_.dtmf_digits += digits.count;
    return digits;
  }
  if (auto late = dtmf_.Poll(h.timestamp)) {
    digits.digits[0] = *late;
    digits.count = 1;
    ++counters_.dtmf_digits;
  }
  if (parsed->payload.size() + 1 > staging_.size()) {
    // Larger than the jitter buffer takes: it refuses it as invalid and counts it.
    (void)jitter_buffer_->Put(parsed->payload, h.timestamp, media_.audio.clock_rate_hz, h.sequence);
    return digits;
  }
  staging_[0] = h.payload_type;
  std::copy(parsed->payload.begin(), parsed->payload.end(), staging_.begin() + 1);
  const auto put =
      jitter_buffer_->Put(std::span<const uint8_t>(staging_.data(), parsed->payload.size() + 1),
                          h.timestamp, media_.audio.clock_rate_hz, h.sequence);
  if (put == JitterBuffer::PutResult::kLate && qos_ != nullptr) qos_->OnLatePacket(now_s);
  return digits;
}

bool CallMedia::OnRtcp(std::span<const uint8_t> datagram, double now_s) {
  auto parsed = ParseRtcp(datagram);
  if (!parsed.ok()) {
    ++counters_.malformed;
    return false;
  }
  ++counters_.rtcp_packets;
  const uint32_t arrival = NtpNow().Middle32();
  auto on_blocks = [&](const std::vector<ReportBlock>& blocks) {
    for (const ReportBlock& b : blocks) {
      if (b.ssrc != packetizer_->ssrc()) continue;
      const double rtt = RoundTripS(b.lsr, b.dlsr, arrival);
      if (rtt > 0 && qos_ != nullptr) qos_->OnRtt(rtt);
    }
  };
  for (const RtcpSenderReport& sr : parsed->sender_reports) {
    if (remote_ssrc_ && sr.ssrc == *remote_ssrc_) {
      last_sr_middle32_ = sr.info.ntp.Middle32();
      last_sr_arrival_s_ = now_s;
    }
    on_blocks(sr.blocks);
  }
  for (const RtcpReceiverReport& rr : parsed->receiver_reports) on_blocks(rr.blocks);
  return true;
}

bool CallMedia::Playout(audio::AudioFrame* frame) {
  const auto got = jitter_buffer_->Get(playout_);
  if (got.status == JitterBuffer::GetStatus::kNothing) return false;
  if (got.status == JitterBuffer::GetStatus::kMissing) {
    if (missing_ms_ >= config_.max_conceal_ms) return false;
    missing_ms_ += ptime_ms_;
  } else {
    missing_ms_ = 0;
  }
  const int samples = playout_samples();
  std::span<float> out(frame->samples.data(), static_cast<size_t>(samples));
  frame->sample_rate_hz = output_rate_hz();
  frame->clock = clock_;
  frame->num_samples = samples;
  frame->concealed = true;
  int written = 0;
  if (got.status == JitterBuffer::GetStatus::kPacket && got.length >= 1) {
    const uint8_t pt = playout_[0];
    std::span<const uint8_t> payload(playout_.data() + 1, got.length - 1);
    if (pt == kComfortNoisePt) {
      written = decoder_->ComfortNoise(payload, samples, out);
    } else if (!payload.empty()) {
      auto decoded = decoder_->Decode(payload, decoded_);
      if (decoded.ok()) {
        written = std::min(*decoded, samples);
        std::copy_n(decoded_.begin(), written, out.begin());
        frame->concealed = false;
      } else {
        ++counters_.decode_errors;
      }
    }
  }
  if (frame->concealed && written == 0) written = decoder_->Conceal(samples, out);
  // A payload shorter or longer than ptime (a sender that ignored our ptime) is cut or padded
  // with concealment so the clock stays on the packet time.
  if (written < samples) {
    const int more =
        decoder_->Conceal(samples - written, out.subspan(static_cast<size_t>(written)));
    for (int i = written + more; i < samples; ++i) out[static_cast<size_t>(i)] = 0.0f;
  }
  if (frame->concealed) {
    ++counters_.frames_concealed;
  } else {
    ++counters_.frames_played;
  }
  clock_ += samples;
  if (qos_ != nullptr) qos_->OnJitterBufferDelay(jitter_buffer_->current_delay_ms() / 1000.0);
  return true;
}

Result<size_t> CallMedia::WriteRtp(std::span<const float> pcm, std::span<uint8_t> out) {
  VOXGATE_ASSIGN_OR_RETURN(size_t n, packetizer_->WriteFrame(pcm, out));
  ++counters_.rtp_sent;
  return n;
}

void CallMedia::SkipFrame() { packetizer_->SkipFrame(); }

Status CallMedia::StartDtmf(char key, int duration_ms) {
  return packetizer_->StartDtmf(key, duration_ms);
}

std::vector<uint8_t> CallMedia::MakeRtcpReport(double now_s, bool bye) {
  std::vector<ReportBlock> blocks;
  if (remote_ssrc_ && qos_ != nullptr) {
    if (auto rb = qos_->MakeReportBlock()) {
      ReportBlock b;
      b.ssrc = *remote_ssrc_;
      b.fraction_lost = rb->fraction_lost;
      b.cumulative_lost = rb->cumulative_lost;
      b.ext_highest_seq = rb->extended_highest_seq;
      b.jitter = rb->jitter;
      if (last_sr_middle32_ != 0) {
        b.lsr = last_sr_middle32_;
        b.dlsr = ToNtpShort(std::max(0.0, now_s - last_sr_arrival_s_));
      }
      blocks.push_back(b);
    }
  }
  std::vector<uint8_t> out =
      packetizer_->packets_sent() > 0
          ? BuildSenderReport(packetizer_->ssrc(), packetizer_->MakeSenderInfo(NtpNow()), blocks,
                              cname_)
          : BuildReceiverReport(packetizer_->ssrc(), blocks, cname_);
  if (bye) {
    const uint32_t ssrc = packetizer_->ssrc();
    AppendBye(out, std::span<const uint32_t>(&ssrc, 1), "call ended");
  }
  return out;
}

std::optional<DtmfDigit> CallMedia::FlushDtmf() {
  auto d = dtmf_.Flush();
  if (d) ++counters_.dtmf_digits;
  return d;
}

}  // namespace voxgate::telephony
