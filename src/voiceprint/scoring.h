// Scoring of embeddings and evaluation metrics. Pure functions, thread-safe.
#pragma once

#include <span>
#include <vector>

namespace voxgate::voiceprint {

/// Cosine similarity in [-1, 1]; 0 when either vector is zero or the sizes differ.
float Score(std::span<const float> a, std::span<const float> b);

/// Scales v to unit L2 norm in place (leaves a zero vector alone).
void L2Normalize(std::span<float> v);

struct Trial {
  float score = 0.0f;
  bool target = false;
};

struct EerResult {
  double eer = 0.0;        // equal error rate in [0, 1]
  double threshold = 0.0;  // score threshold at the EER
  double min_dcf = 0.0;    // normalised minimum detection cost
  double min_dcf_threshold = 0.0;
  size_t num_target = 0;
  size_t num_nontarget = 0;
};

/// EER and minDCF (C_miss = C_fa = 1, p_target as given) over trials. Needs at least one trial of
/// each kind; otherwise all figures are 0.
EerResult ComputeEer(std::vector<Trial> trials, double p_target = 0.01);

}  // namespace voxgate::voiceprint
