// AudioClip: a whole mono recording as float samples in [-1, 1]. Value type, thread-compatible.
#pragma once

#include <cstdint>
#include <vector>

namespace voxgate::audio {

/// The highest sample rate the decoder and resampler accept (anything above is a corrupt header).
inline constexpr int kMaxSampleRateHz = 768000;

struct AudioClip {
  std::vector<float> samples;  // mono, nominally in [-1, 1]
  int sample_rate_hz = 16000;

  double DurationS() const {
    return sample_rate_hz > 0 ? static_cast<double>(samples.size()) / sample_rate_hz : 0.0;
  }
};

}  // namespace voxgate::audio
