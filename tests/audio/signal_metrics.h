// Measurements on mono signals for the audio tests: level, similarity, tone fits. Header-only.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <span>
#include <vector>

namespace voxgate::audio::testing {

inline double Rms(std::span<const float> x) {
  if (x.empty()) return 0.0;
  double sum = 0.0;
  for (float v : x) sum += static_cast<double>(v) * v;
  return std::sqrt(sum / static_cast<double>(x.size()));
}

inline double MaxAbsDiff(std::span<const float> a, std::span<const float> b) {
  double worst = 0.0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  }
  return worst;
}

/// Normalised cross-correlation of a[i] with b[i + lag] over their overlap.
inline double CorrelationAtLag(std::span<const float> a, std::span<const float> b, int lag) {
  double ab = 0.0, aa = 0.0, bb = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const long j = static_cast<long>(i) + lag;
    if (j < 0 || j >= static_cast<long>(b.size())) continue;
    ab += static_cast<double>(a[i]) * b[j];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[j]) * b[j];
  }
  return (aa > 0 && bb > 0) ? ab / std::sqrt(aa * bb) : 0.0;
}

struct Alignment {
  int lag = 0;
  double correlation = 0.0;
};

/// The lag in [-max_lag, max_lag] with the highest correlation (codecs may shift the signal).
inline Alignment BestAlignment(std::span<const float> a, std::span<const float> b, int max_lag) {
  Alignment best{0, -2.0};
  for (int lag = -max_lag; lag <= max_lag; ++lag) {
    const double c = CorrelationAtLag(a, b, lag);
    if (c > best.correlation) best = {lag, c};
  }
  return best;
}

/// Frame energies in dB (floor -100 dB): the loudness envelope that any codec must keep.
inline std::vector<double> EnvelopeDb(std::span<const float> x, int sample_rate_hz,
                                      double frame_s = 0.02) {
  const size_t frame = static_cast<size_t>(frame_s * sample_rate_hz);
  std::vector<double> env;
  for (size_t start = 0; start + frame <= x.size(); start += frame) {
    const double rms = Rms(x.subspan(start, frame));
    env.push_back(20.0 * std::log10(std::max(rms, 1e-5)));
  }
  return env;
}

/// Pearson correlation of two series over their common length.
inline double Pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = std::min(a.size(), b.size());
  if (n < 2) return 0.0;
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
  ma /= n;
  mb /= n;
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; ++i) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) * (a[i] - ma);
    bb += (b[i] - mb) * (b[i] - mb);
  }
  return ab / std::sqrt(aa * bb);
}

struct ToneFit {
  double amplitude = 0.0;
  double phase_rad = 0.0;  // x ~ amplitude * sin(2 pi f t + phase)
};

/// Least-squares fit of a sinusoid of known frequency (t = index / rate).
inline ToneFit FitTone(std::span<const float> x, int sample_rate_hz, double freq_hz) {
  double ss = 0, sc = 0, cc = 0, xs = 0, xc = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double w = 2.0 * std::numbers::pi * freq_hz * static_cast<double>(i) / sample_rate_hz;
    const double s = std::sin(w), c = std::cos(w);
    ss += s * s, sc += s * c, cc += c * c, xs += x[i] * s, xc += x[i] * c;
  }
  const double det = ss * cc - sc * sc;
  const double a = (xs * cc - xc * sc) / det;  // sin coefficient
  const double b = (xc * ss - xs * sc) / det;  // cos coefficient
  return {std::hypot(a, b), std::atan2(b, a)};
}

/// Frequency from the spacing of upward zero crossings (interpolated): exact for a clean sine.
inline double ZeroCrossingFrequency(std::span<const float> x, int sample_rate_hz) {
  double first = -1, last = -1;
  int crossings = 0;
  for (size_t i = 1; i < x.size(); ++i) {
    if (x[i - 1] < 0 && x[i] >= 0) {
      const double t = (i - 1) + x[i - 1] / (x[i - 1] - x[i]);
      if (first < 0) first = t;
      last = t;
      ++crossings;
    }
  }
  if (crossings < 2) return 0.0;
  return (crossings - 1) * sample_rate_hz / (last - first);
}

inline std::vector<float> Sine(double freq_hz, double amplitude, int sample_rate_hz, double seconds,
                               double phase_rad = 0.0) {
  std::vector<float> x(static_cast<size_t>(std::llround(seconds * sample_rate_hz)));
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(amplitude * std::sin(2.0 * std::numbers::pi * freq_hz *
                                                       static_cast<double>(i) / sample_rate_hz +
                                                   phase_rad));
  }
  return x;
}

/// The middle of a signal, leaving `edge_s` out at each end (filter edge effects).
inline std::span<const float> Middle(std::span<const float> x, int sample_rate_hz, double edge_s) {
  const size_t edge = static_cast<size_t>(edge_s * sample_rate_hz);
  if (x.size() <= 2 * edge) return {};
  return x.subspan(edge, x.size() - 2 * edge);
}

}  // namespace voxgate::audio::testing
