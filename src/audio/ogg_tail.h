// Truncation check for Ogg (Vorbis, Opus, FLAC-in-Ogg). Ogg has no total length in its headers and
// FFmpeg's demuxer silently drops an incomplete last page, so a cut file would decode as a shorter
// but "good" recording. Internal to voxgate_audio. Thread-safe (pure function).
#pragma once

#include <cstdint>
#include <span>

namespace voxgate::audio {

/// Max bytes of one Ogg page (27-byte header + 255 lacing values + 255 * 255 body bytes).
inline constexpr int64_t kOggMaxPageBytes = 27 + 255 + 255 * 255;

/// True when `tail` (the last bytes of a file; pass at least 2 * kOggMaxPageBytes, or the whole
/// file when smaller) ends inside a page: after the last complete, CRC-valid page come the first
/// bytes of another page header. False for a clean end or for trailing bytes that are not a page.
bool OggEndsMidPage(std::span<const uint8_t> tail);

}  // namespace voxgate::audio
