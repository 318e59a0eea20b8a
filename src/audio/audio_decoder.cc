#include "audio/audio_decoder.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

#include "audio/avio_input.h"
#include "audio/decode_job.h"
#include "audio/ffmpeg_util.h"

namespace voxgate::audio {
namespace {

// Headerless PCM demuxers selectable with DecodeConfig::raw_format (FFmpeg's names).
constexpr std::array<std::string_view, 6> kRawFormats = {"s16le", "s32le", "f32le",
                                                         "u8",    "mulaw", "alaw"};
constexpr int kMaxRawChannels = 64;

Result<AudioClip> DecodeInput(AvioInput& input, const DecodeConfig& config) {
  if (input.size() == 0) return InvalidArgumentError("empty input: there are no bytes to decode");
  return DecodeJob(input, config).Run();
}

}  // namespace

Status DecodeConfig::Validate() const {
  if (target_sample_rate_hz < 0 || target_sample_rate_hz > kMaxSampleRateHz) {
    return InvalidArgumentError(
        fmt::format("target_sample_rate_hz must be 0 (keep the source rate) or 1..{}, got {}",
                    kMaxSampleRateHz, target_sample_rate_hz));
  }
  if (!(max_duration_s > 0.0) || !std::isfinite(max_duration_s)) {
    return InvalidArgumentError(
        fmt::format("max_duration_s must be a positive number of seconds, got {}", max_duration_s));
  }
  if (raw_format.empty()) return Status::Ok();
  if (std::find(kRawFormats.begin(), kRawFormats.end(), raw_format) == kRawFormats.end()) {
    return InvalidArgumentError(
        fmt::format("raw_format must be one of {} (or empty to detect the container), got \"{}\"",
                    fmt::join(kRawFormats, ", "), raw_format));
  }
  if (raw_sample_rate_hz <= 0 || raw_sample_rate_hz > kMaxSampleRateHz) {
    return InvalidArgumentError(fmt::format("raw_sample_rate_hz must be 1..{}, got {}",
                                            kMaxSampleRateHz, raw_sample_rate_hz));
  }
  if (raw_channels <= 0 || raw_channels > kMaxRawChannels) {
    return InvalidArgumentError(
        fmt::format("raw_channels must be 1..{}, got {}", kMaxRawChannels, raw_channels));
  }
  return Status::Ok();
}

std::string DecodeConfig::ToString() const {
  return fmt::format(
      "DecodeConfig(target_sample_rate_hz={}, max_duration_s={}, raw_format=\"{}\", "
      "raw_sample_rate_hz={}, raw_channels={})",
      target_sample_rate_hz, max_duration_s, raw_format, raw_sample_rate_hz, raw_channels);
}

Result<AudioClip> DecodeFile(const std::string& path, const DecodeConfig& config) {
  QuietFfmpegLogging();
  VOXGATE_RETURN_IF_ERROR(config.Validate().WithContext("invalid DecodeConfig"));
  auto input = AvioInput::OpenFile(path);
  if (!input.ok()) return input.status();
  auto clip = DecodeInput(**input, config);
  if (!clip.ok()) return clip.status().WithContext(path);
  return clip;
}

Result<AudioClip> DecodeMemory(std::span<const uint8_t> bytes, const DecodeConfig& config) {
  QuietFfmpegLogging();
  VOXGATE_RETURN_IF_ERROR(config.Validate().WithContext("invalid DecodeConfig"));
  auto input = AvioInput::FromMemory(bytes);
  if (!input.ok()) return input.status();
  return DecodeInput(**input, config);
}

}  // namespace voxgate::audio
