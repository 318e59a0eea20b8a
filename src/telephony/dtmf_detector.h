// DtmfDetector: turns the stream of RFC 4733 telephone-event packets of one RTP source into key
// presses. A sender reports one key press as many packets that share the event's RTP timestamp:
// a start, periodic updates with a growing duration, and (usually three) end packets; any of them
// may be lost, duplicated or reordered. The detector reports each press exactly once:
//   - on the first end packet of the event;
//   - if every end packet was lost: when a packet of a newer event arrives, or when Poll() sees
//     the stream's clock pass the event's last known end by more than kLostEndTimeoutMs, or on
//     Flush() at the end of the call.
// Packets of an event already reported, and packets older than the newest event seen, are
// ignored. Events above 15 (non-DTMF tones) are ignored.
//
// Not thread-safe: one per call, fed from the call's receive path. No allocation.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

namespace voxgate::telephony {

struct DtmfDigit {
  char digit = '\0';           // '0'..'9', '*', '#', 'A'..'D'
  uint32_t rtp_timestamp = 0;  // the event's RTP timestamp (when the key went down)
  int duration_ms = 0;         // the longest duration reported for the event

  friend bool operator==(const DtmfDigit&, const DtmfDigit&) = default;
};

class DtmfDetector {
 public:
  /// How far the stream may run past an event's last reported end before Poll() treats its end
  /// packets as lost. Senders update every 50 ms or faster (RFC 4733 2.5.1.2).
  static constexpr int kLostEndTimeoutMs = 250;

  /// Up to two digits can complete on one packet: the previous event whose ends were lost, and
  /// the new event if the packet is also its end.
  struct Digits {
    int count = 0;
    std::array<DtmfDigit, 2> digits{};

    const DtmfDigit* begin() const { return digits.data(); }
    const DtmfDigit* end() const { return digits.data() + count; }
  };

  /// `clock_rate_hz`: the telephone-event RTP clock (8000 with G.711, 48000 with Opus); values
  /// < 1 are taken as 8000.
  explicit DtmfDetector(int clock_rate_hz = 8000);

  /// Feeds the payload of one telephone-event packet and its RTP timestamp.
  Digits OnPacket(uint32_t rtp_timestamp, std::span<const uint8_t> payload);

  /// Reports the pending event if `now_rtp_timestamp` (e.g. of an audio packet of the same stream)
  /// is more than kLostEndTimeoutMs past its last known end.
  std::optional<DtmfDigit> Poll(uint32_t now_rtp_timestamp);

  /// Reports the pending event, if any (the call ended before its end packets arrived).
  std::optional<DtmfDigit> Flush();

  /// Telephone-event payloads shorter than 4 bytes.
  int64_t malformed_packets() const { return malformed_; }
  /// Well-formed packets that produced nothing new: retransmits, late or non-DTMF events.
  int64_t ignored_packets() const { return ignored_; }

 private:
  DtmfDigit Finish();

  int clock_rate_hz_;
  bool active_ = false;  // an event has started and has not been reported
  uint8_t event_ = 0;
  uint32_t timestamp_ = 0;  // of the active event, or of the last reported one
  bool have_timestamp_ = false;
  uint32_t duration_ = 0;  // RTP units, the largest seen for the active event
  int64_t malformed_ = 0;
  int64_t ignored_ = 0;
};

}  // namespace voxgate::telephony
