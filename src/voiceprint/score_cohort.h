// ScoreCohort: the impostor cohort behind adaptive symmetric score normalisation (AS-Norm).
//
// A cohort is a set of L2-normalised embeddings of speakers who are nobody's enrolled user (the
// starter model ships the mean embeddings of training speakers, in both channels). For one side of
// a trial (an enrolled voiceprint or a probe) the cohort gives the mean and standard deviation of
// that side's top-N cosine scores against the cohort: how high an impostor typically scores
// against *this* voice. AS-Norm then scores a trial as
//     s_norm = ((s - mean_e) / std_e + (s - mean_p) / std_p) / 2,
// which removes most of the per-speaker and per-condition offset of raw cosines, so that one
// threshold means the same false-accept rate for every enrolled user and channel. A cohort may be
// split by channel (wideband rows first, then telephone rows): then each side is measured against
// the part in the other side's channel (CohortStatsByChannel), the impostors it meets in a trial.
//
// Immutable after Create(): thread-safe. Cost per side: one dot product per cohort member.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace voxgate::voiceprint {

/// The top-N cohort statistics of one side of a trial.
struct CohortStats {
  double mean = 0.0;
  double std = 1.0;  // never below kMinCohortStd
};

/// One side's statistics against each channel's part of the cohort. A trial normalises each side
/// against the cohort in the OTHER side's channel: the enrolled voiceprint against impostors heard
/// the way the probe was, the probe against impostors enrolled the way the voiceprint was.
struct CohortStatsByChannel {
  CohortStats wideband;
  CohortStats telephone;
  const CohortStats& In(bool narrowband) const { return narrowband ? telephone : wideband; }
};

inline constexpr double kMinCohortStd = 1e-3;

class ScoreCohort {
 public:
  ScoreCohort() = default;
  /// `embeddings`: count x dim row-major, each row L2-normalised (rows are re-normalised here).
  /// top_n is clamped to the cohort size. The first `wideband_rows` rows are wideband voices,
  /// the rest telephone ones; 0 (or all rows): one cohort for both channels (a part smaller than
  /// top_n uses all its rows). kInvalidArgument: empty, ragged or non-finite input.
  static Result<ScoreCohort> Create(std::vector<float> embeddings, int dim, int top_n,
                                    int wideband_rows = 0);
  /// Reads `count` x `dim` little-endian float32 values from a file (the calibration file's
  /// "cohort" part). kNotFound / kDataLoss on a missing or short file.
  static Result<ScoreCohort> Load(const std::string& path, int count, int dim, int top_n,
                                  int wideband_rows = 0);
  /// Writes the embeddings as Load() reads them.
  Status Save(const std::string& path) const;

  bool empty() const { return count_ == 0; }
  int count() const { return count_; }
  int dim() const { return dim_; }
  int top_n() const { return top_n_; }
  /// Rows of wideband voices (the first ones); 0 when the cohort is not split by channel.
  int wideband_rows() const { return wideband_rows_; }

  /// Top-N statistics of `embedding` (L2-normalised, dim() values) against each channel's part
  /// of the cohort (both the whole cohort's when it is not split). An empty cohort or a wrong
  /// size gives {0, 1} for both.
  CohortStatsByChannel StatsByChannel(std::span<const float> embedding) const;

  /// AS-Norm of raw cosine `score` given both sides' statistics.
  static double Normalize(double score, const CohortStats& enrolled, const CohortStats& probe);
  /// The raw cosine at which Normalize() equals `normalized` (AS-Norm is affine in the score).
  static double Denormalize(double normalized, const CohortStats& enrolled,
                            const CohortStats& probe);

 private:
  std::vector<float> embeddings_;
  int count_ = 0;
  int dim_ = 0;
  int top_n_ = 0;
  int wideband_rows_ = 0;
};

}  // namespace voxgate::voiceprint
