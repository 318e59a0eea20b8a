#include "telephony/call_handler.h"

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

}  // namespace voxgate::telephony
