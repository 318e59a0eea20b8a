#include "dsp/high_pass_filter.h"

#include <cmath>
#include <complex>
#include <numbers>
#include <sstream>

#include "audio/audio_clip.h"

namespace voxgate::dsp {
namespace {

// State below this is flushed to zero: in silence the state decays geometrically and would
// otherwise reach subnormal doubles, which cost ~100x per operation on x86. Far below anything
// audible (float samples cannot even represent it next to a signal).
constexpr double kFlushBelow = 1e-30;

double Flush(double v) { return std::abs(v) < kFlushBelow ? 0.0 : v; }

}  // namespace

Status HighPassConfig::Validate() const {
  if (!(cutoff_hz > 0.0) || !std::isfinite(cutoff_hz)) {
    return InvalidArgumentError("high_pass.cutoff_hz must be > 0, got " +
                                std::to_string(cutoff_hz));
  }
  if (order != 2 && order != 4) {
    return InvalidArgumentError("high_pass.order must be 2 or 4, got " + std::to_string(order));
  }
  return Status::Ok();
}

std::string HighPassConfig::ToString() const {
  std::ostringstream os;
  os << "HighPassConfig(cutoff_hz=" << cutoff_hz << ", order=" << order << ")";
  return os.str();
}

Status HighPassConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("cutoff_hz", &cutoff_hz));
  VOXGATE_RETURN_IF_ERROR(node.Get("order", &order));
  return Status::Ok();
}

Result<HighPassFilter> HighPassFilter::Create(const HighPassConfig& config, int sample_rate_hz) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  if (sample_rate_hz <= 0 || sample_rate_hz > audio::kMaxSampleRateHz) {
    return InvalidArgumentError("high-pass filter: sample rate must be 1.." +
                                std::to_string(audio::kMaxSampleRateHz) + " Hz, got " +
                                std::to_string(sample_rate_hz));
  }
  if (config.cutoff_hz >= 0.45 * sample_rate_hz) {
    return InvalidArgumentError("high-pass filter: cutoff " + std::to_string(config.cutoff_hz) +
                                " Hz is too close to Nyquist at " + std::to_string(sample_rate_hz) +
                                " Hz");
  }
  return HighPassFilter(config, sample_rate_hz);
}

HighPassFilter::HighPassFilter(const HighPassConfig& config, int sample_rate_hz)
    : config_(config), sample_rate_hz_(sample_rate_hz), num_sections_(config.order / 2) {
  // Butterworth poles in pairs: section k has Q = 1 / (2 cos((2k + 1) pi / (2 order))).
  // RBJ's high-pass biquad is the bilinear transform of s^2 / (s^2 + s/Q + 1) pre-warped at w0.
  const double w0 = 2.0 * std::numbers::pi * config.cutoff_hz / sample_rate_hz;
  const double cos_w0 = std::cos(w0), sin_w0 = std::sin(w0);
  for (int k = 0; k < num_sections_; ++k) {
    const double q = 1.0 / (2.0 * std::cos((2 * k + 1) * std::numbers::pi / (2.0 * config.order)));
    const double alpha = sin_w0 / (2.0 * q);
    const double a0 = 1.0 + alpha;
    Biquad& s = sections_[static_cast<size_t>(k)];
    s.b0 = (1.0 + cos_w0) / 2.0 / a0;
    s.b1 = -(1.0 + cos_w0) / a0;
    s.b2 = s.b0;
    s.a1 = -2.0 * cos_w0 / a0;
    s.a2 = (1.0 - alpha) / a0;
  }
}

void HighPassFilter::Process(std::span<float> samples) {
  // Sample by sample through all sections, so the signal stays in double between them.
  for (float& v : samples) {
    double x = v;
    for (int k = 0; k < num_sections_; ++k) {
      Biquad& s = sections_[static_cast<size_t>(k)];
      const double y = s.b0 * x + s.s1;
      s.s1 = Flush(s.b1 * x - s.a1 * y + s.s2);
      s.s2 = Flush(s.b2 * x - s.a2 * y);
      x = y;
    }
    v = static_cast<float>(x);
  }
}

void HighPassFilter::Reset() {
  for (Biquad& s : sections_) s.s1 = s.s2 = 0.0;
}

double HighPassFilter::MagnitudeAt(double freq_hz) const {
  const std::complex<double> z1 =
      std::polar(1.0, -2.0 * std::numbers::pi * freq_hz / sample_rate_hz_);  // z^-1
  const std::complex<double> z2 = z1 * z1;
  std::complex<double> h = 1.0;
  for (int k = 0; k < num_sections_; ++k) {
    const Biquad& s = sections_[static_cast<size_t>(k)];
    h *= (s.b0 + s.b1 * z1 + s.b2 * z2) / (1.0 + s.a1 * z1 + s.a2 * z2);
  }
  return std::abs(h);
}

}  // namespace voxgate::dsp
