#include "audio/wav_header.h"

#include <cstring>

namespace voxgate::audio {
namespace {

uint32_t ReadLe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

}  // namespace

std::optional<WavDataChunk> WavDataChunk::Find(std::span<const uint8_t> head) {
  if (head.size() < 12 || std::memcmp(head.data(), "RIFF", 4) != 0 ||
      std::memcmp(head.data() + 8, "WAVE", 4) != 0) {
    return std::nullopt;
  }
  uint64_t pos = 12;
  while (pos + 8 <= head.size()) {
    const uint8_t* chunk = head.data() + pos;
    const uint64_t size = ReadLe32(chunk + 4);
    if (std::memcmp(chunk, "data", 4) == 0) {
      return WavDataChunk{static_cast<int64_t>(pos + 8), static_cast<int64_t>(size)};
    }
    pos += 8 + size + (size & 1);  // chunks are padded to even sizes
  }
  return std::nullopt;
}

}  // namespace voxgate::audio
