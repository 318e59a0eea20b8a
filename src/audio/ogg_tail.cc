#include "audio/ogg_tail.h"

#include <array>
#include <cstring>

namespace voxgate::audio {
namespace {

constexpr size_t kHeaderBytes = 27;

// CRC-32 as Ogg defines it: polynomial 0x04c11db7, not reflected, initial value 0, no final xor.
constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table = {};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t r = i << 24;
    for (int bit = 0; bit < 8; ++bit) r = (r & 0x80000000u) ? (r << 1) ^ 0x04c11db7u : r << 1;
    table[i] = r;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

// Size of the complete, CRC-valid page starting at `pos`, or 0 when there is none.
size_t ValidPageAt(std::span<const uint8_t> data, size_t pos) {
  if (data.size() - pos < kHeaderBytes) return 0;
  const uint8_t* page = data.data() + pos;
  if (std::memcmp(page, "OggS", 4) != 0 || page[4] != 0) return 0;
  const size_t segments = page[26];
  if (data.size() - pos < kHeaderBytes + segments) return 0;
  size_t size = kHeaderBytes + segments;
  for (size_t i = 0; i < segments; ++i) size += page[kHeaderBytes + i];
  if (data.size() - pos < size) return 0;
  const uint32_t stored = static_cast<uint32_t>(page[22]) | static_cast<uint32_t>(page[23]) << 8 |
                          static_cast<uint32_t>(page[24]) << 16 |
                          static_cast<uint32_t>(page[25]) << 24;
  uint32_t crc = 0;
  for (size_t i = 0; i < size; ++i) {
    const uint8_t byte = (i >= 22 && i < 26) ? 0 : page[i];  // the CRC field counts as zeros
    crc = (crc << 8) ^ kCrcTable[((crc >> 24) ^ byte) & 0xff];
  }
  return crc == stored ? size : 0;
}

}  // namespace

bool OggEndsMidPage(std::span<const uint8_t> tail) {
  // Walk the chain of valid pages, resynchronising byte by byte where it breaks (the window may
  // start inside a page).
  size_t pos = 0;
  size_t end_of_valid = 0;
  bool found_page = false;
  while (pos < tail.size()) {
    const size_t size = ValidPageAt(tail, pos);
    if (size > 0) {
      pos += size;
      end_of_valid = pos;
      found_page = true;
    } else {
      ++pos;
    }
  }
  if (!found_page || end_of_valid == tail.size()) return false;
  const size_t rest = tail.size() - end_of_valid;
  return std::memcmp(tail.data() + end_of_valid, "OggS", rest < 4 ? rest : 4) == 0;
}

}  // namespace voxgate::audio
