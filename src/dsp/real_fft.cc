#include "dsp/real_fft.h"

#include <cassert>
#include <kissfft.hh>
#include <string>

namespace voxgate::dsp {

// transform_real() treats the N real samples as N/2 complex ones, runs the complex FFT of size
// N/2 and splits the result: dst[0] = (X[0], X[N/2]), dst[k] = X[k] for 0 < k < N/2.
struct RealFft::Plan {
  explicit Plan(int half) : fft(half, /*inverse=*/false) {}
  kissfft<double> fft;
};

Result<std::unique_ptr<RealFft>> RealFft::Create(int size) {
  if (size < 4 || size > (1 << 20) || (size & (size - 1)) != 0) {
    return InvalidArgumentError("RealFft: size " + std::to_string(size) +
                                " is not a power of two in [4, 2^20]");
  }
  return std::unique_ptr<RealFft>(new RealFft(size, std::make_unique<Plan>(size / 2)));
}

RealFft::RealFft(int size, std::unique_ptr<Plan> plan) : size_(size), plan_(std::move(plan)) {}
RealFft::~RealFft() = default;

void RealFft::PowerSpectrum(std::span<const double> x, std::span<double> power,
                            std::span<std::complex<double>> scratch) const {
  const int half = size_ / 2;
  assert(static_cast<int>(x.size()) == size_);
  assert(static_cast<int>(power.size()) == half + 1);
  assert(static_cast<int>(scratch.size()) >= half);
  std::complex<double>* spec = scratch.data();
  plan_->fft.transform_real(x.data(), spec);
  power[0] = spec[0].real() * spec[0].real();
  power[half] = spec[0].imag() * spec[0].imag();
  for (int k = 1; k < half; ++k) power[k] = std::norm(spec[k]);
}

}  // namespace voxgate::dsp
