// Power spectrum of a real signal through a forward FFT of power-of-two size, in double precision,
// on KISS FFT's C++ template (kissfft.hh from libkissfft-dev, BSD-3-Clause). Private to dsp/:
// Fbank and MeasureSignalQuality use it.
//
// Why double: on real speech some mel bins sit 90-120 dB below the frame's total energy (e.g.
// LibriSpeech's empty low band after pre-emphasis), where a float32 FFT's rounding alone moves the
// log energy by up to 1e-2. Double keeps us within 1e-5 of the exact Kaldi result at a cost that
// does not matter here (a 512-point transform every 10 ms). libkissfft's shared library only comes
// in float, hence the header-only template.
//
// Thread-safe: the plan is immutable after Create() (for power-of-two sizes KISS FFT uses only
// its radix-2/4 butterflies, which never touch the template's mutable scratch), and every buffer
// PowerSpectrum() writes is the caller's.
#pragma once

#include <complex>
#include <memory>
#include <span>

#include "common/result.h"

namespace voxgate::dsp {

class RealFft {
 public:
  /// size: a power of two, 4 <= size <= 2^20.
  static Result<std::unique_ptr<RealFft>> Create(int size);
  ~RealFft();
  RealFft(const RealFft&) = delete;
  RealFft& operator=(const RealFft&) = delete;

  /// Number of real input samples (N).
  int size() const { return size_; }
  /// Complex values of scratch that PowerSpectrum() needs (N/2).
  int scratch_size() const { return size_ / 2; }

  /// power[k] = |X[k]|^2 for k = 0..N/2, where X is the unnormalised DFT of the N samples of x
  /// (X[k] = sum_n x[n] e^{-2 pi i k n / N}, as numpy/torch rfft). Preconditions: x.size() == N,
  /// power.size() == N/2 + 1, scratch.size() >= scratch_size().
  void PowerSpectrum(std::span<const double> x, std::span<double> power,
                     std::span<std::complex<double>> scratch) const;

 private:
  struct Plan;
  RealFft(int size, std::unique_ptr<Plan> plan);

  int size_;
  std::unique_ptr<Plan> plan_;
};

}  // namespace voxgate::dsp
