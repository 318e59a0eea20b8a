#include "voiceprint/scoring.h"

#include <algorithm>
#include <cmath>

namespace voxgate::voiceprint {

float Score(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size() || a.empty()) return 0.0f;
  double dot = 0.0, na = 0.0, nb = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na <= 0.0 || nb <= 0.0) return 0.0f;
  return static_cast<float>(dot / std::sqrt(na * nb));
}

void L2Normalize(std::span<float> v) {
  double n = 0.0;
  for (float x : v) n += static_cast<double>(x) * x;
  if (n <= 0.0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(n));
  for (float& x : v) x *= inv;
}

EerResult ComputeEer(std::vector<Trial> trials, double p_target) {
  EerResult r;
  for (const Trial& t : trials) (t.target ? r.num_target : r.num_nontarget)++;
  if (r.num_target == 0 || r.num_nontarget == 0) return r;

  // Sweep the threshold upward through the sorted scores. With the threshold just above score i,
  // every trial at or below i is rejected: misses are targets rejected so far, false alarms are
  // non-targets still accepted.
  std::sort(trials.begin(), trials.end(),
            [](const Trial& a, const Trial& b) { return a.score < b.score; });
  const double nt = static_cast<double>(r.num_target);
  const double nn = static_cast<double>(r.num_nontarget);
  const double c_default = std::min(p_target, 1.0 - p_target);

  size_t misses = 0, rejected_nontargets = 0;
  double best_gap = 2.0;
  r.min_dcf = 1.0;  // the cost of always accepting or always rejecting, normalised
  r.min_dcf_threshold = trials.front().score;
  auto consider = [&](double threshold) {
    const double p_miss = misses / nt;
    const double p_fa = (nn - rejected_nontargets) / nn;
    const double gap = std::abs(p_miss - p_fa);
    if (gap < best_gap) {
      best_gap = gap;
      r.eer = (p_miss + p_fa) / 2.0;
      r.threshold = threshold;
    }
    const double dcf = (p_target * p_miss + (1.0 - p_target) * p_fa) / c_default;
    if (dcf < r.min_dcf) {
      r.min_dcf = dcf;
      r.min_dcf_threshold = threshold;
    }
  };
  consider(trials.front().score);  // accept everything
  for (size_t i = 0; i < trials.size(); ++i) {
    (trials[i].target ? misses : rejected_nontargets)++;
    // Only evaluate between distinct scores: ties must fall on the same side of a threshold.
    if (i + 1 < trials.size() && trials[i + 1].score == trials[i].score) continue;
    const double next = i + 1 < trials.size() ? trials[i + 1].score : trials[i].score + 1e-6;
    consider((trials[i].score + next) / 2.0);
  }
  return r;
}

}  // namespace voxgate::voiceprint
