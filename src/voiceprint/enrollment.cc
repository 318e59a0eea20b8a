#include "voiceprint/enrollment.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/config_node.h"
#include "voiceprint/scoring.h"

namespace voxgate::voiceprint {

Status EnrollmentConfig::Validate() const {
  if (min_sample_speech_s < 0 || min_total_speech_s < 0 || recommended_speech_s < 0) {
    return InvalidArgumentError("enrollment speech limits must be >= 0");
  }
  if (consistency_threshold < -1 || consistency_threshold > 1) {
    return InvalidArgumentError("enrollment.consistency_threshold must be in [-1, 1]");
  }
  return Status::Ok();
}

Status EnrollmentConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("min_sample_speech_s", &min_sample_speech_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("min_total_speech_s", &min_total_speech_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("recommended_speech_s", &recommended_speech_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("consistency_threshold", &consistency_threshold));
  VOXGATE_RETURN_IF_ERROR(node.Get("reject_inconsistent", &reject_inconsistent));
  return Validate();
}

std::string EnrollmentConfig::ToString() const {
  return fmt::format(
      "EnrollmentConfig(min_sample_speech_s={}, min_total_speech_s={}, recommended_speech_s={}, "
      "consistency_threshold={}, reject_inconsistent={})",
      min_sample_speech_s, min_total_speech_s, recommended_speech_s, consistency_threshold,
      reject_inconsistent);
}

Result<EnrollmentReport> Enroll(const std::vector<SampleEmbedding>& samples,
                                const EnrollmentConfig& config) {
  if (samples.empty()) return InvalidArgumentError("no audio samples to enroll");
  const size_t dim = samples.front().embedding.size();
  EnrollmentReport report;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (samples[i].embedding.size() != dim || dim == 0) {
      return InvalidArgumentError("samples have embeddings of different sizes");
    }
    if (samples[i].speech_s < config.min_sample_speech_s) {
      return UnusableError(fmt::format("sample {} has {:.2f} s of speech (minimum {:.2f} s)", i + 1,
                                       samples[i].speech_s, config.min_sample_speech_s));
    }
    report.total_speech_s += samples[i].speech_s;
  }
  if (report.total_speech_s < config.min_total_speech_s) {
    return UnusableError(fmt::format("{:.2f} s of speech in all (minimum {:.2f} s)",
                                     report.total_speech_s, config.min_total_speech_s));
  }

  // Weight each sample by its speech: a 20-s sample says more about the voice than a 2-s one.
  std::vector<double> sum(dim, 0.0);
  for (const auto& s : samples) {
    for (size_t d = 0; d < dim; ++d) sum[d] += s.speech_s * s.embedding[d];
  }
  for (size_t i = 0; i < samples.size(); ++i) {
    double c = 1.0;
    if (samples.size() > 1) {
      std::vector<float> others(dim);
      for (size_t d = 0; d < dim; ++d) {
        others[d] = static_cast<float>(sum[d] - samples[i].speech_s * samples[i].embedding[d]);
      }
      c = Score(samples[i].embedding, others);
    }
    report.consistency.push_back(c);
    report.min_consistency = std::min(report.min_consistency, c);
    if (samples.size() > 1 && c < config.consistency_threshold) {
      const std::string msg = fmt::format(
          "sample {} scores {:.2f} against the other samples (below {:.2f}): another speaker or "
          "heavy noise?",
          i + 1, c, config.consistency_threshold);
      if (config.reject_inconsistent) return UnusableError(msg);
      report.warnings.push_back(msg);
    }
  }
  report.voiceprint.assign(dim, 0.0f);
  for (size_t d = 0; d < dim; ++d) report.voiceprint[d] = static_cast<float>(sum[d]);
  L2Normalize(report.voiceprint);
  report.samples_used = static_cast<int>(samples.size());
  if (report.total_speech_s < config.recommended_speech_s) {
    report.warnings.push_back(fmt::format(
        "{:.1f} s of speech enrolled; {:.0f} s or more gives more reliable verification",
        report.total_speech_s, config.recommended_speech_s));
  }
  return report;
}

}  // namespace voxgate::voiceprint
