// AudioDecoder: reads any common recording (WAV PCM 8/16/24/32-bit, float, A-law/mu-law; MP3; FLAC;
// M4A/AAC; OGG Vorbis/Opus; raw PCM) with FFmpeg's libraries into mono float at a target rate.
// Stateless; all functions are thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "audio/audio_clip.h"
#include "common/result.h"

namespace voxgate::audio {

struct DecodeConfig {
  int target_sample_rate_hz = 16000;  // output rate; 0 keeps the source rate
  double max_duration_s = 600.0;      // longer input is refused with kTooLarge
  // Raw PCM (no container): set raw_format to "s16le", "s32le", "f32le", "u8", "mulaw" or "alaw";
  // raw_sample_rate_hz and raw_channels describe the data. Empty raw_format = detect the container.
  std::string raw_format;
  int raw_sample_rate_hz = 16000;
  int raw_channels = 1;

  Status Validate() const;
  std::string ToString() const;
};

/// Decodes a file. Errors: kNotFound (no such file), kInvalidArgument (empty), kUnsupported (not audio
/// or an unknown codec), kDataLoss (truncated/corrupt), kTooLarge (over max_duration_s).
Result<AudioClip> DecodeFile(const std::string& path, const DecodeConfig& config = {});

/// Decodes an in-memory recording (an uploaded body). Same errors as DecodeFile.
Result<AudioClip> DecodeMemory(std::span<const uint8_t> bytes, const DecodeConfig& config = {});

}  // namespace voxgate::audio
