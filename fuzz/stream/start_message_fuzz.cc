// libFuzzer: the WebSocket stream's start message (ParseStartMessage) on arbitrary bytes. It must
// return a value or an error, never throw or crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stream/stream_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = voxgate::stream::ParseStartMessage(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (r.ok() && (r->channels < 1 || r->channels > 2)) __builtin_trap();
  return 0;
}
