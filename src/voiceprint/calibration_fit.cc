#include "voiceprint/calibration_fit.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>

namespace voxgate::voiceprint {
namespace {

// Solves the 4x4 system a x = b in place (Gaussian elimination with partial pivoting).
bool Solve4(std::array<std::array<double, 4>, 4> a, std::array<double, 4> b,
            std::array<double, 4>* x) {
  for (int c = 0; c < 4; ++c) {
    int p = c;
    for (int r = c + 1; r < 4; ++r) {
      if (std::abs(a[r][c]) > std::abs(a[p][c])) p = r;
    }
    if (std::abs(a[p][c]) < 1e-12) return false;
    std::swap(a[p], a[c]);
    std::swap(b[p], b[c]);
    for (int r = c + 1; r < 4; ++r) {
      const double f = a[r][c] / a[c][c];
      for (int k = c; k < 4; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  for (int r = 3; r >= 0; --r) {
    double s = b[r];
    for (int k = r + 1; k < 4; ++k) s -= a[r][k] * (*x)[k];
    (*x)[r] = s / a[r][r];
  }
  return true;
}

}  // namespace

LlrModel FitLlr(const std::vector<CalibrationTrial>& trials) {
  size_t nt = 0, nn = 0;
  for (const auto& t : trials) (t.target ? nt : nn)++;
  if (nt == 0 || nn == 0) return {};
  const double wt = 0.5 / nt, wn = 0.5 / nn;
  constexpr double kL2 = 1e-6;  // only keeps separable data finite
  auto features = [](const CalibrationTrial& t) {
    const double q = std::log(std::clamp(t.speech_s, 0.5, 60.0));
    return std::array<double, 4>{1.0, t.normalized, q, t.normalized * q};
  };
  // The prior-weighted cross-entropy (in nats) plus the L2 term, at weights w.
  auto loss = [&](const std::array<double, 4>& w) {
    double sum = 0.0;
    for (const auto& t : trials) {
      const auto f = features(t);
      double z = 0.0;
      for (int k = 0; k < 4; ++k) z += w[k] * f[k];
      // log(1 + e^{-z}) for targets, log(1 + e^{z}) for non-targets, overflow-safe.
      const double m = t.target ? -z : z;
      sum +=
          (t.target ? wt : wn) * (m > 0 ? m + std::log1p(std::exp(-m)) : std::log1p(std::exp(m)));
    }
    for (int k = 1; k < 4; ++k) sum += 0.5 * kL2 * w[k] * w[k];
    return sum;
  };
  std::array<double, 4> w{0.0, 1.0, 0.0, 0.0};
  double current = loss(w);
  for (int iter = 0; iter < 100; ++iter) {
    std::array<double, 4> grad{};
    std::array<std::array<double, 4>, 4> hess{};
    for (const auto& t : trials) {
      const auto f = features(t);
      double z = 0.0;
      for (int k = 0; k < 4; ++k) z += w[k] * f[k];
      const double p = 1.0 / (1.0 + std::exp(-z));
      const double weight = t.target ? wt : wn;
      const double y = t.target ? 1.0 : 0.0;
      for (int i = 0; i < 4; ++i) {
        grad[i] += weight * (p - y) * f[i];
        for (int j = 0; j < 4; ++j) hess[i][j] += weight * p * (1 - p) * f[i] * f[j];
      }
    }
    for (int i = 1; i < 4; ++i) {
      grad[i] += kL2 * w[i];
      hess[i][i] += kL2;
    }
    std::array<double, 4> step{};
    if (!Solve4(hess, grad, &step)) break;
    // Damped Newton: halve the step until the loss goes down (plain Newton can overshoot on
    // nearly separable trials).
    bool improved = false;
    for (double scale = 1.0; scale > 1e-6; scale /= 2) {
      std::array<double, 4> trial = w;
      for (int k = 0; k < 4; ++k) trial[k] -= scale * step[k];
      const double l = loss(trial);
      if (l < current) {
        improved = current - l > 1e-12;
        w = trial;
        current = l;
        break;
      }
    }
    if (!improved) break;
  }
  return {w[0], w[1], w[2], w[3]};
}

double ThresholdAtFalseAcceptRate(std::vector<double> scores, double far) {
  if (scores.empty()) return std::numeric_limits<double>::infinity();
  std::sort(scores.begin(), scores.end(), std::greater<double>());
  // Accepting scores >= t admits every score above t; at most k of them may pass.
  const size_t k = static_cast<size_t>(std::floor(far * static_cast<double>(scores.size()) + 1e-9));
  if (k >= scores.size()) return scores.back();
  // Scores tied with scores[k] must all be rejected, so t sits just above them.
  return std::nextafter(scores[k], std::numeric_limits<double>::infinity());
}

double TailThreshold(std::vector<double> scores, double far) {
  constexpr double kTail = 0.1;
  if (scores.size() < 20 || far <= 0) return std::numeric_limits<double>::infinity();
  if (far >= kTail) return ThresholdAtFalseAcceptRate(std::move(scores), far);
  std::sort(scores.begin(), scores.end(), std::greater<double>());
  const size_t k = static_cast<size_t>(kTail * static_cast<double>(scores.size()));
  const double u = scores[k];
  double excess = 0.0;
  for (size_t i = 0; i < k; ++i) excess += scores[i] - u;
  excess /= static_cast<double>(std::max<size_t>(k, 1));
  return u + excess * std::log(kTail / far);
}

std::vector<ScoreBand> FitBands(const std::vector<std::vector<CalibrationTrial>>& groups,
                                const std::vector<double>& min_speech_s,
                                const BandFitConfig& config) {
  std::vector<ScoreBand> bands;
  for (size_t g = 0; g < groups.size() && g < min_speech_s.size(); ++g) {
    ScoreBand b;
    b.min_speech_s = min_speech_s[g];
    std::vector<double> targets, nontargets;
    for (const auto& t : groups[g]) (t.target ? targets : nontargets).push_back(t.normalized);
    b.target_trials = targets.size();
    b.nontarget_trials = nontargets.size();
    for (SecurityLevel level : kSecurityLevels) {
      const int l = static_cast<int>(level);
      const double far = TargetFalseAcceptRate(level);
      double t = -std::numeric_limits<double>::infinity();
      if (nontargets.size() >= config.min_nontarget_trials) {
        t = static_cast<double>(nontargets.size()) * far >= config.min_expected_false_accepts
                ? ThresholdAtFalseAcceptRate(nontargets, far)
                : TailThreshold(nontargets, far);
      } else {
        for (const ScoreBand& shorter : bands) t = std::max(t, shorter.threshold[l]);
      }
      if (!std::isfinite(t)) continue;
      const auto below = [&](const std::vector<double>& v) {
        return v.empty() ? 0.0
                         : static_cast<double>(
                               std::count_if(v.begin(), v.end(), [&](double s) { return s < t; })) /
                               static_cast<double>(v.size());
      };
      b.threshold[l] = t;
      b.frr[l] = below(targets);
      b.far[l] = 1.0 - below(nontargets);
      // The longest band is always usable: no longer probe would do better, so a strict level
      // there is strict rather than unanswerable. Shorter bands answer inconclusive ("speak
      // longer") when the level would reject too many true speakers.
      const bool longest = g + 1 == groups.size() || g + 1 == min_speech_s.size();
      b.usable[l] = longest || (targets.size() >= config.min_target_trials
                                    ? b.frr[l] <= config.max_frr
                                    : !bands.empty() && bands.back().usable[l]);
    }
    bands.push_back(b);
  }
  return bands;
}

}  // namespace voxgate::voiceprint
