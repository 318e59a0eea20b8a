// SpeakerDirectory: what a live session needs from the enrolled population, without knowing how it
// is stored: score a claimed user, search everyone, names, the decision threshold, and enrollment
// from speech heard live. The voiceprint service implements it over its store and 1:N index; live
// front ends (SIP calls, WebSocket streams) depend only on this interface.
//
// Implementations are thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "voiceprint/calibration.h"
#include "voiceprint/embedder.h"
#include "voiceprint/embedding_model.h"
#include "voiceprint/speaker_index.h"

namespace voxgate::voiceprint {

struct LiveEnrollment {
  std::string user_id;
  bool created = false;  // false: samples were added to an existing user
  int total_samples = 0;
  std::vector<std::string> warnings;
};

struct JudgedMatch {
  std::string user_id;
  Verdict verdict;
};

class SpeakerDirectory {
 public:
  virtual ~SpeakerDirectory() = default;

  /// The model whose embeddings the directory holds; live embeddings must come from it.
  virtual const ModelInfo& model_info() const = 0;
  /// The calibration every verdict goes through (score normalisation, LLR, security levels).
  virtual const Calibration& calibration() const = 0;
  /// The security level of requests that name none (service.security_level).
  virtual SecurityLevel DefaultSecurityLevel() const { return SecurityLevel::kBalanced; }
  /// A raw-cosine threshold that replaces the levels for every request (service.threshold).
  virtual std::optional<double> FixedThreshold() const { return std::nullopt; }
  /// An active user's voiceprint as a verdict needs it: its AS-Norm statistics ({0, 1} when
  /// unknown) and whether it was enrolled from narrow-band audio.
  virtual EnrolledEvidence Enrolled(std::string_view user_id) const { return {}; }

  // Verdicts, the same for REST requests and live sessions: ScoreUser / Search, then the
  // calibration. `cosine_threshold` (else FixedThreshold()) replaces the level's threshold.
  /// The verdict on `probe` against an active user's voiceprint; kNotFound as ScoreUser.
  Result<Verdict> JudgeUser(std::string_view user_id, const ProbeEvidence& probe,
                            SecurityLevel level,
                            std::optional<double> cosine_threshold = std::nullopt) const;
  /// The k best active users for `probe`, ranked by normalised score, each with its verdict.
  std::vector<JudgedMatch> SearchJudged(
      const ProbeEvidence& probe, size_t k, SecurityLevel level,
      std::optional<double> cosine_threshold = std::nullopt) const;
  /// The evidence of an embedding (its cohort statistics computed once).
  ProbeEvidence Evidence(const Embedding& embedding) const;
  /// Cosine score of an active user's voiceprint against `embedding` (L2-normalised);
  /// kNotFound when the user is unknown, disabled or enrolled with another model.
  virtual Result<float> ScoreUser(std::string_view user_id,
                                  std::span<const float> embedding) const = 0;
  /// OK when ScoreUser would score `user_id` (an active user enrolled with this model);
  /// kNotFound saying why not otherwise. For front ends that check a claim before listening.
  virtual Status CheckScorable(std::string_view user_id) const = 0;
  /// The k best active users, best first.
  virtual std::vector<SpeakerMatch> Search(std::span<const float> embedding, size_t k) const = 0;
  /// Display name of an enrolled user ("" when none).
  virtual std::string DisplayName(std::string_view user_id) const = 0;
  /// Enrolls (or adds samples to) `user_id` from speech clips at the model's sample rate, with
  /// the same quality gates as the REST register call. `display_name` empty: keep the user's
  /// name, else use the id. `actor` goes to the audit log.
  virtual Result<LiveEnrollment> EnrollSpeech(const std::string& user_id,
                                              const std::string& display_name,
                                              const std::vector<std::vector<float>>& clips,
                                              const std::string& actor) = 0;
};

}  // namespace voxgate::voiceprint
