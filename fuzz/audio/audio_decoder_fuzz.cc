// libFuzzer: DecodeMemory on arbitrary bytes (uploaded recordings are outside input).
// Seed corpus: the audio fixtures (build/testdata/audio). The first byte picks the configuration
// so that the raw PCM path and the keep-the-source-rate path are fuzzed too; the rest is the file.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "audio/audio_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using voxgate::audio::DecodeConfig;
  DecodeConfig config;
  config.max_duration_s = 30.0;  // keeps each input cheap; the limit path is fuzzed as well
  std::span<const uint8_t> bytes(data, size);
  if (size > 0) {
    static constexpr const char* kRaw[] = {"s16le", "s32le", "f32le", "u8", "mulaw", "alaw"};
    const uint8_t selector = data[0];
    switch (selector >> 5) {
      case 0:  // raw PCM with a fuzzed format, rate and channel count
        config.raw_format = kRaw[selector % 6];
        config.raw_sample_rate_hz = 8000 * (1 + (selector & 3));
        config.raw_channels = 1 + ((selector >> 2) & 1);
        bytes = bytes.subspan(1);
        break;
      case 1:  // container, keep the source rate
        config.target_sample_rate_hz = 0;
        bytes = bytes.subspan(1);
        break;
      default:  // container, 16 kHz; the whole input (fixtures start with 'R', 'I', 'f', 'O'...)
        break;
    }
  }
  auto clip = voxgate::audio::DecodeMemory(bytes, config);
  if (clip.ok()) {
    // Invariants of every successful decode.
    if (clip->samples.empty() || clip->sample_rate_hz <= 0) __builtin_trap();
    if (clip->DurationS() > config.max_duration_s + 1.0) __builtin_trap();
    for (float v : clip->samples) {
      if (!std::isfinite(v)) __builtin_trap();
    }
  } else if (clip.status().message().empty()) {
    __builtin_trap();
  }
  return 0;
}
