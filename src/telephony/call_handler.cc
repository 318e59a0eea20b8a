#include "telephony/call_handler.h"

#include <string>

namespace voxgate::telephony {

std::string_view CodecName(Codec codec) {
  switch (codec) {
    case Codec::kPcmu:
      return "PCMU";
    case Codec::kPcma:
      return "PCMA";
    case Codec::kOpus:
      return "opus";
  }
  return "unknown";
}

Status CheckRtpClock(const CodecSpec& spec) {
  const bool opus = spec.codec == Codec::kOpus;
  const int expected = opus ? 48000 : 8000;
  if (spec.clock_rate_hz == expected) return Status::Ok();
  return InvalidArgumentError(std::string(opus ? "Opus" : "G.711") + " RTP clock must be " +
                              std::to_string(expected) + " Hz, got " +
                              std::to_string(spec.clock_rate_hz));
}

}  // namespace voxgate::telephony
