// VoiceprintService: the voiceprint business logic behind the REST API (and, later, the WebSocket
// and SIP front ends): enroll, verify 1:1, identify 1:N, and the user lifecycle, over one shared
// Embedder, one VoiceprintStore and the in-memory 1:N index. Transport-agnostic: requests carry
// raw audio bytes, results are plain structs.
//
// Thread-safe. Inference-heavy calls (Register, Verify, Identify) are meant to run on the
// inference pool. Mutations of one user are serialised by a striped lock so that the store and the
// index never disagree, whatever the interleaving of enroll/delete/status calls on that user.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "audio/audio_decoder.h"
#include "common/result.h"
#include "store/voiceprint_store.h"
#include "voiceprint/calibration.h"
#include "voiceprint/embedder.h"
#include "voiceprint/enrollment.h"
#include "voiceprint/speaker_directory.h"
#include "voiceprint/speaker_index.h"

namespace voxgate {
class ConfigNode;
}

namespace voxgate::api {

struct ServiceConfig {
  voiceprint::EnrollmentConfig enrollment;
  voiceprint::QualityGates quality;  // probes failing them are inconclusive (service.quality)
  // The operating point of requests that name none: high | balanced | convenient.
  voiceprint::SecurityLevel security_level = voiceprint::SecurityLevel::kBalanced;
  double threshold = -2.0;  // >= -1: a fixed raw-cosine threshold instead of the security level
  int default_top_k = 5;    // identify / all_scores
  int max_top_k = 100;
  int max_samples_per_request = 10;  // audio files in one register call
  double max_audio_s = 300.0;        // longer uploads are refused (413)

  Status Validate() const;
  Status Load(const ConfigNode& node);
  std::string ToString() const;
};

/// One uploaded recording. `bytes` must outlive the call.
struct AudioInput {
  std::string_view bytes;
  std::string filename;                    // for messages only
  const audio::AudioClip* clip = nullptr;  // already decoded audio; when set, `bytes` is unused
};

/// Who asked, for the audit log.
struct CallContext {
  std::string actor;  // API key id; empty in dev mode
  std::string request_id;
};

struct RegisterRequest {
  std::string user_id;  // empty: generated
  std::string name;
  std::string metadata = "{}";  // JSON object
  std::vector<AudioInput> audio;
};

struct RegisterResult {
  std::string user_id;
  bool created = false;  // false: samples were added to an existing user
  int64_t version = 0;
  int total_samples = 0;
  voiceprint::EnrollmentReport report;  // of this call's samples
  std::vector<double> sample_speech_s;
};

struct ScoredUser {
  std::string user_id;
  std::string name;
  double score = 0.0;       // raw cosine
  double confidence = 0.0;  // calibrated probability (uncalibrated: the cosine)
};

struct VerifyRequest {
  AudioInput audio;
  std::string user_id;              // empty: best match over all active users
  std::optional<double> threshold;  // raw cosine; overrides the security level
  std::optional<voiceprint::SecurityLevel> security_level;
};

/// What a verdict was based on (the "quality" object of the responses).
struct ProbeQuality {
  double speech_s = 0.0;
  dsp::SignalQuality signal;
  voiceprint::Channel channel = voiceprint::Channel::kWideband;
};

struct VerifyResult {
  bool verified = false;
  bool inconclusive = false;
  std::string reason;       // why not verified / inconclusive, human readable
  std::string user_id;      // the claimed user, or the best match
  double confidence = 0.0;  // calibrated P(same speaker) at equal priors (uncalibrated: cosine)
  double score = 0.0;       // raw cosine
  double llr = 0.0;         // calibrated log-likelihood ratio
  double threshold = 0.0;   // the raw-cosine threshold this verdict was held to
  voiceprint::SecurityLevel security_level = voiceprint::SecurityLevel::kBalanced;
  bool calibrated = false;
  double speech_s = 0.0;
  ProbeQuality quality;
  std::vector<ScoredUser> all_scores;  // best first
};

struct IdentifyRequest {
  AudioInput audio;
  int top_k = 0;  // 0: the default
  std::optional<double> threshold;
  std::optional<voiceprint::SecurityLevel> security_level;
};

struct IdentifyResult {
  std::vector<ScoredUser> matches;  // best first (by normalised score)
  bool identified = false;          // the best match is accepted at the security level
  bool inconclusive = false;
  std::string reason;
  double threshold = 0.0;  // raw-cosine threshold the best match was held to
  double confidence = 0.0;
  double llr = 0.0;
  voiceprint::SecurityLevel security_level = voiceprint::SecurityLevel::kBalanced;
  double speech_s = 0.0;
  ProbeQuality quality;
};

struct ServiceStats {
  int64_t registrations = 0;
  int64_t verifications = 0;
  int64_t verified = 0;
  int64_t rejected = 0;
  int64_t inconclusive = 0;
  int64_t identifications = 0;
  size_t indexed_users = 0;
};

class VoiceprintService : public voiceprint::SpeakerDirectory {
 public:
  /// Builds the service and fills the 1:N index from the store's active users (voiceprints made by
  /// another model are left out: they need re-enrollment).
  /// `calibration`: the model's (Calibration::Load), or Uncalibrated(model threshold).
  static Result<std::unique_ptr<VoiceprintService>> Create(
      const ServiceConfig& config, std::shared_ptr<voiceprint::Embedder> embedder,
      std::shared_ptr<store::VoiceprintStore> store, voiceprint::Calibration calibration);
  /// Unregisters the store's change listener (waiting for a call in progress).
  ~VoiceprintService() override;

  Result<RegisterResult> Register(const RegisterRequest& request, const CallContext& ctx);
  Result<VerifyResult> Verify(const VerifyRequest& request, const CallContext& ctx);
  Result<IdentifyResult> Identify(const IdentifyRequest& request, const CallContext& ctx);

  Result<store::VoiceprintRecord> Get(std::string_view user_id);
  Status Delete(std::string_view user_id, const CallContext& ctx);
  Result<int64_t> SetStatus(std::string_view user_id, store::UserStatus status,
                            const CallContext& ctx);
  Result<store::ListPage> List(const store::ListQuery& query);

  const voiceprint::ModelInfo& model_info() const override { return embedder_->model_info(); }
  const voiceprint::Calibration& calibration() const override { return calibration_; }
  voiceprint::SecurityLevel DefaultSecurityLevel() const override { return config_.security_level; }
  std::optional<double> FixedThreshold() const override;
  voiceprint::EnrolledEvidence Enrolled(std::string_view user_id) const override;
  const std::shared_ptr<voiceprint::Embedder>& embedder() const { return embedder_; }
  const ServiceConfig& config() const { return config_; }

  // SpeakerDirectory, for live sessions.
  Result<float> ScoreUser(std::string_view user_id,
                          std::span<const float> embedding) const override;
  std::vector<voiceprint::SpeakerMatch> Search(std::span<const float> embedding,
                                               size_t k) const override;
  std::string DisplayName(std::string_view user_id) const override;
  Status CheckScorable(std::string_view user_id) const override;
  Result<voiceprint::LiveEnrollment> EnrollSpeech(const std::string& user_id,
                                                  const std::string& display_name,
                                                  const std::vector<std::vector<float>>& clips,
                                                  const std::string& actor) override;
  store::VoiceprintStore& store() { return *store_; }
  ServiceStats Stats() const;

  /// Checks a user id: 1-128 characters of [A-Za-z0-9_.@-], not starting with '.'.
  static Status ValidateUserId(std::string_view user_id);

 private:
  VoiceprintService(ServiceConfig config, std::shared_ptr<voiceprint::Embedder> embedder,
                    std::shared_ptr<store::VoiceprintStore> store,
                    voiceprint::Calibration calibration);
  Status RebuildIndex();
  // The store's change listener: another cluster node changed `user_id` ("" = maybe many).
  void OnStoreChange(const std::string& user_id);
  // Decodes and embeds one upload.
  Result<voiceprint::Embedding> EmbedAudio(const AudioInput& audio) const;
  // Puts the user's current voiceprint into the index, or takes it out when not active or made
  // by another model. Call with the user's stripe lock held.
  Status SyncIndex(std::string_view user_id);
  std::mutex& StripeFor(std::string_view user_id);
  std::string NameOf(const std::string& user_id) const;
  void Audit(store::AuditAction action, std::string_view user_id, const CallContext& ctx,
             std::string detail);

  ServiceConfig config_;
  std::shared_ptr<voiceprint::Embedder> embedder_;
  std::shared_ptr<store::VoiceprintStore> store_;
  voiceprint::SpeakerIndex index_;
  voiceprint::Calibration calibration_;
  audio::DecodeConfig decode_;
  std::array<std::mutex, 64> stripes_;
  mutable std::shared_mutex names_mu_;
  std::unordered_map<std::string, std::string> names_;  // GUARDED_BY(names_mu_): indexed users
  // GUARDED_BY(names_mu_): AS-Norm statistics of indexed users' voiceprints.
  std::unordered_map<std::string, voiceprint::EnrolledEvidence> enrolled_;

  std::atomic<int64_t> registrations_{0}, verifications_{0}, verified_{0}, rejected_{0},
      inconclusive_{0}, identifications_{0};
};

/// The voiceprint of a record: the speech-weighted mean of its samples' embeddings.
std::vector<float> RecordVoiceprint(const store::VoiceprintRecord& record);

}  // namespace voxgate::api
