// Enrollment: turns several samples' embeddings into one voiceprint (the mean direction) and a
// quality report with the gates a user of the service expects: enough net speech per sample and in
// total, and samples that agree with each other. Pure functions, thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace voxgate {
class ConfigNode;
}

namespace voxgate::voiceprint {

struct EnrollmentConfig {
  double min_sample_speech_s = 1.0;    // a sample with less net speech is refused
  double min_total_speech_s = 3.0;     // an enrollment with less net speech in all is refused
  double recommended_speech_s = 10.0;  // below this the report warns (accuracy grows with speech)
  // A sample whose score against the mean of the others is below this is flagged as inconsistent
  // (another speaker, heavy noise). Only with two or more samples.
  double consistency_threshold = 0.3;
  bool reject_inconsistent = false;  // true: refuse instead of warning

  Status Validate() const;
  Status Load(const ConfigNode& node);
  std::string ToString() const;
};

struct SampleEmbedding {
  std::vector<float> embedding;  // L2-normalised
  double speech_s = 0.0;
};

struct EnrollmentReport {
  std::vector<float> voiceprint;  // L2-normalised mean of the samples
  double total_speech_s = 0.0;
  int samples_used = 0;
  // Per sample: score against the mean of the other samples (1.0 when there is one sample).
  std::vector<double> consistency;
  double min_consistency = 1.0;
  std::vector<std::string> warnings;
};

/// Builds the voiceprint of `samples`. Errors: kInvalidArgument (no samples, mismatched dims),
/// kUnusable (too little speech; an inconsistent sample when reject_inconsistent).
Result<EnrollmentReport> Enroll(const std::vector<SampleEmbedding>& samples,
                                const EnrollmentConfig& config);

}  // namespace voxgate::voiceprint
