// StreamResampler: frame-by-frame sample-rate conversion for live streams (speexdsp's windowed-sinc
// resampler). Unlike Resample() in resampler.h, which aligns a whole clip with no delay, this keeps
// filter state between frames and so delays the signal by latency_samples(); in exchange every
// frame produces its full share of output from the very first one (no skipped leading zeros), so
// a 20 ms frame in gives a 20 ms frame out whenever both rates hold a whole number of samples per
// frame (8k/16k/48k: always).
//
// Samples are float, nominally in [-1, 1]. speexdsp is built for floating point on Debian, where
// the float path is a plain linear filter with no scaling and no clipping, so any range works and
// the [-1, 1] convention of AudioFrame is kept as is (the 16-bit scale only matters for the int16
// API, which this class does not use).
//
// Per stream; not thread-safe. Process() neither allocates nor locks.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "common/result.h"

struct SpeexResamplerState_;

namespace voxgate::audio {

class StreamResampler {
 public:
  /// Rates 1..kMaxSampleRateHz, quality 0 (fast) .. 10 (best); 5 is speexdsp's "desktop" quality
  /// (passband flat to about 0.1 dB, stopband around -80 dB), 3 its "VoIP" one.
  /// kInvalidArgument otherwise.
  static Result<std::unique_ptr<StreamResampler>> Create(int in_rate_hz, int out_rate_hz,
                                                         int quality = 5);
  ~StreamResampler();
  StreamResampler(const StreamResampler&) = delete;
  StreamResampler& operator=(const StreamResampler&) = delete;

  /// Consumes all of `in` (a frame, typically <= AudioFrame::kMaxSamples; longer works too) and
  /// writes up to out.size() samples; returns how many. `out` should hold
  /// MaxOutputSamples(in.size()) samples: output that does not fit is dropped (counted in
  /// dropped_samples()), since the stream must keep moving. Identity (a copy) when the rates match.
  /// Allocation-free.
  size_t Process(std::span<const float> in, std::span<float> out);

  /// Drops the filter state, as for a new, unrelated stream.
  void Reset();

  /// The most samples Process() can produce for `in_samples` samples of input.
  size_t MaxOutputSamples(size_t in_samples) const;

  int in_rate_hz() const { return in_rate_hz_; }
  int out_rate_hz() const { return out_rate_hz_; }
  int quality() const { return quality_; }
  /// Delay of the output against the input, in output-rate samples (0 when the rates match).
  int latency_samples() const { return latency_samples_; }
  /// Output samples dropped so far because `out` was too small.
  size_t dropped_samples() const { return dropped_samples_; }

 private:
  StreamResampler(int in_rate_hz, int out_rate_hz, int quality, SpeexResamplerState_* state);

  int in_rate_hz_;
  int out_rate_hz_;
  int quality_;
  int latency_samples_ = 0;
  size_t dropped_samples_ = 0;
  SpeexResamplerState_* state_;  // null when the rates match (identity)
};

}  // namespace voxgate::audio
