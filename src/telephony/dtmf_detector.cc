#include "telephony/dtmf_detector.h"

#include "telephony/big_endian.h"
#include "telephony/dtmf_event.h"

namespace voxgate::telephony {

DtmfDetector::DtmfDetector(int clock_rate_hz)
    : clock_rate_hz_(clock_rate_hz > 0 ? clock_rate_hz : 8000) {}

DtmfDigit DtmfDetector::Finish() {
  active_ = false;
  DtmfDigit d;
  d.digit = DtmfEventToChar(event_);
  d.rtp_timestamp = timestamp_;
  d.duration_ms = static_cast<int>((static_cast<int64_t>(duration_) * 1000 + clock_rate_hz_ / 2) /
                                   clock_rate_hz_);
  return d;
}

DtmfDetector::Digits DtmfDetector::OnPacket(uint32_t rtp_timestamp,
                                            std::span<const uint8_t> payload) {
  Digits out;
  // Parsed inline rather than with ParseDtmfEvent(): a flood of bad packets must not allocate
  // a Status each.
  if (payload.size() < kDtmfEventBytes) {
    ++malformed_;
    return out;
  }
  const uint8_t event = payload[0];
  const bool end = (payload[1] & 0x80) != 0;
  const uint16_t duration = LoadBe16(payload.data() + 2);
  if (event > kMaxDtmfEvent) {
    ++ignored_;
    return out;
  }
  if (have_timestamp_) {
    // Serial-number comparison: RTP timestamps wrap.
    const int32_t age = static_cast<int32_t>(timestamp_ - rtp_timestamp);
    if (age > 0 || (age == 0 && !active_)) {
      // An older event, or a retransmit / late update of the event already reported.
      ++ignored_;
      return out;
    }
    if (age == 0) {  // the active event
      if (duration > duration_) duration_ = duration;
      if (end) out.digits[out.count++] = Finish();
      return out;
    }
    // A newer event: the active one lost all its end packets.
    if (active_) out.digits[out.count++] = Finish();
  }
  active_ = true;
  have_timestamp_ = true;
  event_ = event;
  timestamp_ = rtp_timestamp;
  duration_ = duration;
  if (end) out.digits[out.count++] = Finish();
  return out;
}

std::optional<DtmfDigit> DtmfDetector::Poll(uint32_t now_rtp_timestamp) {
  if (!active_) return std::nullopt;
  const int64_t timeout = static_cast<int64_t>(kLostEndTimeoutMs) * clock_rate_hz_ / 1000;
  const int32_t past_end = static_cast<int32_t>(now_rtp_timestamp - (timestamp_ + duration_));
  if (past_end <= timeout) return std::nullopt;
  return Finish();
}

std::optional<DtmfDigit> DtmfDetector::Flush() {
  if (!active_) return std::nullopt;
  return Finish();
}

}  // namespace voxgate::telephony
