#include "api/voiceprint_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "common/config_node.h"
#include "voiceprint/scoring.h"
#include "voiceprint/user_id.h"

namespace voxgate::api {
namespace {

std::string GenerateUserId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("u_{:016x}", rng());
}

}  // namespace

Status ServiceConfig::Validate() const {
  VOXGATE_RETURN_IF_ERROR(enrollment.Validate());
  VOXGATE_RETURN_IF_ERROR(quality.Validate());
  if (threshold > 1.0) return InvalidArgumentError("service.threshold must be <= 1");
  if (default_top_k < 1 || max_top_k < default_top_k) {
    return InvalidArgumentError("service.default_top_k must be in [1, max_top_k]");
  }
  if (max_samples_per_request < 1)
    return InvalidArgumentError("service.max_samples_per_request must be >= 1");
  if (max_audio_s <= 0) return InvalidArgumentError("service.max_audio_s must be > 0");
  return Status::Ok();
}

Status ServiceConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(enrollment.Load(node.Child("enrollment")));
  // min_verify_speech_s: the name before service.quality existed.
  VOXGATE_RETURN_IF_ERROR(node.Get("min_verify_speech_s", &quality.min_speech_s));
  VOXGATE_RETURN_IF_ERROR(quality.Load(node.Child("quality")));
  std::string level = voiceprint::SecurityLevelName(security_level);
  VOXGATE_RETURN_IF_ERROR(node.Get("security_level", &level));
  VOXGATE_ASSIGN_OR_RETURN(security_level, voiceprint::ParseSecurityLevel(level));
  VOXGATE_RETURN_IF_ERROR(node.Get("threshold", &threshold));
  VOXGATE_RETURN_IF_ERROR(node.Get("default_top_k", &default_top_k));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_top_k", &max_top_k));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_samples_per_request", &max_samples_per_request));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_audio_s", &max_audio_s));
  return Validate();
}

std::string ServiceConfig::ToString() const {
  return fmt::format(
      "ServiceConfig({}, {}, security_level={}, threshold={}, default_top_k={}, max_top_k={}, "
      "max_samples_per_request={}, max_audio_s={})",
      enrollment.ToString(), quality.ToString(), voiceprint::SecurityLevelName(security_level),
      threshold, default_top_k, max_top_k, max_samples_per_request, max_audio_s);
}

std::vector<float> RecordVoiceprint(const store::VoiceprintRecord& record) {
  std::vector<voiceprint::SampleEmbedding> samples;
  for (const auto& s : record.samples) {
    if (!s.embedding.empty()) samples.push_back({s.embedding, std::max(s.speech_s, 1e-3)});
  }
  voiceprint::EnrollmentConfig permissive;
  permissive.min_sample_speech_s = 0;
  permissive.min_total_speech_s = 0;
  auto report = voiceprint::Enroll(samples, permissive);
  return report.ok() ? report->voiceprint : std::vector<float>();
}

// The enrolled side of a trial: narrow-band when most of the voiceprint's speech was.
voiceprint::EnrolledEvidence RecordEvidence(const store::VoiceprintRecord& record,
                                            const std::vector<float>& voiceprint,
                                            const voiceprint::Calibration& calibration) {
  double narrow_s = 0.0, all_s = 0.0;
  for (const auto& s : record.samples) {
    all_s += s.speech_s;
    if (s.narrowband) narrow_s += s.speech_s;
  }
  return {calibration.StatsOf(voiceprint), all_s > 0 && 2 * narrow_s > all_s};
}

VoiceprintService::VoiceprintService(ServiceConfig config,
                                     std::shared_ptr<voiceprint::Embedder> embedder,
                                     std::shared_ptr<store::VoiceprintStore> store,
                                     voiceprint::Calibration calibration)
    : config_(std::move(config)),
      embedder_(std::move(embedder)),
      store_(std::move(store)),
      calibration_(std::move(calibration)) {
  calibration_.set_gates(config_.quality);
  decode_.target_sample_rate_hz = embedder_->model_info().sample_rate_hz;
  decode_.max_duration_s = config_.max_audio_s;
}

Result<std::unique_ptr<VoiceprintService>> VoiceprintService::Create(
    const ServiceConfig& config, std::shared_ptr<voiceprint::Embedder> embedder,
    std::shared_ptr<store::VoiceprintStore> store, voiceprint::Calibration calibration) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  if (!embedder || !store) return InvalidArgumentError("service needs an embedder and a store");
  if (calibration.calibrated() && calibration.model_id() != embedder->model_info().id) {
    return InvalidArgumentError(fmt::format("the calibration is for model {}, not {}",
                                            calibration.model_id(), embedder->model_info().id));
  }
  std::unique_ptr<VoiceprintService> service(
      new VoiceprintService(config, std::move(embedder), std::move(store), std::move(calibration)));
  VOXGATE_RETURN_IF_ERROR(service->RebuildIndex().WithContext("building the 1:N index"));
  // With a store shared by several nodes (tiered), users changed elsewhere must follow in this
  // node's 1:N index too; single-node backends never call the listener.
  VoiceprintService* self = service.get();
  service->store_->SetChangeListener(
      [self](const std::string& user_id) { self->OnStoreChange(user_id); });
  return service;
}

VoiceprintService::~VoiceprintService() { store_->SetChangeListener(nullptr); }

void VoiceprintService::OnStoreChange(const std::string& user_id) {
  Status s;
  if (user_id.empty()) {
    s = RebuildIndex();
  } else {
    std::lock_guard lock(StripeFor(user_id));
    s = SyncIndex(user_id);
  }
  if (!s.ok()) {
    spdlog::warn("1:N index: applying a change made on another node ({}) failed: {}",
                 user_id.empty() ? "all users" : user_id, s.ToString());
  }
}

Status VoiceprintService::RebuildIndex() {
  VOXGATE_ASSIGN_OR_RETURN(std::vector<store::VoiceprintRecord> active, store_->LoadActive());
  std::vector<voiceprint::SpeakerVoiceprint> voiceprints;
  voiceprints.reserve(active.size());
  std::unique_lock lock(names_mu_);
  names_.clear();
  enrolled_.clear();
  for (const auto& record : active) {
    if (record.model_id != model_info().id) continue;  // needs re-enrollment
    std::vector<float> v = RecordVoiceprint(record);
    if (v.empty()) continue;
    enrolled_[record.user_id] = RecordEvidence(record, v, calibration_);
    voiceprints.push_back({record.user_id, std::move(v)});
    names_[record.user_id] = record.name;
  }
  lock.unlock();
  // One build for everyone (an HNSW graph when there are many), not one insertion per user.
  return index_.Assign(std::move(voiceprints));
}

voiceprint::EnrolledEvidence VoiceprintService::Enrolled(std::string_view user_id) const {
  std::shared_lock lock(names_mu_);
  auto it = enrolled_.find(std::string(user_id));
  return it == enrolled_.end() ? voiceprint::EnrolledEvidence{} : it->second;
}

std::optional<double> VoiceprintService::FixedThreshold() const {
  if (config_.threshold >= -1.0) return config_.threshold;
  return std::nullopt;
}

Status VoiceprintService::ValidateUserId(std::string_view user_id) {
  return voiceprint::ValidateUserId(user_id);
}

std::mutex& VoiceprintService::StripeFor(std::string_view user_id) {
  return stripes_[std::hash<std::string_view>{}(user_id) % stripes_.size()];
}

Result<voiceprint::Embedding> VoiceprintService::EmbedAudio(const AudioInput& audio) const {
  const std::string what = audio.filename.empty() ? "audio" : "audio '" + audio.filename + "'";
  if (audio.clip != nullptr) {
    auto embedding = embedder_->Embed(*audio.clip);
    if (!embedding.ok()) return embedding.status().WithContext(what);
    return embedding;
  }
  auto clip = audio::DecodeMemory(
      {reinterpret_cast<const uint8_t*>(audio.bytes.data()), audio.bytes.size()}, decode_);
  if (!clip.ok()) {
    // Damaged uploads are the client's bad input (400), not our data loss (500).
    if (clip.status().code() == StatusCode::kDataLoss) {
      return InvalidArgumentError(clip.status().message()).WithContext(what);
    }
    return clip.status().WithContext(what);
  }
  auto embedding = embedder_->Embed(*clip);
  if (!embedding.ok()) return embedding.status().WithContext(what);
  return embedding;
}

void VoiceprintService::Audit(store::AuditAction action, std::string_view user_id,
                              const CallContext& ctx, std::string detail) {
  store::AuditEvent event;
  event.action = action;
  event.user_id = std::string(user_id);
  event.actor = ctx.actor;
  event.request_id = ctx.request_id;
  event.detail = std::move(detail);
  // The audit log must not turn a served request into a failure; a lost entry is counted by the
  // store's own error metrics.
  (void)store_->AppendAudit(event);
}

Status VoiceprintService::SyncIndex(std::string_view user_id) {
  auto record = store_->Get(user_id);
  const std::string id(user_id);
  if (!record.ok()) {
    if (record.status().code() != StatusCode::kNotFound) return record.status();
    index_.Remove(id);
    std::unique_lock lock(names_mu_);
    names_.erase(id);
    enrolled_.erase(id);
    return Status::Ok();
  }
  if (record->status != store::UserStatus::kActive || record->model_id != model_info().id) {
    index_.Remove(id);
    return Status::Ok();
  }
  std::vector<float> v = RecordVoiceprint(*record);
  if (v.empty()) {
    index_.Remove(id);
    return Status::Ok();
  }
  const voiceprint::EnrolledEvidence enrolled = RecordEvidence(*record, v, calibration_);
  VOXGATE_RETURN_IF_ERROR(index_.Upsert(id, std::move(v)));
  std::unique_lock lock(names_mu_);
  enrolled_[id] = enrolled;
  names_[id] = record->name;
  return Status::Ok();
}

std::string VoiceprintService::NameOf(const std::string& user_id) const {
  std::shared_lock lock(names_mu_);
  auto it = names_.find(user_id);
  return it == names_.end() ? std::string() : it->second;
}

Result<RegisterResult> VoiceprintService::Register(const RegisterRequest& request,
                                                   const CallContext& ctx) {
  if (request.name.empty()) return InvalidArgumentError("name is required");
  if (request.name.size() > store::kMaxNameBytes) return InvalidArgumentError("name is too long");
  if (!request.user_id.empty()) VOXGATE_RETURN_IF_ERROR(ValidateUserId(request.user_id));
  if (request.audio.empty()) return InvalidArgumentError("at least one audio sample is required");
  if (static_cast<int>(request.audio.size()) > config_.max_samples_per_request) {
    return InvalidArgumentError(
        fmt::format("at most {} audio samples per request", config_.max_samples_per_request));
  }
  if (!nlohmann::json::accept(request.metadata) ||
      !nlohmann::json::parse(request.metadata).is_object()) {
    return InvalidArgumentError("metadata must be a JSON object");
  }

  // Inference first, outside any lock: the slow part must not serialise other users.
  std::vector<voiceprint::SampleEmbedding> embedded;
  std::vector<bool> narrowband;
  RegisterResult result;
  for (const AudioInput& audio : request.audio) {
    VOXGATE_ASSIGN_OR_RETURN(voiceprint::Embedding e, EmbedAudio(audio));
    result.sample_speech_s.push_back(e.speech_s);
    narrowband.push_back(e.quality.narrowband);
    embedded.push_back({std::move(e.vector), e.speech_s});
  }
  VOXGATE_ASSIGN_OR_RETURN(result.report, voiceprint::Enroll(embedded, config_.enrollment));

  std::vector<store::VoiceprintSample> samples;
  for (size_t i = 0; i < embedded.size(); ++i) {
    const auto& e = embedded[i];
    store::VoiceprintSample s;
    s.embedding = e.embedding;
    s.speech_s = e.speech_s;
    s.narrowband = narrowband[i];
    s.model_id = model_info().id;
    samples.push_back(std::move(s));
  }

  result.user_id = request.user_id.empty() ? GenerateUserId() : request.user_id;
  std::lock_guard lock(StripeFor(result.user_id));
  auto existing = store_->Get(result.user_id);
  if (existing.ok()) {
    if (existing->model_id != model_info().id) {
      // Samples from two models cannot be averaged: re-enrollment replaces the old ones.
      VOXGATE_ASSIGN_OR_RETURN(result.version,
                               store_->ReplaceSamples(result.user_id, std::move(samples)));
      result.total_samples = static_cast<int>(embedded.size());
      result.report.warnings.push_back(
          "previous samples came from another model and were replaced");
    } else {
      VOXGATE_ASSIGN_OR_RETURN(result.version,
                               store_->AddSamples(result.user_id, std::move(samples)));
      result.total_samples = static_cast<int>(existing->samples.size() + embedded.size());
    }
    store::ProfileUpdate update;
    if (request.name != existing->name) update.name = request.name;
    if (request.metadata != "{}" && request.metadata != existing->metadata) {
      update.metadata = request.metadata;
    }
    if (update.name || update.metadata) {
      VOXGATE_ASSIGN_OR_RETURN(result.version, store_->UpdateProfile(result.user_id, update));
    }
    result.created = false;
  } else if (existing.status().code() == StatusCode::kNotFound) {
    store::VoiceprintRecord record;
    record.user_id = result.user_id;
    record.name = request.name;
    record.metadata = request.metadata;
    record.model_id = model_info().id;
    record.samples = std::move(samples);
    VOXGATE_ASSIGN_OR_RETURN(store::VoiceprintRecord stored, store_->CreateVoiceprint(record));
    result.version = stored.version;
    result.total_samples = static_cast<int>(stored.samples.size());
    result.created = true;
  } else {
    return existing.status();
  }
  VOXGATE_RETURN_IF_ERROR(SyncIndex(result.user_id));
  ++registrations_;
  Audit(result.created ? store::AuditAction::kRegister : store::AuditAction::kAddSamples,
        result.user_id, ctx,
        nlohmann::json{{"samples", embedded.size()},
                       {"speech_s", result.report.total_speech_s},
                       {"model", model_info().id}}
            .dump());
  return result;
}

namespace {

ProbeQuality QualityOf(const voiceprint::Embedding& e) {
  return {e.speech_s, e.quality, voiceprint::Calibration::ChannelOf(e.quality)};
}

Status CheckThreshold(const std::optional<double>& threshold) {
  if (threshold && (*threshold < -1.0 || *threshold > 1.0)) {
    return InvalidArgumentError("threshold must be in [-1, 1]");
  }
  return Status::Ok();
}

}  // namespace

Result<VerifyResult> VoiceprintService::Verify(const VerifyRequest& request,
                                               const CallContext& ctx) {
  VOXGATE_RETURN_IF_ERROR(CheckThreshold(request.threshold));
  VerifyResult result;
  result.security_level = request.security_level.value_or(config_.security_level);
  result.calibrated = calibration_.calibrated() && !request.threshold && config_.threshold < -1.0;
  const std::optional<double> fixed = request.threshold ? request.threshold : FixedThreshold();
  result.threshold = fixed.value_or(calibration_.NominalCosineThreshold(result.security_level));
  std::optional<store::VoiceprintRecord> claimed;
  if (!request.user_id.empty()) {
    VOXGATE_RETURN_IF_ERROR(ValidateUserId(request.user_id));
    // Check the claim before spending inference on it.
    VOXGATE_ASSIGN_OR_RETURN(claimed, store_->Get(request.user_id));
  }
  result.user_id = request.user_id;
  auto embedding = EmbedAudio(request.audio);
  ++verifications_;
  auto take = [&](const voiceprint::Verdict& v) {
    result.verified = v.accepted();
    result.inconclusive = v.inconclusive();
    result.reason = v.reason;
    result.confidence = v.probability;
    result.score = v.score;
    result.llr = v.llr;
    result.threshold = v.threshold;
  };
  if (!embedding.ok()) {
    if (embedding.status().code() != StatusCode::kUnusable) return embedding.status();
    result.inconclusive = true;
    result.reason = embedding.status().message();
  } else {
    result.speech_s = embedding->speech_s;
    result.quality = QualityOf(*embedding);
    const voiceprint::ProbeEvidence probe = Evidence(*embedding);
    const auto judged = SearchJudged(probe, static_cast<size_t>(config_.default_top_k),
                                     result.security_level, fixed);
    for (const auto& m : judged) {
      result.all_scores.push_back(
          {m.user_id, NameOf(m.user_id), m.verdict.score, m.verdict.probability});
    }
    if (claimed) {
      if (claimed->status != store::UserStatus::kActive) {
        result.reason = fmt::format("user is {}", store::ToString(claimed->status));
      } else if (claimed->model_id != model_info().id) {
        result.reason = "the voiceprint was made by another model; re-enroll the user";
      } else {
        auto v = JudgeUser(claimed->user_id, probe, result.security_level, fixed);
        if (!v.ok()) {
          // Not in this node's index (yet): score the stored record directly.
          const std::vector<float> vp = RecordVoiceprint(*claimed);
          v = calibration_.Judge(voiceprint::Score(vp, probe.embedding),
                                 RecordEvidence(*claimed, vp, calibration_), probe,
                                 result.security_level, fixed);
        }
        take(*v);
      }
    } else if (!judged.empty()) {
      result.user_id = judged.front().user_id;
      take(judged.front().verdict);
      if (!result.verified && !result.inconclusive) {
        result.reason = "no enrolled speaker scores above the threshold";
      }
    } else {
      result.reason = "no active users enrolled";
    }
  }
  if (result.inconclusive) {
    ++inconclusive_;
  } else {
    ++(result.verified ? verified_ : rejected_);
  }
  Audit(store::AuditAction::kVerify, result.user_id, ctx,
        nlohmann::json{{"verified", result.verified},
                       {"inconclusive", result.inconclusive},
                       {"score", result.score},
                       {"llr", result.llr},
                       {"threshold", result.threshold},
                       {"security_level", voiceprint::SecurityLevelName(result.security_level)},
                       {"claimed", !request.user_id.empty()},
                       {"speech_s", result.speech_s}}
            .dump());
  return result;
}

Result<IdentifyResult> VoiceprintService::Identify(const IdentifyRequest& request,
                                                   const CallContext& ctx) {
  VOXGATE_RETURN_IF_ERROR(CheckThreshold(request.threshold));
  IdentifyResult result;
  result.security_level = request.security_level.value_or(config_.security_level);
  const std::optional<double> fixed = request.threshold ? request.threshold : FixedThreshold();
  result.threshold = fixed.value_or(calibration_.NominalCosineThreshold(result.security_level));
  const int k = request.top_k > 0 ? request.top_k : config_.default_top_k;
  if (k > config_.max_top_k) {
    return InvalidArgumentError(fmt::format("top_k must be at most {}", config_.max_top_k));
  }
  VOXGATE_ASSIGN_OR_RETURN(voiceprint::Embedding e, EmbedAudio(request.audio));
  result.speech_s = e.speech_s;
  result.quality = QualityOf(e);
  const auto judged =
      SearchJudged(Evidence(e), static_cast<size_t>(k), result.security_level, fixed);
  for (const auto& m : judged) {
    result.matches.push_back(
        {m.user_id, NameOf(m.user_id), m.verdict.score, m.verdict.probability});
  }
  if (!judged.empty()) {
    const voiceprint::Verdict& best = judged.front().verdict;
    result.identified = best.accepted();
    result.inconclusive = best.inconclusive();
    result.reason = best.reason;
    result.threshold = best.threshold;
    result.confidence = best.probability;
    result.llr = best.llr;
  } else {
    result.reason = "no active users enrolled";
  }
  ++identifications_;
  Audit(store::AuditAction::kIdentify, result.identified ? result.matches.front().user_id : "", ctx,
        nlohmann::json{{"identified", result.identified},
                       {"inconclusive", result.inconclusive},
                       {"best_score", result.matches.empty() ? 0.0 : result.matches.front().score},
                       {"threshold", result.threshold},
                       {"security_level", voiceprint::SecurityLevelName(result.security_level)},
                       {"candidates", index_.size()}}
            .dump());
  return result;
}

Result<store::VoiceprintRecord> VoiceprintService::Get(std::string_view user_id) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  return store_->Get(user_id);
}

Status VoiceprintService::Delete(std::string_view user_id, const CallContext& ctx) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  std::lock_guard lock(StripeFor(user_id));
  VOXGATE_RETURN_IF_ERROR(store_->Delete(user_id));
  index_.Remove(std::string(user_id));
  {
    std::unique_lock names_lock(names_mu_);
    names_.erase(std::string(user_id));
    enrolled_.erase(std::string(user_id));
  }
  Audit(store::AuditAction::kDelete, user_id, ctx, "{}");
  return Status::Ok();
}

Result<int64_t> VoiceprintService::SetStatus(std::string_view user_id, store::UserStatus status,
                                             const CallContext& ctx) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  std::lock_guard lock(StripeFor(user_id));
  VOXGATE_ASSIGN_OR_RETURN(int64_t version, store_->SetStatus(user_id, status));
  VOXGATE_RETURN_IF_ERROR(SyncIndex(user_id));
  Audit(store::AuditAction::kStatus, user_id, ctx,
        nlohmann::json{{"status", store::ToString(status)}}.dump());
  return version;
}

Result<store::ListPage> VoiceprintService::List(const store::ListQuery& query) {
  return store_->List(query);
}

ServiceStats VoiceprintService::Stats() const {
  ServiceStats s;
  s.registrations = registrations_;
  s.verifications = verifications_;
  s.verified = verified_;
  s.rejected = rejected_;
  s.inconclusive = inconclusive_;
  s.identifications = identifications_;
  s.indexed_users = index_.size();
  return s;
}

Result<float> VoiceprintService::ScoreUser(std::string_view user_id,
                                           std::span<const float> embedding) const {
  float score = 0.0f;
  if (!index_.ScoreOf(std::string(user_id), embedding, &score)) {
    return NotFoundError(fmt::format("user '{}' is not enrolled or not active", user_id));
  }
  return score;
}

std::vector<voiceprint::SpeakerMatch> VoiceprintService::Search(std::span<const float> embedding,
                                                                size_t k) const {
  return index_.Search(embedding, k);
}

Status VoiceprintService::CheckScorable(std::string_view user_id) const {
  VOXGATE_RETURN_IF_ERROR(voiceprint::ValidateUserId(user_id));
  auto record = store_->Get(user_id);
  if (!record.ok()) {
    if (record.status().code() == StatusCode::kNotFound) {
      return NotFoundError(fmt::format("user '{}' is not enrolled", user_id));
    }
    return record.status();
  }
  if (record->status != store::UserStatus::kActive) {
    return NotFoundError(fmt::format("user '{}' is {}", user_id, store::ToString(record->status)));
  }
  if (record->model_id != model_info().id) {
    return NotFoundError(
        fmt::format("user '{}' was enrolled with another model; re-enroll the user", user_id));
  }
  return Status::Ok();
}

std::string VoiceprintService::DisplayName(std::string_view user_id) const {
  return NameOf(std::string(user_id));
}

Result<voiceprint::LiveEnrollment> VoiceprintService::EnrollSpeech(
    const std::string& user_id, const std::string& display_name,
    const std::vector<std::vector<float>>& clips, const std::string& actor) {
  std::vector<audio::AudioClip> decoded(clips.size());
  RegisterRequest request;
  request.user_id = user_id;
  // A caller may have no display name to give (a phone call): keep the enrolled user's, else use
  // the id.
  request.name = display_name.empty() ? NameOf(user_id) : display_name;
  if (request.name.empty()) request.name = user_id;
  for (size_t i = 0; i < clips.size(); ++i) {
    decoded[i].samples = clips[i];
    decoded[i].sample_rate_hz = model_info().sample_rate_hz;
    AudioInput input;
    input.filename = fmt::format("live sample {}", i + 1);
    input.clip = &decoded[i];
    request.audio.push_back(input);
  }
  CallContext ctx;
  ctx.actor = actor;
  VOXGATE_ASSIGN_OR_RETURN(RegisterResult r, Register(request, ctx));
  voiceprint::LiveEnrollment out;
  out.user_id = r.user_id;
  out.created = r.created;
  out.total_samples = r.total_samples;
  out.warnings = r.report.warnings;
  return out;
}

}  // namespace voxgate::api
