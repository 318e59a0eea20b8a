// The RFC 4733 telephone-event payload (section 2.3): one 4-byte event report per RTP packet,
// and the mapping of DTMF events 0..15 to key characters. Pure functions, thread-safe; parsing
// and writing do not allocate on success.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.h"

namespace voxgate::telephony {

inline constexpr size_t kDtmfEventBytes = 4;
/// Events 0..15 are the DTMF keys 0-9, *, #, A-D (RFC 4733 section 3.2).
inline constexpr uint8_t kMaxDtmfEvent = 15;

struct DtmfEvent {
  uint8_t event = 0;      // 0..255; 0..15 are DTMF keys
  bool end = false;       // E bit: this packet reports the end of the event
  uint8_t volume = 10;    // power level in -dBm0, 0..63 (6 bits)
  uint16_t duration = 0;  // since the event's RTP timestamp, in RTP clock units

  friend bool operator==(const DtmfEvent&, const DtmfEvent&) = default;
};

/// Parses the first 4 bytes of a telephone-event payload. kInvalidArgument if shorter than 4
/// bytes. Bytes after the first event are ignored (RFC 2198 redundancy is not unwrapped here).
Result<DtmfEvent> ParseDtmfEvent(std::span<const uint8_t> payload);

/// Writes the 4-byte payload; returns 4, or 0 when `out` is shorter. The reserved bit is 0 and the
/// volume is masked to 6 bits.
size_t WriteDtmfEvent(const DtmfEvent& event, std::span<uint8_t> out);

/// '0'..'9', '*', '#', 'A'..'D' for events 0..15; '\0' for any other event.
char DtmfEventToChar(uint8_t event);
/// The event code of a DTMF key (digits, '*', '#', 'A'..'D' in either case); -1 otherwise.
int DtmfCharToEvent(char key);

}  // namespace voxgate::telephony
