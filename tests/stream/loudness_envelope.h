// Loudness envelopes for the broadcast tests: whether a recording carries the speech that was sent,
// judged by how its 100 ms loudness follows the sent audio's at the best small delay.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "stream/speech_track.h"

namespace voxgate::testing {

/// stream::SpeechLevel of each whole block of `block` samples.
inline std::vector<float> Levels(std::span<const float> samples, size_t block) {
  std::vector<float> out;
  for (size_t i = 0; i + block <= samples.size(); i += block) {
    out.push_back(stream::SpeechLevel(samples.subspan(i, block)));
  }
  return out;
}

/// Pearson correlation of a and b delayed by 0..max_lag blocks, the best of them (-1 if none).
inline double BestCorrelation(const std::vector<float>& a, const std::vector<float>& b,
                              size_t max_lag) {
  double best = -1;
  for (size_t lag = 0; lag <= max_lag && lag < b.size(); ++lag) {
    const size_t n = std::min(a.size(), b.size() - lag);
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; ++i) {
      ma += a[i];
      mb += b[i + lag];
    }
    ma /= double(n);
    mb /= double(n);
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; ++i) {
      const double x = a[i] - ma, y = b[i + lag] - mb;
      sab += x * y;
      saa += x * x;
      sbb += y * y;
    }
    if (saa > 0 && sbb > 0) best = std::max(best, sab / std::sqrt(saa * sbb));
  }
  return best;
}

}  // namespace voxgate::testing
