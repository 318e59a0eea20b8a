// AudioFrame: the unit that moves through every live pipeline: a fixed-capacity block of mono
// float samples (10 or 20 ms) stamped with a monotonic sample clock. Fixed-size storage, so frames
// are copied into preallocated rings without allocating. Value type, thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace voxgate::audio {

struct AudioFrame {
  /// 20 ms at 48 kHz, the largest frame any source produces.
  static constexpr int kMaxSamples = 960;

  /// Index of the first sample on the session's clock, counted at sample_rate_hz from the start of
  /// the session (a frame of concealment advances the clock like a real one).
  int64_t clock = 0;
  int sample_rate_hz = 16000;
  int num_samples = 0;     // valid samples in `samples`
  bool concealed = false;  // produced by packet-loss concealment or comfort noise, not received
  std::array<float, kMaxSamples> samples{};  // mono, nominally in [-1, 1]

  std::span<float> data() { return {samples.data(), static_cast<size_t>(num_samples)}; }
  std::span<const float> data() const { return {samples.data(), static_cast<size_t>(num_samples)}; }
  double DurationS() const {
    return sample_rate_hz > 0 ? static_cast<double>(num_samples) / sample_rate_hz : 0.0;
  }
  /// Session time of the first sample, seconds.
  double TimeS() const {
    return sample_rate_hz > 0 ? static_cast<double>(clock) / sample_rate_hz : 0;
  }
};

}  // namespace voxgate::audio
