// Resampling of whole mono clips (libswresample's default windowed-sinc filter, output aligned with
// the input: no added delay, length round(n * out / in)). Thread-safe: no shared state.
#pragma once

#include <span>
#include <vector>

#include "audio/audio_clip.h"
#include "common/result.h"

namespace voxgate::audio {

/// Resamples mono float samples from in_rate_hz to out_rate_hz. Identity when the rates match.
/// kInvalidArgument unless both rates are 1..kMaxSampleRateHz.
Result<std::vector<float>> Resample(std::span<const float> samples, int in_rate_hz,
                                    int out_rate_hz);

/// Returns the clip at out_rate_hz.
Result<AudioClip> ResampleClip(const AudioClip& clip, int out_rate_hz);

}  // namespace voxgate::audio
