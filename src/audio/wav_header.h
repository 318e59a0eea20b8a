// WavDataChunk: where a RIFF/WAVE file says its samples are. FFmpeg's WAV demuxer reads until the
// data ends without telling us whether the data chunk was complete, so the decoder checks the
// declared size itself. Internal to voxgate_audio. Value type.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace voxgate::audio {

struct WavDataChunk {
  int64_t offset = 0;  // of the first sample byte
  int64_t size = 0;    // bytes, as declared in the chunk header

  /// Finds the "data" chunk in the first bytes of a RIFF/WAVE file; nullopt when `head` is not
  /// RIFF/WAVE or the chunk does not start within it. Never reads outside `head`.
  static std::optional<WavDataChunk> Find(std::span<const uint8_t> head);

  /// True when the size is a real byte count, not a streaming placeholder (0 or 0xFFFFFFFF,
  /// written by encoders that could not seek back).
  bool SizeIsKnown() const { return size != 0 && size != 0xFFFFFFFFLL; }
};

}  // namespace voxgate::audio
