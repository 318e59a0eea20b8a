// HighPassFilter: the pipeline's first clean-up stage, removing DC offset, rumble and mains hum
// below the voice band before noise suppression and VAD (which both misjudge low-frequency energy
// as signal). A Butterworth high-pass of order 2 or 4 (cascaded biquads from the bilinear
// transform with the cutoff pre-warped, so the -3 dB point is exactly cutoff_hz), run in double
// in transposed direct form II: at an 80 Hz cutoff and 48 kHz the poles sit within 0.01 of the
// unit circle, where float coefficients and state would drift.
//
// Per stream; not thread-safe. Process() neither allocates nor locks.
#pragma once

#include <array>
#include <span>
#include <string>

#include "common/config_node.h"
#include "common/result.h"

namespace voxgate::dsp {

struct HighPassConfig {
  double cutoff_hz = 80;  // -3 dB point, Hz; below the lowest voice pitch (~85 Hz), above hum
  int order = 2;          // 2 or 4: cascaded biquads, Butterworth (12 or 24 dB per octave)

  /// cutoff_hz > 0 and finite, order 2 or 4 (the cutoff against the rate is checked by Create).
  Status Validate() const;
  std::string ToString() const;
  /// Reads cutoff_hz, order.
  Status Load(const ConfigNode& node);
};

class HighPassFilter {
 public:
  /// kInvalidArgument on an invalid config, a rate outside 1..768000 Hz, or a cutoff not below
  /// 0.45 x the rate (the bilinear transform warps badly near Nyquist).
  static Result<HighPassFilter> Create(const HighPassConfig& config, int sample_rate_hz);

  /// Filters in place. State carries across calls: any chunking gives exactly the output of one
  /// call on the whole signal. Allocation-free.
  void Process(std::span<float> samples);
  /// Clears the state, as for a new stream.
  void Reset();

  /// The filter's gain at freq_hz (the digital Butterworth response), linear.
  double MagnitudeAt(double freq_hz) const;
  const HighPassConfig& config() const { return config_; }
  int sample_rate_hz() const { return sample_rate_hz_; }

 private:
  struct Biquad {
    double b0 = 1, b1 = 0, b2 = 0, a1 = 0, a2 = 0;  // normalised: a0 = 1
    double s1 = 0, s2 = 0;                          // transposed direct form II state
  };
  static constexpr int kMaxSections = 2;

  HighPassFilter(const HighPassConfig& config, int sample_rate_hz);

  HighPassConfig config_;
  int sample_rate_hz_;
  int num_sections_ = 0;
  std::array<Biquad, kMaxSections> sections_{};
};

}  // namespace voxgate::dsp
