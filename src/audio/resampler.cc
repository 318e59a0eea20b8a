#include "audio/resampler.h"

#include <algorithm>
#include <string>

#include "audio/mono_converter.h"

namespace voxgate::audio {
namespace {

// Inputs are fed to swresample in pieces so that sample counts stay far from INT_MAX.
constexpr size_t kChunkSamples = 1 << 18;

Status CheckRate(const char* name, int rate_hz) {
  if (rate_hz <= 0 || rate_hz > kMaxSampleRateHz) {
    return InvalidArgumentError(std::string(name) + " must be 1.." +
                                std::to_string(kMaxSampleRateHz) + " Hz, got " +
                                std::to_string(rate_hz));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<float>> Resample(std::span<const float> samples, int in_rate_hz,
                                    int out_rate_hz) {
  VOXGATE_RETURN_IF_ERROR(CheckRate("input sample rate", in_rate_hz));
  VOXGATE_RETURN_IF_ERROR(CheckRate("output sample rate", out_rate_hz));
  if (in_rate_hz == out_rate_hz) return std::vector<float>(samples.begin(), samples.end());

  MonoConverter converter(out_rate_hz);
  std::vector<float> out;
  out.reserve(static_cast<size_t>(static_cast<double>(samples.size()) * out_rate_hz / in_rate_hz) +
              64);
  const AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  for (size_t pos = 0; pos < samples.size(); pos += kChunkSamples) {
    const size_t n = std::min(kChunkSamples, samples.size() - pos);
    const auto* plane = reinterpret_cast<const uint8_t*>(samples.data() + pos);
    VOXGATE_RETURN_IF_ERROR(
        converter.Convert(&plane, static_cast<int>(n), AV_SAMPLE_FMT_FLT, mono, in_rate_hz, out));
  }
  VOXGATE_RETURN_IF_ERROR(converter.Flush(out));
  return out;
}

Result<AudioClip> ResampleClip(const AudioClip& clip, int out_rate_hz) {
  auto samples = Resample(clip.samples, clip.sample_rate_hz, out_rate_hz);
  if (!samples.ok()) return samples.status();
  AudioClip out;
  out.samples = std::move(samples).value();
  out.sample_rate_hz = out_rate_hz;
  return out;
}

}  // namespace voxgate::audio
