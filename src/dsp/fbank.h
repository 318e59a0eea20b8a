// Kaldi-compatible log-mel filterbank features, matching torchaudio.compliance.kaldi.fbank (and so
// the features 3D-Speaker and WeSpeaker models were trained on) with dither 0, power spectrum, log
// energies floored at FLT_EPSILON, no energy coefficient, FFT size = frame rounded up to a power
// of two. The Fbank object precomputes the window, FFT plan and mel banks and is immutable after
// construction: Compute() is thread-safe.
//
// Precision: frames are analysed in double. Features agree with torchaudio's exact result (its
// float64 path) to ~2e-5 and with its float32 output to 1e-3, except on mel bins 90+ dB below
// their frame's energy, where torchaudio's own float32 rounding reaches ~1e-2.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace voxgate::dsp {

struct FbankConfig {
  int sample_rate_hz = 16000;
  int num_mel_bins = 80;  // >= 3, and each must cover at least one FFT bin
  float frame_length_ms = 25.0f;
  float frame_shift_ms = 10.0f;  // <= frame_length_ms
  float preemphasis = 0.97f;     // in [0, 1]; 0 disables
  bool remove_dc_offset = true;  // subtract each frame's mean
  // povey (Hann^0.85) | hanning | hamming | rectangular | blackman (Kaldi's, coefficient 0.42)
  std::string window_type = "povey";
  float low_freq_hz = 20.0f;
  float high_freq_hz = 0.0f;  // > 0: absolute; <= 0: offset from Nyquist (-400 = Nyquist - 400 Hz)
  // true: frames lie wholly inside the signal, 1 + (n - length) / shift of them; false: Kaldi's
  // centred frames with mirrored edges, (n + shift / 2) / shift of them.
  bool snip_edges = true;
  // Multiply samples by 32768 before analysis (WeSpeaker-style models expect int16-scaled input).
  bool scale_to_int16 = false;
  // Subtract the per-utterance mean of each bin (3D-Speaker's "global-mean" normalisation). Set
  // false for plain Kaldi/torchaudio features.
  bool mean_normalize = true;

  /// InvalidArgument naming the offending field, e.g. frame_shift_ms > frame_length_ms.
  Status Validate() const;
  std::string ToString() const;
};

/// Row-major [num_frames x dim] features; dim = num_mel_bins even when there are no frames.
struct Features {
  int num_frames = 0;
  int dim = 0;
  std::vector<float> data;
};

class Fbank {
 public:
  /// Validates the config (see FbankConfig::Validate).
  static Result<std::unique_ptr<Fbank>> Create(const FbankConfig& config);
  ~Fbank();

  /// Features of mono samples at config.sample_rate_hz, as decoded (full scale +-1; see
  /// scale_to_int16). Fewer samples than one frame gives 0 frames. Allocates only the output and
  /// per-call scratch.
  Features Compute(std::span<const float> samples) const;
  const FbankConfig& config() const;
  /// Frames produced for n samples (see FbankConfig::snip_edges).
  int NumFrames(size_t num_samples) const;

 private:
  struct Impl;
  explicit Fbank(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::dsp
