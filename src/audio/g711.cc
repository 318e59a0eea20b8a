#include "audio/g711.h"

#include <algorithm>
#include <cmath>

namespace voxgate::audio {
namespace {

constexpr int kUlawBias = 0x84;
constexpr int kUlawClip = 32635;

int16_t FloatToPcm16(float x) {
  const float clamped = std::clamp(x, -1.0f, 1.0f);
  return static_cast<int16_t>(std::lrint(clamped * 32767.0f));
}

}  // namespace

uint8_t LinearToUlaw(int16_t sample) {
  int pcm = sample;
  const int sign = (pcm >> 8) & 0x80;
  if (sign) pcm = -pcm;
  pcm = std::min(pcm, kUlawClip) + kUlawBias;
  int exponent = 7;
  for (int mask = 0x4000; (pcm & mask) == 0 && exponent > 0; mask >>= 1) --exponent;
  const int mantissa = (pcm >> (exponent + 3)) & 0x0F;
  return static_cast<uint8_t>(~(sign | (exponent << 4) | mantissa));
}

int16_t UlawToLinear(uint8_t code) {
  const int u = ~code & 0xFF;
  const int exponent = (u >> 4) & 0x07;
  const int mantissa = u & 0x0F;
  const int magnitude = (((mantissa << 3) + kUlawBias) << exponent) - kUlawBias;
  return static_cast<int16_t>((u & 0x80) ? -magnitude : magnitude);
}

uint8_t LinearToAlaw(int16_t sample) {
  int pcm = sample;
  int mask;
  if (pcm >= 0) {
    mask = 0xD5;  // sign bit set, even bits inverted
  } else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  pcm >>= 3;  // 13-bit magnitude
  int segment = 0;
  for (int limit = 0x1F; pcm > limit && segment < 8; limit = (limit << 1) | 1) ++segment;
  if (segment >= 8) return static_cast<uint8_t>(0x7F ^ mask);
  int code = segment << 4;
  code |= (segment < 2) ? ((pcm >> 1) & 0x0F) : ((pcm >> segment) & 0x0F);
  return static_cast<uint8_t>(code ^ mask);
}

int16_t AlawToLinear(uint8_t code) {
  const int a = code ^ 0x55;
  const int segment = (a & 0x70) >> 4;
  int magnitude = (a & 0x0F) << 4;
  switch (segment) {
    case 0:
      magnitude += 8;
      break;
    case 1:
      magnitude += 0x108;
      break;
    default:
      magnitude = (magnitude + 0x108) << (segment - 1);
      break;
  }
  return static_cast<int16_t>((a & 0x80) ? magnitude : -magnitude);
}

std::vector<uint8_t> G711Encode(std::span<const float> samples, G711Law law) {
  std::vector<uint8_t> out(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    const int16_t s = FloatToPcm16(samples[i]);
    out[i] = law == G711Law::kUlaw ? LinearToUlaw(s) : LinearToAlaw(s);
  }
  return out;
}

std::vector<float> G711Decode(std::span<const uint8_t> codes, G711Law law) {
  std::vector<float> out(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    const int16_t s = law == G711Law::kUlaw ? UlawToLinear(codes[i]) : AlawToLinear(codes[i]);
    out[i] = static_cast<float>(s) / 32768.0f;
  }
  return out;
}

}  // namespace voxgate::audio
