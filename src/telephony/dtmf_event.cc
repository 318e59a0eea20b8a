#include "telephony/dtmf_event.h"

#include <string>

#include "telephony/big_endian.h"

namespace voxgate::telephony {

Result<DtmfEvent> ParseDtmfEvent(std::span<const uint8_t> payload) {
  if (payload.size() < kDtmfEventBytes) {
    return InvalidArgumentError("telephone-event payload of " + std::to_string(payload.size()) +
                                " bytes, expected 4");
  }
  DtmfEvent e;
  e.event = payload[0];
  e.end = (payload[1] & 0x80) != 0;
  e.volume = payload[1] & 0x3F;
  e.duration = LoadBe16(payload.data() + 2);
  return e;
}

size_t WriteDtmfEvent(const DtmfEvent& event, std::span<uint8_t> out) {
  if (out.size() < kDtmfEventBytes) return 0;
  out[0] = event.event;
  out[1] = static_cast<uint8_t>((event.end ? 0x80 : 0) | (event.volume & 0x3F));
  StoreBe16(out.data() + 2, event.duration);
  return kDtmfEventBytes;
}

char DtmfEventToChar(uint8_t event) {
  static constexpr char kKeys[] = "0123456789*#ABCD";
  return event <= kMaxDtmfEvent ? kKeys[event] : '\0';
}

int DtmfCharToEvent(char key) {
  if (key >= '0' && key <= '9') return key - '0';
  switch (key) {
    case '*':
      return 10;
    case '#':
      return 11;
    case 'A':
    case 'a':
      return 12;
    case 'B':
    case 'b':
      return 13;
    case 'C':
    case 'c':
      return 14;
    case 'D':
    case 'd':
      return 15;
    default:
      return -1;
  }
}

}  // namespace voxgate::telephony
