// AudioDecoder: reads any common recording (WAV PCM 8/16/24/32-bit, float, A-law/mu-law; MP3; FLAC;
// M4A/AAC; OGG Vorbis/Opus; raw PCM) with FFmpeg's libraries into mono float at a target rate.
// Channels are averaged; resampling uses libswresample. Stateless; all functions are thread-safe.
//
// Accepted containers (probed from the bytes, never from the name): WAV/W64, AIFF, CAF, AU, MP3,
// FLAC, Ogg, MP4/M4A/3GP, ADTS AAC, Matroska/WebM, AMR. Other formats FFmpeg knows are refused as
// not audio, and FFmpeg is never allowed to open another file or URL on the input's behalf.
//
// Strict on damage: a recording with any undecodable packet, one shorter than its header declares
// (a WAV data chunk larger than the file, a FLAC/MP3/MP4 header longer than the data), or one that
// stops inside a frame or an Ogg page is refused with kDataLoss rather than returned in part.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "audio/audio_clip.h"
#include "common/result.h"

namespace voxgate::audio {

struct DecodeConfig {
  int target_sample_rate_hz = 16000;  // output rate; 0 keeps the source rate
  double max_duration_s = 600.0;      // seconds (> 0); longer input is refused with kTooLarge
  // Raw PCM (no container): set raw_format to "s16le", "s32le", "f32le", "u8", "mulaw" or "alaw";
  // raw_sample_rate_hz and raw_channels describe the data. Empty raw_format = detect the container.
  std::string raw_format;
  int raw_sample_rate_hz = 16000;
  int raw_channels = 1;

  /// kInvalidArgument naming the bad field.
  Status Validate() const;
  /// "DecodeConfig(target_sample_rate_hz=16000, max_duration_s=600, ...)".
  std::string ToString() const;
};

/// Decodes a file. Errors (messages name the problem and start with the path): kNotFound (no such
/// file), kInvalidArgument (empty, a directory, or an invalid config), kPermissionDenied
/// (unreadable), kUnsupported (not audio, no audio stream, or an unknown codec), kDataLoss
/// (truncated/corrupt), kTooLarge (over max_duration_s: refused from the header when it declares
/// the length, otherwise as soon as decoding passes the limit), kUnusable (well-formed, no
/// samples).
Result<AudioClip> DecodeFile(const std::string& path, const DecodeConfig& config = {});

/// Decodes an in-memory recording (an uploaded body). Same errors as DecodeFile, without a path.
Result<AudioClip> DecodeMemory(std::span<const uint8_t> bytes, const DecodeConfig& config = {});

}  // namespace voxgate::audio
