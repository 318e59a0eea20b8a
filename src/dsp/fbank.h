// Kaldi-compatible log-mel filterbank features, matching torchaudio.compliance.kaldi.fbank (and so
// the features 3D-Speaker and WeSpeaker models were trained on). The Fbank object precomputes the
// window, FFT twiddles and mel banks and is immutable after construction: Compute() is thread-safe.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace voxgate::dsp {

struct FbankConfig {
  int sample_rate_hz = 16000;
  int num_mel_bins = 80;
  float frame_length_ms = 25.0f;
  float frame_shift_ms = 10.0f;
  float preemphasis = 0.97f;
  bool remove_dc_offset = true;
  std::string window_type = "povey";  // povey | hamming | hanning | rectangular
  float low_freq_hz = 20.0f;
  float high_freq_hz = 0.0f;  // <= 0: offset from Nyquist
  bool snip_edges = true;
  // Multiply samples by 32768 before analysis (WeSpeaker-style models expect int16-scaled input).
  bool scale_to_int16 = false;
  // Subtract the per-utterance mean of each bin (3D-Speaker's "global-mean" normalisation).
  bool mean_normalize = true;

  Status Validate() const;
  std::string ToString() const;
};

/// Row-major [num_frames x dim] features.
struct Features {
  int num_frames = 0;
  int dim = 0;
  std::vector<float> data;
};

class Fbank {
 public:
  static Result<std::unique_ptr<Fbank>> Create(const FbankConfig& config);
  ~Fbank();

  /// Features of mono samples at config.sample_rate_hz. Fewer samples than one frame gives 0 frames.
  Features Compute(std::span<const float> samples) const;
  const FbankConfig& config() const;
  /// Frames produced for n samples (snip_edges semantics).
  int NumFrames(size_t num_samples) const;

 private:
  struct Impl;
  explicit Fbank(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::dsp
