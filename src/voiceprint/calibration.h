// Calibration: turns a raw cosine score into a verdict people can rely on. It ships beside the
// model (`<model stem>.calibration.json` plus a cohort file, made by `voxgate calibrate` from
// held-out labelled speech and tied to the model id) and holds:
//  - AS-Norm against an impostor cohort (score_cohort.h), so one threshold fits every user;
//  - per channel, a logistic calibration of the normalised score and the probe's speech length
//    into a log-likelihood ratio. The channel is that of the trial, not of the probe alone:
//    wideband (both sides wideband), telephone (both narrow-band) or cross (one side of each: an
//    app-enrolled user calling in), whose scores are lower for true and false speakers alike;
//  - per channel and probe length band, the normalised-score threshold of each operating point
//    (`security_level`: high / balanced / convenient = target false-accept rate 0.1 / 1 / 5 %),
//    measured on held-out non-target trials of that length; a band where a level cannot be held
//    answers `inconclusive` for it (short probes need more evidence).
//  - quality gates (net speech, clipping, SNR) that answer `inconclusive` with a reason.
// A model without a calibration file is judged on its metadata threshold alone ("uncalibrated").
//
// Immutable after Load()/Create(): thread-safe.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "dsp/signal_quality.h"
#include "voiceprint/score_cohort.h"

namespace voxgate {
class ConfigNode;
}

namespace voxgate::voiceprint {

enum class SecurityLevel { kHigh = 0, kBalanced = 1, kConvenient = 2 };
inline constexpr std::array<SecurityLevel, 3> kSecurityLevels = {
    SecurityLevel::kHigh, SecurityLevel::kBalanced, SecurityLevel::kConvenient};
const char* SecurityLevelName(SecurityLevel level);
/// "high" | "balanced" | "convenient"; kInvalidArgument otherwise.
Result<SecurityLevel> ParseSecurityLevel(std::string_view name);
/// The false-accept rate a level is calibrated to hold: 0.001, 0.01, 0.05.
double TargetFalseAcceptRate(SecurityLevel level);

/// The channel of a trial: what the enrolled voiceprint and the probe went through.
enum class Channel { kWideband = 0, kTelephone = 1, kCross = 2 };
inline constexpr int kChannelCount = 3;
/// "wideband" | "telephone" | "cross".
const char* ChannelName(Channel channel);

/// Operator policy on probe quality (service.quality in the config). Applies to every verdict.
struct QualityGates {
  double max_clipping_ratio = 0.01;  // more clipped samples: inconclusive
  double min_snr_db = 3.0;           // a lower SNR estimate: inconclusive
  double min_speech_s = 1.0;         // less net speech: inconclusive (the calibration may ask more)

  Status Validate() const;
  Status Load(const ConfigNode& node);
  std::string ToString() const;
};

/// llr = a + b * s + c * q + d * s * q, with s the normalised score and q = ln(probe speech s).
struct LlrModel {
  double a = 0.0, b = 1.0, c = 0.0, d = 0.0;
  double Llr(double normalized_score, double speech_s) const;
};

/// Thresholds measured on probes of `min_speech_s` of speech; they apply from that length on,
/// interpolated towards the next band's.
struct ScoreBand {
  double min_speech_s = 0.0;
  std::array<double, 3> threshold{};  // normalised score, by SecurityLevel
  std::array<bool, 3> usable{};       // false: the level cannot be held here -> inconclusive
  // Measured on the calibration trials of this band (documentation only).
  std::array<double, 3> frr{};
  std::array<double, 3> far{};
  size_t target_trials = 0;
  size_t nontarget_trials = 0;
};

struct ChannelCalibration {
  std::vector<ScoreBand> bands;  // ascending min_speech_s
  LlrModel llr;
  CohortStats typical;  // mean cohort stats of the calibration embeddings (for display thresholds)
  double eer = 0.0;     // of the normalised score over all bands' trials (documentation only)
};

/// The enrolled side of a trial as a verdict needs it.
struct EnrolledEvidence {
  CohortStatsByChannel cohort;  // Calibration::StatsOf(voiceprint), once per enrollment
  bool narrowband = false;      // enrolled mostly (by speech) from narrow-band audio
};

/// One probe as a verdict needs it.
struct ProbeEvidence {
  std::span<const float> embedding;  // L2-normalised
  double speech_s = 0.0;
  dsp::SignalQuality quality;
  CohortStatsByChannel cohort;  // Calibration::StatsOf(embedding), computed once per probe
};

struct Verdict {
  enum class Decision { kAccept, kReject, kInconclusive };
  Decision decision = Decision::kReject;
  double score = 0.0;        // raw cosine
  double normalized = 0.0;   // AS-Norm score (== score without a cohort)
  double llr = 0.0;          // calibrated log-likelihood ratio (0 when uncalibrated)
  double probability = 0.0;  // P(same speaker) at equal priors: sigmoid(llr); uncalibrated: score
  double threshold = 0.0;    // the raw-cosine threshold this trial was held to
  Channel channel = Channel::kWideband;
  SecurityLevel level = SecurityLevel::kBalanced;
  bool explicit_threshold = false;
  std::string reason;  // why rejected or inconclusive ("" when accepted)

  bool accepted() const { return decision == Decision::kAccept; }
  bool inconclusive() const { return decision == Decision::kInconclusive; }
};
const char* DecisionName(Verdict::Decision decision);

class Calibration {
 public:
  /// No cohort, no LLR: every level uses `cosine_threshold` (the model's metadata threshold).
  static Calibration Uncalibrated(double cosine_threshold);
  /// Reads a calibration file written by Save(); the cohort file is resolved beside it.
  /// kInvalidArgument when it was made for another model id (unless model_id is empty),
  /// kNotFound / kDataLoss for missing or malformed files.
  static Result<Calibration> Load(const std::string& path, const std::string& model_id);
  /// `<dir of model>/<model stem>.calibration.json`.
  static std::string PathForModel(const std::string& model_path);

  /// Built by `voxgate calibrate`.
  Calibration(std::string model_id, ScoreCohort cohort,
              std::array<ChannelCalibration, kChannelCount> channels);

  /// Writes the JSON (with `provenance` merged in) and the cohort beside it.
  Status Save(const std::string& path, const std::string& provenance_json) const;

  bool calibrated() const { return calibrated_; }
  const std::string& model_id() const { return model_id_; }
  const ScoreCohort& cohort() const { return cohort_; }
  const ChannelCalibration& channel(Channel c) const { return channels_[static_cast<int>(c)]; }
  void set_gates(const QualityGates& gates) { gates_ = gates; }
  const QualityGates& gates() const { return gates_; }

  /// Cohort statistics of one side against each channel's cohort ({0, 1} without a cohort).
  CohortStatsByChannel StatsOf(std::span<const float> embedding) const;
  /// The least speech a probe needs at `level` on `channel` to be judged at all.
  double MinSpeechS(Channel channel, SecurityLevel level) const;
  /// The wideband normalised-score threshold of `level` for long probes, as a raw cosine against
  /// an average voice (for display where no trial is at hand); the model threshold uncalibrated.
  double NominalCosineThreshold(SecurityLevel level) const;
  /// The raw cosine below which a probe of the shortest calibrated length fails `level` (its
  /// wideband threshold, de-normalised with the typical cohort statistics): what live speaker-
  /// change detection compares 2-s chunks with. `fallback` when uncalibrated or not usable.
  double ShortProbeCosineThreshold(SecurityLevel level, double fallback) const;

  /// The verdict on `probe` given its raw cosine `score` against an enrolled voiceprint.
  /// `cosine_threshold`, when given, replaces the level's threshold (raw cosine, no
  /// normalisation), but the quality gates still apply.
  Verdict Judge(double score, const EnrolledEvidence& enrolled, const ProbeEvidence& probe,
                SecurityLevel level, std::optional<double> cosine_threshold = std::nullopt) const;

  /// The channel of a trial: wideband or telephone when both sides agree, cross otherwise.
  static Channel ChannelOf(bool enrolled_narrowband, const dsp::SignalQuality& probe);
  /// The channel of the audio itself: telephone for narrow-band audio, else wideband.
  static Channel ChannelOf(const dsp::SignalQuality& audio) {
    return ChannelOf(audio.narrowband, audio);
  }

 private:
  Calibration() = default;
  // The normalised-score threshold of `level` for a probe of `speech_s`: interpolated in
  // ln(speech) between the bands measured at the lengths around it (a probe just under one band's
  // length is held to nearly that band's threshold, not to the shorter band's), the longest
  // band's beyond it. nullopt when the level cannot be held at that length (below the first
  // band, or in a band where it would reject too many true speakers).
  std::optional<double> LevelThreshold(Channel channel, SecurityLevel level, double speech_s) const;

  bool calibrated_ = false;
  std::string model_id_;
  ScoreCohort cohort_;
  std::array<ChannelCalibration, kChannelCount> channels_;
  double uncalibrated_threshold_ = 0.5;
  QualityGates gates_;
};

}  // namespace voxgate::voiceprint
