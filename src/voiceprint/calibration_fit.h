// Fitting a Calibration from labelled trials (what `voxgate calibrate` does once it has scored
// held-out speech): the logistic LLR model, the threshold holding a false-accept rate, and the
// per-length score bands. Pure functions, thread-safe.
#pragma once

#include <vector>

#include "voiceprint/calibration.h"

namespace voxgate::voiceprint {

struct CalibrationTrial {
  double normalized = 0.0;  // AS-Norm score (or raw cosine)
  double speech_s = 0.0;    // the shorter side's net speech
  bool target = false;
};

/// Prior-weighted logistic regression (targets and non-targets weigh half each, a tiny L2 on
/// the non-constant terms), so that the result is a log-likelihood ratio. Newton's method.
/// Needs trials of both kinds; otherwise returns the identity model.
LlrModel FitLlr(const std::vector<CalibrationTrial>& trials);

/// The lowest threshold t such that at most `far` of `nontarget_scores` are >= t (scores equal
/// to t are accepted). Empty input: +infinity.
double ThresholdAtFalseAcceptRate(std::vector<double> nontarget_scores, double far);

struct BandFitConfig {
  double max_frr = 0.5;  // a level whose FRR would exceed this in a band is not usable
  // The empirical quantile counts only with at least this many expected false accepts among the
  // non-target trials (5 / 0.001 = 5,000 trials for `high`).
  double min_expected_false_accepts = 5.0;
  size_t min_nontarget_trials = 100;  // fewer: the band takes the strictest shorter band's
  size_t min_target_trials = 20;      // fewer: the FRR rule follows the shorter band
};

/// The threshold at upper-tail probability `far` of an exponential tail fitted to the top 10 % of
/// `scores` (peaks over threshold: u = the 90th percentile, t = u + mean excess * ln(0.1 / far)).
/// For rates too rare for the empirical quantile: on this project's held-out non-target scores a
/// Gaussian fit overshoots the observed maximum by a full standard deviation (their right tail
/// is lighter than normal). +infinity for fewer than 20 scores.
double TailThreshold(std::vector<double> scores, double far);

/// One band per group of trials (`groups[i]` were made at probe length `min_speech_s[i]`,
/// ascending). The longest band holds every level; a shorter band where a level would reject more
/// than max_frr of true speakers marks it unusable (inconclusive: speak longer). A level's
/// threshold is the empirical quantile when the band has enough trials for it, else TailThreshold.
std::vector<ScoreBand> FitBands(const std::vector<std::vector<CalibrationTrial>>& groups,
                                const std::vector<double>& min_speech_s,
                                const BandFitConfig& config = {});

}  // namespace voxgate::voiceprint
