#include "stream/voice_session.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "common/config_node.h"

namespace voxgate::stream {

Status VoiceSessionConfig::Validate() const {
  VOXGATE_RETURN_IF_ERROR(pipeline.Validate());
  VOXGATE_RETURN_IF_ERROR(scorer.Validate());
  if (input_queue_frames < 8 || input_queue_frames > 65536) {
    return InvalidArgumentError("live.input_queue_frames must be 8..65536");
  }
  if (qos_event_every_s < 0) return InvalidArgumentError("live.qos_event_every_s must be >= 0");
  return Status::Ok();
}

std::string VoiceSessionConfig::ToString() const {
  return fmt::format(
      "VoiceSessionConfig({}, {}, input_queue_frames={}, qos_event_every_s={}, "
      "score_processed_audio={})",
      pipeline.ToString(), scorer.ToString(), input_queue_frames, qos_event_every_s,
      score_processed_audio);
}

Status VoiceSessionConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("input_queue_frames", &input_queue_frames));
  VOXGATE_RETURN_IF_ERROR(node.Get("qos_event_every_s", &qos_event_every_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("score_processed_audio", &score_processed_audio));
  VOXGATE_RETURN_IF_ERROR(pipeline.Load(node.Child("pipeline")));
  VOXGATE_RETURN_IF_ERROR(scorer.Load(node.Child("scoring")));
  return Status::Ok();
}

namespace {

std::string NewSessionId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("s-{:016x}", rng());
}

nlohmann::json ScorerEventJson(const voiceprint::ScorerEvent& e) {
  nlohmann::json j = {{"turn", e.turn},
                      {"turn_start_s", e.turn_start_s},
                      {"time_s", e.time_s},
                      {"speech_s", e.speech_s}};
  if (!e.decision.empty()) j["decision"] = e.decision;
  if (!e.user_id.empty()) j["user_id"] = e.user_id;
  if (!e.name.empty()) j["name"] = e.name;
  if (e.kind == voiceprint::ScorerEvent::Kind::kScore ||
      e.kind == voiceprint::ScorerEvent::Kind::kDecision) {
    j["score"] = e.score;
    j["threshold"] = e.threshold;
    j["confidence"] = e.confidence;
    j["llr"] = e.llr;
  }
  if (e.kind == voiceprint::ScorerEvent::Kind::kScore) {
    j["verdict"] = voiceprint::DecisionName(e.verdict);
    if (!e.reason.empty()) j["reason"] = e.reason;
  }
  if (!e.matches.empty()) {
    nlohmann::json m = nlohmann::json::array();
    for (const auto& x : e.matches) m.push_back({{"user_id", x.user_id}, {"score", x.score}});
    j["matches"] = std::move(m);
  }
  if (!e.message.empty()) j["message"] = e.message;
  return j;
}

const char* ScorerEventType(voiceprint::ScorerEvent::Kind kind) {
  using K = voiceprint::ScorerEvent::Kind;
  switch (kind) {
    case K::kScore:
      return "session.score";
    case K::kDecision:
      return "session.decision";
    case K::kTurn:
      return "session.turn";
    case K::kEnrolled:
      return "session.enrolled";
    case K::kError:
      return "session.error";
  }
  return "session.error";
}

void WriteLe32(std::FILE* f, uint32_t v) {
  const uint8_t b[4] = {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
  std::fwrite(b, 1, 4, f);
}
void WriteLe16(std::FILE* f, uint16_t v) {
  const uint8_t b[2] = {uint8_t(v), uint8_t(v >> 8)};
  std::fwrite(b, 1, 2, f);
}
void WriteWavHeader(std::FILE* f, uint32_t data_bytes, int rate) {
  std::fwrite("RIFF", 1, 4, f);
  WriteLe32(f, 36 + data_bytes);
  std::fwrite("WAVEfmt ", 1, 8, f);
  WriteLe32(f, 16);
  WriteLe16(f, 1);  // PCM
  WriteLe16(f, 1);  // mono
  WriteLe32(f, static_cast<uint32_t>(rate));
  WriteLe32(f, static_cast<uint32_t>(rate * 2));
  WriteLe16(f, 2);
  WriteLe16(f, 16);
  std::fwrite("data", 1, 4, f);
  WriteLe32(f, data_bytes);
}

}  // namespace

// Forwards the pipeline's output to the session (keeps LivePipelineSink out of the public API).
class VoiceSession::Sink : public dsp::LivePipelineSink {
 public:
  explicit Sink(VoiceSession* s) : s_(s) {}
  void OnFrame(const audio::AudioFrame& frame, const audio::AudioFrame& unprocessed,
               bool speech) override {
    s_->OnFrame(frame, unprocessed, speech);
  }
  void OnSpeechSegment(int64_t start, int64_t end) override { s_->OnSpeechSegment(start, end); }

 private:
  VoiceSession* s_;
};

double VoiceSession::NowS() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

VoiceSession::VoiceSession(const LiveServices& services, VoiceSessionOptions options,
                           Listener listener)
    : services_(services),
      options_(std::move(options)),
      listener_(std::move(listener)),
      ring_(static_cast<size_t>(services.config.input_queue_frames)),
      started_s_(NowS()),
      started_ms_(analytics::Event::NowMs()) {}

VoiceSession::~VoiceSession() { CloseRecording(); }

Result<std::shared_ptr<VoiceSession>> VoiceSession::Start(const LiveServices& services,
                                                          VoiceSessionOptions options,
                                                          Listener listener) {
  VOXGATE_RETURN_IF_ERROR(services.config.Validate());
  if (!services.workers) return InvalidArgumentError("live sessions need media workers");
  if (options.id.empty()) options.id = NewSessionId();
  std::shared_ptr<VoiceSession> s(
      new VoiceSession(services, std::move(options), std::move(listener)));
  const VoiceSessionOptions& o = s->options_;

  analytics::QosTrackerConfig qc;
  qc.codec = o.codec;
  qc.clock_rate_hz = o.rtp_clock_rate_hz;
  s->qos_ = std::make_unique<analytics::QosTracker>(qc, services.qos_metrics.get());
  VOXGATE_ASSIGN_OR_RETURN(s->pipeline_, dsp::LivePipeline::Create(services.config.pipeline,
                                                                   o.input_rate_hz, services.vad));
  if (o.mode) {
    if (!services.embedder || !services.directory) {
      return UnavailableError("live scoring is not available (no speaker model loaded)");
    }
    VOXGATE_ASSIGN_OR_RETURN(
        s->scorer_,
        voiceprint::StreamingScorer::Create(
            services.config.scorer, *o.mode, o.user_id, o.threshold, services.embedder,
            services.directory, services.executor,
            [raw = s.get()](const voiceprint::ScorerEvent& e) { raw->OnScorerEvent(e); },
            o.security_level));
    s->scorer_->SetEnrollName(o.user_name);
  }
  if (o.record) {
    std::error_code ec;
    std::filesystem::create_directories(services.recordings_dir, ec);
    s->recording_path_ =
        (std::filesystem::path(services.recordings_dir) / (o.id + ".wav")).string();
    s->recording_ = std::fopen(s->recording_path_.c_str(), "wb");
    if (s->recording_ == nullptr) {
      return UnavailableError(fmt::format("cannot write the recording {}", s->recording_path_));
    }
    WriteWavHeader(s->recording_, 0, dsp::LivePipeline::kRateHz);
  }
  s->sink_ = std::make_unique<Sink>(s.get());
  s->next_qos_s_ = services.config.qos_event_every_s;

  nlohmann::json started = {{"session_id", o.id},
                            {"kind", o.kind},
                            {"mode", o.mode ? voiceprint::LiveModeName(*o.mode) : "record"},
                            {"sample_rate", o.input_rate_hz},
                            {"codec", o.codec}};
  if (!o.user_id.empty()) started["user_id"] = o.user_id;
  if (s->scorer_) {
    const voiceprint::SecurityLevel level =
        o.security_level.value_or(services.directory->DefaultSecurityLevel());
    started["threshold"] = o.threshold < -1
                               ? services.directory->calibration().NominalCosineThreshold(level)
                               : o.threshold;
    started["security_level"] = voiceprint::SecurityLevelName(level);
    started["calibrated"] = services.directory->calibration().calibrated();
    started["model"] = services.embedder->model_info().id;
  }
  if (services.registry) {
    Status added = services.registry->Add(s);
    if (!added.ok()) return added;
  }
  s->Emit("session.started", std::move(started));
  s->worker_ = services.workers->Attach(s);
  return s;
}

double VoiceSession::ElapsedS() const { return NowS() - started_s_; }

bool VoiceSession::PushFrame(const audio::AudioFrame& frame) {
  if (finished_.load(std::memory_order_relaxed)) return false;
  Queued q;
  q.frame = frame;
  q.pushed_s = NowS();
  if (!ring_.TryPush(q)) {
    qos_->OnFrameDropped(ElapsedS());
    return false;
  }
  return true;
}

void VoiceSession::Pump() {
  Drain();
  if (scorer_) scorer_->Poll();
}

void VoiceSession::Drain() {
  while (const Queued* q = ring_.Front()) {
    current_pushed_s_ = q->pushed_s;
    Status s = pipeline_->Process(q->frame, *sink_);
    ring_.Pop();
    if (!s.ok()) spdlog::debug("session {}: frame dropped: {}", options_.id, s.ToString());
  }
}

void VoiceSession::OnFrame(const audio::AudioFrame& frame, const audio::AudioFrame& unprocessed,
                           bool speech) {
  const double now = NowS();
  const double elapsed = now - started_s_;
  qos_->OnFrame(elapsed, frame.DurationS(), frame.concealed, speech,
                std::max(0.0, now - current_pushed_s_));
  if (speech && !was_speech_) {
    Emit("session.vad", {{"state", "start"}, {"time_s", frame.TimeS()}});
  }
  was_speech_ = speech;
  frame_times_[static_cast<size_t>(frames_seen_++) % kFrameTimes] = {
      frame.TimeS() + frame.DurationS(), current_pushed_s_};
  if (speech && scorer_) {
    const audio::AudioFrame& scored = services_.config.score_processed_audio ? frame : unprocessed;
    scorer_->Feed(scored.data(), scored.clock);
  }
  if (recording_) WriteRecording(frame.data());
  const std::shared_ptr<const Taps> taps = taps_.load(std::memory_order_acquire);
  for (const auto& [id, tap] : *taps) tap(frame.data(), speech);
  const double audio_s = frame.TimeS() + frame.DurationS();
  if (services_.config.qos_event_every_s > 0 && audio_s >= next_qos_s_) {
    next_qos_s_ += services_.config.qos_event_every_s;
    Emit("session.qos", qos_->Snapshot(elapsed));
  }
}

int VoiceSession::AddAudioTap(AudioTap tap) {
  std::lock_guard lock(taps_mu_);
  auto next = std::make_shared<Taps>(*taps_.load());
  const int id = next_tap_++;
  next->emplace_back(id, std::move(tap));
  taps_.store(std::move(next), std::memory_order_release);
  return id;
}

void VoiceSession::RemoveAudioTap(int id) {
  std::lock_guard lock(taps_mu_);
  auto next = std::make_shared<Taps>(*taps_.load());
  std::erase_if(*next, [id](const auto& t) { return t.first == id; });
  taps_.store(std::move(next), std::memory_order_release);
}

void VoiceSession::OnSpeechSegment(int64_t start, int64_t end) {
  const double rate = dsp::LivePipeline::kRateHz;
  {
    std::lock_guard lock(summary_mu_);
    ++speech_segments_;
    speech_s_ += static_cast<double>(end - start) / rate;
    speech_.emplace_back(start / rate, end / rate);
    if (speech_.size() > kMaxSpeech) speech_.pop_front();
    last_speech_end_s_ = std::max(last_speech_end_s_, end / rate);
  }
  Emit("session.vad", {{"state", "end"}, {"start_s", start / rate}, {"end_s", end / rate}});
}

double VoiceSession::LatencySince(double time_s) const {
  // Newest first: the frame holding time_s is the oldest one that ends at or after it.
  const int64_t kept = std::min<int64_t>(frames_seen_, static_cast<int64_t>(kFrameTimes));
  double pushed = std::numeric_limits<double>::quiet_NaN();
  for (int64_t i = 1; i <= kept; ++i) {
    const auto& [end_s, pushed_s] =
        frame_times_[static_cast<size_t>(frames_seen_ - i) % kFrameTimes];
    if (end_s < time_s) return NowS() - pushed;
    pushed = pushed_s;
  }
  // Every remembered frame ends after time_s: the frame itself is older than the ring, unless
  // the ring holds the whole session.
  return frames_seen_ <= static_cast<int64_t>(kFrameTimes) && kept > 0
             ? NowS() - pushed
             : std::numeric_limits<double>::quiet_NaN();
}

void VoiceSession::OnScorerEvent(const voiceprint::ScorerEvent& e) {
  nlohmann::json data = ScorerEventJson(e);
  {
    std::lock_guard lock(summary_mu_);
    if (e.kind == voiceprint::ScorerEvent::Kind::kDecision ||
        e.kind == voiceprint::ScorerEvent::Kind::kEnrolled) {
      decisions_.push_back(e);
      // How long after the speech that decided it the decision came (queueing, embedding).
      const double latency = e.kind == voiceprint::ScorerEvent::Kind::kDecision
                                 ? LatencySince(e.time_s)
                                 : std::numeric_limits<double>::quiet_NaN();
      decision_latency_s_.push_back(latency);
      if (std::isfinite(latency)) data["latency_ms"] = latency * 1000.0;
    } else if (e.kind == voiceprint::ScorerEvent::Kind::kScore) {
      last_score_ = e;
      scores_.push_back(e);
      scores_.back().matches.clear();
      if (scores_.size() > kMaxScores) scores_.pop_front();
    }
    if (e.kind == voiceprint::ScorerEvent::Kind::kTurn) {
      if (!turns_.empty() && turns_.back().end_s < 0) turns_.back().end_s = e.turn_start_s;
      TurnLocked(e.turn, e.turn_start_s);
    } else if (e.kind == voiceprint::ScorerEvent::Kind::kDecision) {
      Turn& t = TurnLocked(e.turn, e.turn_start_s);
      t.decision = e.decision;
      t.score = e.score;
      const bool accepted = e.decision == "verified" || e.decision == "identified";
      t.user_id = accepted ? e.user_id : "";
      t.name = accepted ? e.name : "";
    } else if (e.kind == voiceprint::ScorerEvent::Kind::kScore) {
      TurnLocked(e.turn, e.turn_start_s);
    }
  }
  Emit(ScorerEventType(e.kind), std::move(data));
}

VoiceSession::Turn& VoiceSession::TurnLocked(int turn, double start_s) {
  for (auto it = turns_.rbegin(); it != turns_.rend(); ++it) {
    if (it->turn == turn) return *it;
  }
  Turn t;
  t.turn = turn;
  t.start_s = start_s;
  turns_.push_back(std::move(t));
  if (turns_.size() > kMaxTurns) turns_.pop_front();
  return turns_.back();
}

void VoiceSession::Report(std::string type, nlohmann::json data) {
  if (type == "session.dtmf" && data.contains("digit") && data["digit"].is_string()) {
    std::lock_guard lock(summary_mu_);
    dtmf_ += data["digit"].get<std::string>();
  }
  Emit(std::move(type), std::move(data));
}

void VoiceSession::Emit(std::string type, nlohmann::json data) {
  analytics::Event e;
  e.type = std::move(type);
  e.session_id = options_.id;
  e.time_ms = analytics::Event::NowMs();
  e.data = std::move(data);
  std::lock_guard lock(emit_mu_);
  if (services_.bus) services_.bus->Publish(e);
  if (listener_) listener_(e);
}

void VoiceSession::WriteRecording(std::span<const float> samples) {
  int16_t pcm[audio::AudioFrame::kMaxSamples];
  const size_t n = std::min(samples.size(), static_cast<size_t>(audio::AudioFrame::kMaxSamples));
  for (size_t i = 0; i < n; ++i) {
    const float v = std::clamp(samples[i], -1.0f, 1.0f);
    pcm[i] = static_cast<int16_t>(std::lrint(v * 32767.0f));
  }
  std::fwrite(pcm, sizeof(int16_t), n, recording_);
  recorded_samples_ += static_cast<int64_t>(n);
}

void VoiceSession::CloseRecording() {
  if (!recording_) return;
  std::fseek(recording_, 0, SEEK_SET);
  WriteWavHeader(recording_, static_cast<uint32_t>(recorded_samples_ * 2),
                 dsp::LivePipeline::kRateHz);
  std::fclose(recording_);
  recording_ = nullptr;
}

void VoiceSession::Finish(std::string reason) {
  std::lock_guard finish_lock(finish_mu_);
  if (finished_.load()) return;
  services_.workers->Detach(shared_from_this());
  finished_.store(true);  // PushFrame refuses from here on
  Drain();
  // What the pipeline still holds (resampler and VAD tails) comes out now: stamp it now, or it
  // would count the time this call waited to be finished as processing lag.
  current_pushed_s_ = NowS();
  pipeline_->Finish(*sink_);
  if (scorer_) scorer_->Finish();
  CloseRecording();
  const double elapsed = ElapsedS();
  qos_->Finish(elapsed);
  {
    std::lock_guard lock(summary_mu_);
    state_ = "ended";
    end_reason_ = reason;
  }
  nlohmann::json final_data = Describe(NowS());
  final_data["reason"] = reason;
  Emit("session.final", std::move(final_data));
  if (services_.registry) services_.registry->Remove(options_.id, NowS());
}

std::vector<voiceprint::ScorerEvent> VoiceSession::decisions() const {
  std::lock_guard lock(summary_mu_);
  return decisions_;
}

nlohmann::json VoiceSession::Describe(double /*now_s*/) const {
  const double elapsed = ElapsedS();
  nlohmann::json j = {{"session_id", options_.id},
                      {"kind", options_.kind},
                      {"mode", options_.mode ? voiceprint::LiveModeName(*options_.mode) : "record"},
                      {"codec", options_.codec},
                      {"sample_rate", options_.input_rate_hz},
                      {"started_at_ms", started_ms_},
                      {"duration_s", elapsed},
                      {"info", options_.info}};
  if (!options_.user_id.empty()) j["user_id"] = options_.user_id;
  {
    std::lock_guard lock(summary_mu_);
    j["state"] = state_;
    if (!end_reason_.empty()) j["end_reason"] = end_reason_;
    j["speech_segments"] = speech_segments_;
    j["speech_s"] = speech_s_;
    nlohmann::json d = nlohmann::json::array();
    for (size_t i = 0; i < decisions_.size(); ++i) {
      const auto& e = decisions_[i];
      nlohmann::json x = ScorerEventJson(e);
      x["type"] = e.kind == voiceprint::ScorerEvent::Kind::kEnrolled ? "enrolled" : "decision";
      if (std::isfinite(decision_latency_s_[i])) x["latency_ms"] = decision_latency_s_[i] * 1000.0;
      d.push_back(std::move(x));
    }
    j["decisions"] = std::move(d);
    if (last_score_) j["last_score"] = ScorerEventJson(*last_score_);
    if (!dtmf_.empty()) j["dtmf"] = dtmf_;
    nlohmann::json timeline = nlohmann::json::array();
    for (const Turn& t : turns_) {
      const bool last = &t == &turns_.back();
      // The last turn runs to the end of the speech heard once the session is over.
      const double end_s =
          t.end_s >= 0
              ? t.end_s
              : (state_ != "active" && last ? std::max(last_speech_end_s_, t.start_s) : -1.0);
      timeline.push_back(
          {{"turn", t.turn},
           {"start_s", t.start_s},
           {"end_s", end_s >= 0 ? nlohmann::json(end_s) : nlohmann::json()},
           {"user_id", t.user_id},
           {"name", t.name},
           {"decision", t.decision.empty() ? nlohmann::json() : nlohmann::json(t.decision)},
           {"score", t.decision.empty() ? nlohmann::json() : nlohmann::json(t.score)}});
    }
    j["timeline"] = std::move(timeline);
    nlohmann::json scores = nlohmann::json::array();
    for (const auto& e : scores_) {
      scores.push_back({{"t_s", e.time_s},
                        {"score", e.score},
                        {"threshold", e.threshold},
                        {"verdict", voiceprint::DecisionName(e.verdict)},
                        {"user_id", e.user_id},
                        {"turn", e.turn}});
    }
    j["scores"] = std::move(scores);
    nlohmann::json speech = nlohmann::json::array();
    for (const auto& [start_s, end_s] : speech_)
      speech.push_back({{"start_s", start_s}, {"end_s", end_s}});
    j["speech"] = std::move(speech);
  }
  if (!recording_path_.empty()) j["recording"] = recording_path_;
  j["qos"] = qos_->Snapshot(elapsed);
  return j;
}

}  // namespace voxgate::stream
