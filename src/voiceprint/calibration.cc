#include "voiceprint/calibration.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/config_node.h"
#include "voiceprint/scoring.h"

namespace voxgate::voiceprint {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kFormat = "voxgate-calibration/1";

json LevelsJson(const std::array<double, 3>& v) {
  json j = json::object();
  for (SecurityLevel l : kSecurityLevels) j[SecurityLevelName(l)] = v[static_cast<int>(l)];
  return j;
}

json LevelsJson(const std::array<bool, 3>& v) {
  json j = json::object();
  for (SecurityLevel l : kSecurityLevels) j[SecurityLevelName(l)] = v[static_cast<int>(l)];
  return j;
}

template <typename T>
void ReadLevels(const json& j, std::array<T, 3>* out) {
  for (SecurityLevel l : kSecurityLevels)
    out->at(static_cast<int>(l)) = j.at(SecurityLevelName(l)).get<T>();
}

json ChannelJson(const ChannelCalibration& c) {
  json bands = json::array();
  for (const ScoreBand& b : c.bands) {
    bands.push_back({{"min_speech_s", b.min_speech_s},
                     {"threshold", LevelsJson(b.threshold)},
                     {"usable", LevelsJson(b.usable)},
                     {"far", LevelsJson(b.far)},
                     {"frr", LevelsJson(b.frr)},
                     {"target_trials", b.target_trials},
                     {"nontarget_trials", b.nontarget_trials}});
  }
  return {{"llr", {{"a", c.llr.a}, {"b", c.llr.b}, {"c", c.llr.c}, {"d", c.llr.d}}},
          {"typical_cohort", {{"mean", c.typical.mean}, {"std", c.typical.std}}},
          {"eer", c.eer},
          {"bands", bands}};
}

ChannelCalibration ChannelFromJson(const json& j) {
  ChannelCalibration c;
  const json& llr = j.at("llr");
  c.llr = {llr.at("a").get<double>(), llr.at("b").get<double>(), llr.at("c").get<double>(),
           llr.at("d").get<double>()};
  if (j.contains("typical_cohort")) {
    c.typical.mean = j["typical_cohort"].at("mean").get<double>();
    c.typical.std = std::max(kMinCohortStd, j["typical_cohort"].at("std").get<double>());
  }
  c.eer = j.value("eer", 0.0);
  for (const json& jb : j.at("bands")) {
    ScoreBand b;
    b.min_speech_s = jb.at("min_speech_s").get<double>();
    ReadLevels(jb.at("threshold"), &b.threshold);
    ReadLevels(jb.at("usable"), &b.usable);
    if (jb.contains("far")) ReadLevels(jb["far"], &b.far);
    if (jb.contains("frr")) ReadLevels(jb["frr"], &b.frr);
    b.target_trials = jb.value("target_trials", size_t{0});
    b.nontarget_trials = jb.value("nontarget_trials", size_t{0});
    c.bands.push_back(b);
  }
  std::sort(c.bands.begin(), c.bands.end(),
            [](const ScoreBand& a, const ScoreBand& b) { return a.min_speech_s < b.min_speech_s; });
  return c;
}

}  // namespace

const char* SecurityLevelName(SecurityLevel level) {
  switch (level) {
    case SecurityLevel::kHigh:
      return "high";
    case SecurityLevel::kBalanced:
      return "balanced";
    case SecurityLevel::kConvenient:
      return "convenient";
  }
  return "balanced";
}

Result<SecurityLevel> ParseSecurityLevel(std::string_view name) {
  for (SecurityLevel l : kSecurityLevels) {
    if (name == SecurityLevelName(l)) return l;
  }
  return InvalidArgumentError(
      fmt::format("security_level must be high, balanced or convenient (got '{}')",
                  name.size() > 32 ? std::string(name.substr(0, 32)) + "..." : std::string(name)));
}

double TargetFalseAcceptRate(SecurityLevel level) {
  switch (level) {
    case SecurityLevel::kHigh:
      return 0.001;
    case SecurityLevel::kBalanced:
      return 0.01;
    case SecurityLevel::kConvenient:
      return 0.05;
  }
  return 0.01;
}

const char* ChannelName(Channel channel) {
  switch (channel) {
    case Channel::kWideband:
      return "wideband";
    case Channel::kTelephone:
      return "telephone";
    case Channel::kCross:
      return "cross";
  }
  return "wideband";
}

const char* DecisionName(Verdict::Decision decision) {
  switch (decision) {
    case Verdict::Decision::kAccept:
      return "accept";
    case Verdict::Decision::kReject:
      return "reject";
    case Verdict::Decision::kInconclusive:
      return "inconclusive";
  }
  return "reject";
}

Status QualityGates::Validate() const {
  if (!(max_clipping_ratio > 0 && max_clipping_ratio <= 1)) {
    return InvalidArgumentError("service.quality.max_clipping_ratio must be in (0, 1]");
  }
  if (!(min_snr_db >= -10 && min_snr_db <= 60)) {
    return InvalidArgumentError("service.quality.min_snr_db must be in [-10, 60]");
  }
  if (!(min_speech_s >= 0.1))
    return InvalidArgumentError("service.quality.min_speech_s must be >= 0.1");
  return Status::Ok();
}

Status QualityGates::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("max_clipping_ratio", &max_clipping_ratio));
  VOXGATE_RETURN_IF_ERROR(node.Get("min_snr_db", &min_snr_db));
  VOXGATE_RETURN_IF_ERROR(node.Get("min_speech_s", &min_speech_s));
  return Validate();
}

std::string QualityGates::ToString() const {
  return fmt::format("QualityGates(max_clipping_ratio={}, min_snr_db={}, min_speech_s={})",
                     max_clipping_ratio, min_snr_db, min_speech_s);
}

double LlrModel::Llr(double s, double speech_s) const {
  const double q = std::log(std::clamp(speech_s, 0.5, 60.0));
  return a + b * s + c * q + d * s * q;
}

Calibration Calibration::Uncalibrated(double cosine_threshold) {
  Calibration c;
  c.uncalibrated_threshold_ = cosine_threshold;
  return c;
}

Calibration::Calibration(std::string model_id, ScoreCohort cohort,
                         std::array<ChannelCalibration, kChannelCount> channels)
    : calibrated_(true),
      model_id_(std::move(model_id)),
      cohort_(std::move(cohort)),
      channels_(std::move(channels)) {}

std::string Calibration::PathForModel(const std::string& model_path) {
  fs::path p(model_path);
  return (p.parent_path() / (p.stem().string() + ".calibration.json")).string();
}

Result<Calibration> Calibration::Load(const std::string& path, const std::string& model_id) {
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot open calibration file " + path);
  try {
    const json j = json::parse(in);
    if (j.value("format", "") != kFormat) {
      return DataLossError(
          fmt::format("{} is not a {} file (run voxgate calibrate)", path, kFormat));
    }
    Calibration c;
    c.calibrated_ = true;
    c.model_id_ = j.at("model_id").get<std::string>();
    if (!model_id.empty() && c.model_id_ != model_id) {
      return InvalidArgumentError(
          fmt::format("calibration {} was made for model {}, not {}: re-run voxgate calibrate",
                      path, c.model_id_, model_id));
    }
    const json& norm = j.at("score_norm");
    if (norm.at("method").get<std::string>() == "as-norm") {
      const fs::path cohort_path =
          fs::path(path).parent_path() / norm.at("cohort_file").get<std::string>();
      VOXGATE_ASSIGN_OR_RETURN(
          c.cohort_, ScoreCohort::Load(cohort_path.string(), norm.at("cohort_count").get<int>(),
                                       norm.at("dim").get<int>(), norm.at("top_n").get<int>(),
                                       norm.value("wideband_rows", 0)));
    } else if (norm.at("method").get<std::string>() != "none") {
      return DataLossError(path + ": score_norm.method must be as-norm or none");
    }
    const json& channels = j.at("channels");
    for (int ch = 0; ch < kChannelCount; ++ch) {
      const char* name = ChannelName(static_cast<Channel>(ch));
      // Files made before cross-channel trials were measured judge those on the telephone's.
      c.channels_[ch] = ChannelFromJson(
          channels.contains(name) || ch != 2 ? channels.at(name) : channels.at("telephone"));
    }
    for (const auto& ch : c.channels_) {
      if (ch.bands.empty()) return DataLossError(path + ": a channel has no score bands");
    }
    return c;
  } catch (const json::exception& e) {
    return DataLossError(fmt::format("malformed calibration file {}: {}", path, e.what()));
  }
}

Status Calibration::Save(const std::string& path, const std::string& provenance_json) const {
  json j{{"format", kFormat}, {"model_id", model_id_}};
  if (!cohort_.empty()) {
    const std::string cohort_file = fs::path(path).stem().string() + ".cohort.f32";
    j["score_norm"] = {{"method", "as-norm"},
                       {"top_n", cohort_.top_n()},
                       {"cohort_file", cohort_file},
                       {"cohort_count", cohort_.count()},
                       {"wideband_rows", cohort_.wideband_rows()},
                       {"dim", cohort_.dim()}};
    VOXGATE_RETURN_IF_ERROR(cohort_.Save((fs::path(path).parent_path() / cohort_file).string()));
  } else {
    j["score_norm"] = {{"method", "none"}};
  }
  j["channels"] = json::object();
  for (int ch = 0; ch < kChannelCount; ++ch) {
    j["channels"][ChannelName(static_cast<Channel>(ch))] = ChannelJson(channels_[ch]);
  }
  if (!provenance_json.empty()) j["provenance"] = json::parse(provenance_json, nullptr, false);
  std::ofstream out(path, std::ios::trunc);
  out << j.dump(1) << "\n";
  out.close();
  if (!out) return UnavailableError("cannot write " + path);
  return Status::Ok();
}

CohortStatsByChannel Calibration::StatsOf(std::span<const float> embedding) const {
  return cohort_.empty() ? CohortStatsByChannel{} : cohort_.StatsByChannel(embedding);
}

std::optional<double> Calibration::LevelThreshold(Channel channel, SecurityLevel level,
                                                  double speech_s) const {
  const auto& bands = channels_[static_cast<int>(channel)].bands;
  const int l = static_cast<int>(level);
  size_t i = bands.size();
  for (size_t k = 0; k < bands.size(); ++k) {
    if (speech_s + 1e-9 >= bands[k].min_speech_s) i = k;
  }
  if (i == bands.size() || !bands[i].usable[l]) return std::nullopt;
  const double t = bands[i].threshold[l];
  if (i + 1 == bands.size() || !std::isfinite(bands[i + 1].threshold[l])) return t;
  const double x0 = std::log(bands[i].min_speech_s), x1 = std::log(bands[i + 1].min_speech_s);
  const double w = std::clamp((std::log(speech_s) - x0) / (x1 - x0), 0.0, 1.0);
  return t + w * (bands[i + 1].threshold[l] - t);
}

double Calibration::MinSpeechS(Channel channel, SecurityLevel level) const {
  if (!calibrated_) return gates_.min_speech_s;
  for (const ScoreBand& b : channels_[static_cast<int>(channel)].bands) {
    if (b.usable[static_cast<int>(level)]) return std::max(gates_.min_speech_s, b.min_speech_s);
  }
  return std::numeric_limits<double>::infinity();
}

double Calibration::NominalCosineThreshold(SecurityLevel level) const {
  if (!calibrated_) return uncalibrated_threshold_;
  const ChannelCalibration& wb = channels_[0];
  for (auto it = wb.bands.rbegin(); it != wb.bands.rend(); ++it) {
    if (!it->usable[static_cast<int>(level)]) continue;
    const double t = it->threshold[static_cast<int>(level)];
    return cohort_.empty() ? t : ScoreCohort::Denormalize(t, wb.typical, wb.typical);
  }
  return 1.0;
}

double Calibration::ShortProbeCosineThreshold(SecurityLevel level, double fallback) const {
  if (!calibrated_) return fallback;
  const ChannelCalibration& wb = channels_[0];
  if (wb.bands.empty() || !wb.bands.front().usable[static_cast<int>(level)]) return fallback;
  const double t = wb.bands.front().threshold[static_cast<int>(level)];
  return cohort_.empty() ? t : ScoreCohort::Denormalize(t, wb.typical, wb.typical);
}

Channel Calibration::ChannelOf(bool enrolled_narrowband, const dsp::SignalQuality& probe) {
  if (enrolled_narrowband != probe.narrowband) return Channel::kCross;
  return probe.narrowband ? Channel::kTelephone : Channel::kWideband;
}

Verdict Calibration::Judge(double score, const EnrolledEvidence& enrolled,
                           const ProbeEvidence& probe, SecurityLevel level,
                           std::optional<double> cosine_threshold) const {
  // Each side against the cohort heard the way the other side was.
  const CohortStats& enrolled_stats = enrolled.cohort.In(probe.quality.narrowband);
  const CohortStats& probe_stats = probe.cohort.In(enrolled.narrowband);
  Verdict v;
  v.level = level;
  v.channel = ChannelOf(enrolled.narrowband, probe.quality);
  v.score = score;
  const bool norm = calibrated_ && !cohort_.empty();
  v.normalized = norm ? ScoreCohort::Normalize(v.score, enrolled_stats, probe_stats) : v.score;
  if (calibrated_) {
    v.llr = channels_[static_cast<int>(v.channel)].llr.Llr(v.normalized, probe.speech_s);
    v.probability = 1.0 / (1.0 + std::exp(-v.llr));
  } else {
    v.probability = std::clamp(v.score, 0.0, 1.0);
  }

  auto inconclusive = [&](std::string reason) {
    v.decision = Verdict::Decision::kInconclusive;
    v.reason = std::move(reason);
    return v;
  };
  // The threshold first, so that an inconclusive answer still says what it would have needed.
  const std::optional<double> level_threshold =
      calibrated_ ? LevelThreshold(v.channel, level, probe.speech_s) : std::nullopt;
  if (cosine_threshold) {
    v.explicit_threshold = true;
    v.threshold = *cosine_threshold;
  } else if (!calibrated_) {
    v.threshold = uncalibrated_threshold_;
  } else if (level_threshold) {
    v.threshold = norm ? ScoreCohort::Denormalize(*level_threshold, enrolled_stats, probe_stats)
                       : *level_threshold;
  } else {
    v.threshold = NominalCosineThreshold(level);
  }

  if (probe.speech_s < gates_.min_speech_s) {
    return inconclusive(fmt::format("{:.2f} s of speech; at least {:.2f} s needed", probe.speech_s,
                                    gates_.min_speech_s));
  }
  if (probe.quality.clipping_ratio > gates_.max_clipping_ratio) {
    return inconclusive(fmt::format("audio is clipped ({:.1f} % of samples at full scale)",
                                    100 * probe.quality.clipping_ratio));
  }
  if (probe.quality.snr_db < gates_.min_snr_db) {
    return inconclusive(fmt::format("too noisy (SNR estimate {:.1f} dB; at least {:.1f} dB needed)",
                                    probe.quality.snr_db, gates_.min_snr_db));
  }
  if (!cosine_threshold && calibrated_ && !level_threshold) {
    const double need = MinSpeechS(v.channel, level);
    return inconclusive(
        std::isfinite(need)
            ? fmt::format("{:.2f} s of speech; security level {} needs at least {:.2f} s on a {} "
                          "channel",
                          probe.speech_s, SecurityLevelName(level), need, ChannelName(v.channel))
            : fmt::format("security level {} cannot be held on a {} channel with this model",
                          SecurityLevelName(level), ChannelName(v.channel)));
  }
  const bool accept = (cosine_threshold || !calibrated_) ? v.score >= v.threshold
                                                         : v.normalized >= *level_threshold;
  v.decision = accept ? Verdict::Decision::kAccept : Verdict::Decision::kReject;
  if (!accept) {
    v.reason = v.explicit_threshold ? "score below the requested threshold"
                                    : fmt::format("score below the threshold of security level {}",
                                                  SecurityLevelName(level));
  }
  return v;
}

}  // namespace voxgate::voiceprint
