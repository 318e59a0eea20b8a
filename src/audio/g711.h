// G.711 A-law and mu-law companding (ITU-T G.711), sample by sample. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace voxgate::audio {

uint8_t LinearToUlaw(int16_t sample);
int16_t UlawToLinear(uint8_t code);
uint8_t LinearToAlaw(int16_t sample);
int16_t AlawToLinear(uint8_t code);

enum class G711Law { kUlaw, kAlaw };

/// Encodes float samples in [-1, 1] (clamped) to G.711 bytes.
std::vector<uint8_t> G711Encode(std::span<const float> samples, G711Law law);
/// Decodes G.711 bytes to float samples in [-1, 1].
std::vector<float> G711Decode(std::span<const uint8_t> codes, G711Law law);

}  // namespace voxgate::audio
