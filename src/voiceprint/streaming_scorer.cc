#include "voiceprint/streaming_scorer.h"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <utility>

#include "common/config_node.h"
#include "voiceprint/scoring.h"

namespace voxgate::voiceprint {

const char* LiveModeName(LiveMode mode) {
  switch (mode) {
    case LiveMode::kVerify:
      return "verify";
    case LiveMode::kIdentify:
      return "identify";
    case LiveMode::kEnroll:
      return "enroll";
  }
  return "unknown";
}

Result<LiveMode> ParseLiveMode(std::string_view name) {
  if (name == "verify") return LiveMode::kVerify;
  if (name == "identify") return LiveMode::kIdentify;
  if (name == "enroll") return LiveMode::kEnroll;
  return InvalidArgumentError(
      fmt::format("unknown mode '{}' (expected verify, identify or enroll)", name));
}

Status StreamingScorerConfig::Validate() const {
  if (min_score_speech_s <= 0) return InvalidArgumentError("live.min_score_speech_s must be > 0");
  if (rescore_every_s <= 0) return InvalidArgumentError("live.rescore_every_s must be > 0");
  if (decide_min_speech_s < min_score_speech_s) {
    return InvalidArgumentError("live.decide_min_speech_s must be >= live.min_score_speech_s");
  }
  if (decide_max_speech_s < decide_min_speech_s) {
    return InvalidArgumentError("live.decide_max_speech_s must be >= live.decide_min_speech_s");
  }
  if (accept_margin < 0 || reject_margin < 0) {
    return InvalidArgumentError("live.accept_margin and live.reject_margin must be >= 0");
  }
  if (window_s < min_score_speech_s) {
    return InvalidArgumentError("live.window_s must be >= live.min_score_speech_s");
  }
  if (change_chunk_s < 0.5) return InvalidArgumentError("live.change_chunk_s must be >= 0.5");
  if (top_k < 1) return InvalidArgumentError("live.top_k must be >= 1");
  if (enroll_samples < 1) return InvalidArgumentError("live.enroll_samples must be >= 1");
  if (enroll_speech_s < enroll_samples * 1.0) {
    return InvalidArgumentError("live.enroll_speech_s must allow at least 1 s per sample");
  }
  return Status::Ok();
}

std::string StreamingScorerConfig::ToString() const {
  return fmt::format(
      "StreamingScorerConfig(min_score_speech_s={}, rescore_every_s={}, decide_min_speech_s={}, "
      "decide_max_speech_s={}, accept_margin={}, reject_margin={}, window_s={}, "
      "speaker_change={}, change_chunk_s={}, change_threshold={}, top_k={}, enroll_speech_s={}, "
      "enroll_samples={})",
      min_score_speech_s, rescore_every_s, decide_min_speech_s, decide_max_speech_s, accept_margin,
      reject_margin, window_s, speaker_change, change_chunk_s, change_threshold, top_k,
      enroll_speech_s, enroll_samples);
}

Status StreamingScorerConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("min_score_speech_s", &min_score_speech_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("rescore_every_s", &rescore_every_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("decide_min_speech_s", &decide_min_speech_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("decide_max_speech_s", &decide_max_speech_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("accept_margin", &accept_margin));
  VOXGATE_RETURN_IF_ERROR(node.Get("reject_margin", &reject_margin));
  VOXGATE_RETURN_IF_ERROR(node.Get("window_s", &window_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("speaker_change", &speaker_change));
  VOXGATE_RETURN_IF_ERROR(node.Get("change_chunk_s", &change_chunk_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("change_threshold", &change_threshold));
  VOXGATE_RETURN_IF_ERROR(node.Get("top_k", &top_k));
  VOXGATE_RETURN_IF_ERROR(node.Get("enroll_speech_s", &enroll_speech_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("enroll_samples", &enroll_samples));
  return Status::Ok();
}

namespace {

// What a job hands back to the scorer.
struct JobResult {
  enum class Kind { kScore, kChunk, kEnroll } kind = Kind::kScore;
  int turn = 0;
  uint64_t turn_samples = 0;  // the turn's speech count when the snapshot was taken
  int64_t chunk_start = 0;    // kChunk: turn sample offset where the chunk began
  int64_t clock = 0;          // session clock of the snapshot's last sample
  Status status;
  std::vector<float> embedding;
  float score = 0;                    // raw cosine: the claimed user (verify), the best (identify)
  std::vector<SpeakerMatch> matches;  // identify
  std::optional<Verdict> verdict;     // of the claimed user / the best match
  LiveEnrollment enrollment;
};

// Shared with jobs, which may outlive the scorer.
struct Mailbox {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<JobResult> results;  // guarded by mu
  int in_flight = 0;               // guarded by mu

  void Post(JobResult r) {
    {
      std::lock_guard lock(mu);
      results.push_back(std::move(r));
      --in_flight;
    }
    cv.notify_all();
  }
};

struct Turn {
  int index = 0;
  int64_t start_clock = 0;        // session sample of the turn's first speech
  std::vector<float> speech;      // the turn's most recent speech (front trimmed to the window)
  uint64_t total_samples = 0;     // all speech of the turn
  uint64_t trimmed = 0;           // samples dropped from the front of `speech`
  uint64_t scored_at = 0;         // total_samples at the last scoring snapshot
  std::vector<float> chunk_mean;  // sum of the turn's chunk embeddings (change detection)
  int chunks = 0;
  std::vector<float> embedding;  // the turn's latest scoring embedding (its recent window)
  bool decided = false;
  std::optional<ScorerEvent> last_score;
};

}  // namespace

struct StreamingScorer::Impl {
  StreamingScorerConfig config;
  LiveMode mode = LiveMode::kIdentify;
  std::string claimed_user;
  std::string enroll_name;  // kEnroll: the display name to store ("" keeps / uses the id)
  SecurityLevel level = SecurityLevel::kBalanced;
  std::optional<double> fixed_threshold;  // a raw-cosine threshold instead of the level's
  double threshold = 0;  // the level's nominal raw cosine, for events before any verdict
  double change_threshold = 0;
  int rate = 16000;
  std::shared_ptr<const Embedder> embedder;
  std::shared_ptr<SpeakerDirectory> directory;
  Executor executor;
  EventSink sink;
  std::shared_ptr<Mailbox> mailbox = std::make_shared<Mailbox>();

  Turn turn;
  uint64_t total_samples = 0;
  int64_t last_clock = 0;  // session clock just after the last speech sample fed
  bool score_job = false;  // a scoring job is in flight
  bool chunk_job = false;
  // Change detection: the chunk being collected (turn offsets).
  int64_t chunk_start = 0;
  std::vector<float> chunk;
  int64_t chunk_start_clock = 0;
  // A chunk unlike the turn, waiting for the next chunk to confirm the change.
  std::optional<JobResult> pending_change;
  // Enrollment.
  std::vector<float> enroll_speech;
  bool enroll_job = false;
  bool enrolled = false;
  bool first_turn_decided = false;

  double Seconds(uint64_t samples) const { return static_cast<double>(samples) / rate; }
  double ClockS(int64_t clock) const { return static_cast<double>(clock) / rate; }

  void Emit(ScorerEvent e) {
    if (sink) sink(e);
  }

  bool Submit(std::function<void()> job) {
    {
      std::lock_guard lock(mailbox->mu);
      ++mailbox->in_flight;
    }
    if (executor && executor(std::move(job))) return true;
    std::lock_guard lock(mailbox->mu);
    --mailbox->in_flight;
    return false;
  }

  void Feed(std::span<const float> speech, int64_t clock) {
    if (speech.empty()) return;
    total_samples += speech.size();
    last_clock = clock + static_cast<int64_t>(speech.size());
    if (mode == LiveMode::kEnroll) {
      if (!enrolled && !enroll_job)
        enroll_speech.insert(enroll_speech.end(), speech.begin(), speech.end());
      if (!enrolled && !enroll_job && Seconds(enroll_speech.size()) >= config.enroll_speech_s) {
        SubmitEnroll();
      }
      return;
    }
    if (turn.total_samples == 0) turn.start_clock = clock;
    turn.speech.insert(turn.speech.end(), speech.begin(), speech.end());
    turn.total_samples += speech.size();
    TrimTurn();
    if (config.speaker_change) {
      if (chunk.empty()) {
        chunk_start = static_cast<int64_t>(turn.total_samples - speech.size());
        chunk_start_clock = clock;
      }
      chunk.insert(chunk.end(), speech.begin(), speech.end());
      if (Seconds(chunk.size()) >= config.change_chunk_s && !chunk_job) SubmitChunk();
    }
    MaybeScore();
  }

  void TrimTurn() {
    // Keep the window plus one chunk, so a turn split can hand the chunk's speech over.
    const size_t keep = static_cast<size_t>((config.window_s + 2 * config.change_chunk_s) * rate);
    if (turn.speech.size() > keep + rate) {  // trim in 1 s steps, not every frame
      const size_t drop = turn.speech.size() - keep;
      turn.speech.erase(turn.speech.begin(), turn.speech.begin() + static_cast<ptrdiff_t>(drop));
      turn.trimmed += drop;
    }
  }

  // The speech a turn's score covers: its last window_s.
  std::vector<float> TurnWindow() const {
    const size_t n = std::min(static_cast<size_t>(config.window_s * rate), turn.speech.size());
    return std::vector<float>(turn.speech.end() - static_cast<ptrdiff_t>(n), turn.speech.end());
  }

  JobResult ScoreMeta() const {
    JobResult meta;
    meta.kind = JobResult::Kind::kScore;
    meta.turn = turn.index;
    meta.turn_samples = turn.total_samples;
    meta.clock = last_clock;
    return meta;
  }

  void MaybeScore() {
    if (score_job) return;
    const double speech_s = Seconds(turn.total_samples);
    if (speech_s < config.min_score_speech_s) return;
    // After the decision keep reporting, less often.
    const double every = turn.decided ? 3 * config.rescore_every_s : config.rescore_every_s;
    if (turn.scored_at != 0 && Seconds(turn.total_samples - turn.scored_at) < every) return;
    auto snapshot = std::make_shared<std::vector<float>>(TurnWindow());
    JobResult meta = ScoreMeta();
    auto job = [mailbox = mailbox, embedder = embedder, directory = directory, mode = mode,
                user = claimed_user, top_k = config.top_k, level = level, fixed = fixed_threshold,
                snapshot, meta]() mutable {
      ScoreSnapshot(*embedder, *directory, mode, user, top_k, level, fixed, *snapshot, meta);
      mailbox->Post(std::move(meta));
    };
    if (Submit(std::move(job))) {
      score_job = true;
      turn.scored_at = turn.total_samples;
    }
  }

  static void ScoreSnapshot(const Embedder& embedder, const SpeakerDirectory& directory,
                            LiveMode mode, const std::string& user, int top_k, SecurityLevel level,
                            std::optional<double> fixed, const std::vector<float>& speech,
                            JobResult& out) {
    auto e = embedder.EmbedSpeech(speech);
    if (!e.ok()) {
      out.status = e.status();
      return;
    }
    // The same verdict as a REST request on this speech: AS-Norm, LLR, the level's threshold for
    // this much speech, the quality gates.
    const ProbeEvidence probe = directory.Evidence(*e);
    if (mode == LiveMode::kVerify) {
      auto verdict = directory.JudgeUser(user, probe, level, fixed);
      if (!verdict.ok()) {
        out.status = verdict.status();
        return;
      }
      out.score = static_cast<float>(verdict->score);
      out.verdict = std::move(*verdict);
    } else {
      for (auto& m : directory.SearchJudged(probe, static_cast<size_t>(top_k), level, fixed)) {
        out.matches.push_back({m.user_id, static_cast<float>(m.verdict.score)});
        if (!out.verdict) out.verdict = std::move(m.verdict);
      }
      out.score = out.matches.empty() ? -1.0f : out.matches.front().score;
    }
    out.embedding = std::move(e->vector);
  }

  void SubmitChunk() {
    auto snapshot = std::make_shared<std::vector<float>>(std::move(chunk));
    chunk.clear();
    JobResult meta;
    meta.kind = JobResult::Kind::kChunk;
    meta.turn = turn.index;
    meta.chunk_start = chunk_start;
    meta.clock = chunk_start_clock;
    auto job = [mailbox = mailbox, embedder = embedder, snapshot, meta]() mutable {
      auto e = embedder->EmbedSpeech(*snapshot);
      if (e.ok()) {
        meta.embedding = std::move(e->vector);
      } else {
        meta.status = e.status();
      }
      mailbox->Post(std::move(meta));
    };
    chunk_job = Submit(std::move(job));
    // A refused chunk is simply skipped: change detection resumes with the next one.
  }

  void SubmitEnroll() {
    const size_t per = enroll_speech.size() / static_cast<size_t>(config.enroll_samples);
    auto clips = std::make_shared<std::vector<std::vector<float>>>();
    for (int i = 0; i < config.enroll_samples; ++i) {
      clips->emplace_back(enroll_speech.begin() + static_cast<ptrdiff_t>(i * per),
                          enroll_speech.begin() + static_cast<ptrdiff_t>((i + 1) * per));
    }
    JobResult meta;
    meta.kind = JobResult::Kind::kEnroll;
    meta.clock = last_clock;
    meta.turn_samples = enroll_speech.size();
    auto job = [mailbox = mailbox, directory = directory, user = claimed_user, name = enroll_name,
                clips, meta]() mutable {
      auto r = directory->EnrollSpeech(user, name, *clips, "live-session");
      if (r.ok()) {
        meta.enrollment = std::move(*r);
      } else {
        meta.status = r.status();
      }
      mailbox->Post(std::move(meta));
    };
    enroll_job = Submit(std::move(job));
  }

  void Poll() {
    HandleResults();
    if (mode != LiveMode::kEnroll) MaybeScore();
  }

  // Handles every finished job's result.
  void HandleResults() {
    std::vector<JobResult> results;
    {
      std::lock_guard lock(mailbox->mu);
      results.swap(mailbox->results);
    }
    for (JobResult& r : results) Handle(r);
  }

  void Handle(JobResult& r) {
    switch (r.kind) {
      case JobResult::Kind::kScore:
        score_job = false;
        HandleScore(r);
        break;
      case JobResult::Kind::kChunk:
        chunk_job = false;
        HandleChunk(r);
        break;
      case JobResult::Kind::kEnroll:
        enroll_job = false;
        HandleEnroll(r);
        break;
    }
  }

  ScorerEvent BaseEvent(ScorerEvent::Kind kind) const {
    ScorerEvent e;
    e.kind = kind;
    e.turn = turn.index;
    e.turn_start_s = ClockS(turn.start_clock);
    e.threshold = threshold;
    e.user_id = mode == LiveMode::kEnroll || mode == LiveMode::kVerify ? claimed_user : "";
    return e;
  }

  void HandleScore(JobResult& r) {
    if (r.turn != turn.index) return;  // the turn ended while the job ran
    if (!r.status.ok()) {
      if (r.status.code() == StatusCode::kNotFound) {
        // The claimed user does not exist (or was disabled): nothing to verify against.
        ScorerEvent e = BaseEvent(ScorerEvent::Kind::kError);
        e.message = r.status.message();
        e.time_s = ClockS(r.clock);
        if (!turn.decided) {
          turn.decided = true;
          first_turn_decided = true;
          Emit(e);
          ScorerEvent d = BaseEvent(ScorerEvent::Kind::kDecision);
          d.decision = "rejected";
          d.message = r.status.message();
          d.time_s = e.time_s;
          d.speech_s = Seconds(r.turn_samples);
          Emit(d);
        }
      }
      return;  // too little speech after all, or an inference error: try again later
    }
    turn.embedding = r.embedding;
    ScorerEvent e = ScoreEvent(r);
    turn.last_score = e;
    Emit(e);
    if (!turn.decided) MaybeDecide(e, /*final=*/false);
  }

  ScorerEvent ScoreEvent(const JobResult& r) const {
    ScorerEvent e = BaseEvent(ScorerEvent::Kind::kScore);
    e.time_s = ClockS(r.clock);
    e.speech_s = Seconds(r.turn_samples);
    e.score = r.score;
    e.matches = r.matches;
    if (r.verdict) {
      e.threshold = r.verdict->threshold;
      e.confidence = r.verdict->probability;
      e.llr = r.verdict->llr;
      e.verdict = r.verdict->decision;
      e.reason = r.verdict->reason;
    }
    if (mode == LiveMode::kIdentify && !r.matches.empty()) e.user_id = r.matches.front().user_id;
    if (!e.user_id.empty()) e.name = directory->DisplayName(e.user_id);
    return e;
  }

  // Closes the current turn without a verdict.
  void DecideInconclusive(double time_s, double speech_s, std::string message) {
    ScorerEvent d = BaseEvent(ScorerEvent::Kind::kDecision);
    d.decision = "inconclusive";
    d.time_s = time_s;
    d.speech_s = speech_s;
    d.message = std::move(message);
    turn.decided = true;
    Emit(d);
  }

  // Decides on the calibrated verdict of the latest score: early only when it is clear by a
  // margin (the score is looked at every second, and each look is another chance for an impostor
  // to cross the threshold), otherwise at decide_max_speech_s or at the end. A verdict that is
  // inconclusive there (too little or too poor speech for the level) is the decision.
  void MaybeDecide(const ScorerEvent& score, bool final) {
    const double s = score.score;
    const double t = score.threshold;
    const bool judged = score.verdict != Verdict::Decision::kInconclusive;
    bool positive = false;
    bool decide = false;
    if (judged && score.speech_s >= config.decide_min_speech_s) {
      if (score.verdict == Verdict::Decision::kAccept && s >= t + config.accept_margin) {
        positive = decide = true;
      } else if (s <= t - config.reject_margin) {
        decide = true;
      }
    }
    if (!decide && (final || score.speech_s >= config.decide_max_speech_s)) {
      if (!judged) {
        DecideInconclusive(score.time_s, score.speech_s, score.reason);
        return;
      }
      decide = true;
      positive = score.verdict == Verdict::Decision::kAccept;
    }
    if (!decide) return;
    ScorerEvent d = score;
    d.kind = ScorerEvent::Kind::kDecision;
    if (mode == LiveMode::kVerify) {
      d.decision = positive ? "verified" : "rejected";
    } else {
      d.decision = positive ? "identified" : "unknown";
      if (!positive) {
        d.user_id.clear();
        d.name.clear();
      }
    }
    turn.decided = true;
    if (turn.index == 0) first_turn_decided = true;
    Emit(d);
  }

  // A 2 s chunk against the turn is a noisy comparison (same-speaker and different-speaker
  // cosines overlap around the threshold with the starter model), so a change needs two
  // consecutive chunks unlike the turn.
  void HandleChunk(JobResult& r) {
    if (r.turn != turn.index || !r.status.ok()) return;
    // The turn's own chunks (accepted as this voice) once there are two; before that its scoring
    // embedding. Not the scoring embedding later: its window may already hold the next voice.
    std::vector<float> reference;
    if (turn.chunks >= 2 || (turn.chunks == 1 && turn.embedding.empty())) {
      reference = turn.chunk_mean;
      L2Normalize(reference);
    } else {
      reference = turn.embedding;
    }
    if (!reference.empty()) {
      const double sim = Score(reference, r.embedding);
      if (sim < change_threshold) {
        if (pending_change) {
          StartTurn(*pending_change, r);
          pending_change.reset();
        } else {
          pending_change = std::move(r);
        }
        return;
      }
    }
    if (pending_change) {
      // A lone dissimilar chunk: not a change, but still this turn's speech.
      AddChunk(pending_change->embedding);
      pending_change.reset();
    }
    AddChunk(r.embedding);
  }

  void AddChunk(const std::vector<float>& embedding) {
    if (turn.chunk_mean.empty()) turn.chunk_mean.assign(embedding.size(), 0.0f);
    for (size_t i = 0; i < embedding.size(); ++i) turn.chunk_mean[i] += embedding[i];
    ++turn.chunks;
  }

  // The chunk starting at turn offset r.chunk_start is another voice (confirmed by `next`):
  // close the current turn there and open a new one with the chunk and everything after it.
  void StartTurn(JobResult& r, const JobResult& next_chunk) {
    if (!turn.decided) {
      if (turn.last_score) {
        MaybeDecide(*turn.last_score, /*final=*/true);
      } else {
        DecideInconclusive(ClockS(r.clock), Seconds(static_cast<uint64_t>(r.chunk_start)),
                           "the speaker changed before enough speech was heard");
      }
    }
    const uint64_t split = static_cast<uint64_t>(r.chunk_start);
    Turn next;
    next.index = turn.index + 1;
    next.start_clock = r.clock;
    if (split >= turn.trimmed) {
      const size_t from = static_cast<size_t>(split - turn.trimmed);
      if (from <= turn.speech.size()) {
        next.speech.assign(turn.speech.begin() + static_cast<ptrdiff_t>(from), turn.speech.end());
      }
    }
    next.total_samples = next.speech.size();
    next.chunk_mean = r.embedding;
    for (size_t i = 0; i < next.chunk_mean.size() && i < next_chunk.embedding.size(); ++i) {
      next.chunk_mean[i] += next_chunk.embedding[i];
    }
    next.chunks = 2;
    // The chunk being collected now started inside the new turn.
    chunk_start -= static_cast<int64_t>(split);
    if (chunk_start < 0) chunk_start = 0;
    turn = std::move(next);
    ScorerEvent t = BaseEvent(ScorerEvent::Kind::kTurn);
    t.time_s = ClockS(r.clock);
    Emit(t);
  }

  void HandleEnroll(JobResult& r) {
    ScorerEvent e = BaseEvent(ScorerEvent::Kind::kEnrolled);
    e.time_s = ClockS(r.clock);
    e.speech_s = Seconds(r.turn_samples);
    if (!r.status.ok()) {
      e.kind = ScorerEvent::Kind::kError;
      e.message = r.status.message();
      // Keep listening: fresh speech may pass the quality gates.
      enroll_speech.clear();
      Emit(e);
      return;
    }
    enrolled = true;
    enroll_speech.clear();
    enroll_speech.shrink_to_fit();
    e.decision = r.enrollment.created ? "enrolled" : "samples_added";
    e.message = fmt::format("{} samples", r.enrollment.total_samples);
    Emit(e);
  }

  void WaitForJobs() {
    std::unique_lock lock(mailbox->mu);
    mailbox->cv.wait_for(lock, std::chrono::seconds(30), [&] { return mailbox->in_flight == 0; });
  }

  void Finish() {
    WaitForJobs();
    Poll();
    WaitForJobs();
    HandleResults();
    if (mode == LiveMode::kEnroll) {
      if (!enrolled && !enroll_speech.empty()) {
        if (Seconds(enroll_speech.size()) < config.enroll_samples * 1.0) {
          ScorerEvent e = BaseEvent(ScorerEvent::Kind::kError);
          e.message = fmt::format("too little speech to enroll: {:.1f} s (need {:.1f} s)",
                                  Seconds(enroll_speech.size()), config.enroll_speech_s);
          Emit(e);
          return;
        }
        SubmitEnrollInline();
      }
      return;
    }
    if (turn.decided) return;
    const double speech_s = Seconds(turn.total_samples);
    if (speech_s < config.min_score_speech_s) {
      DecideInconclusive(ClockS(last_clock), speech_s,
                         fmt::format("too little speech: {:.2f} s (minimum {:.2f} s)", speech_s,
                                     config.min_score_speech_s));
      return;
    }
    // Score everything heard since the last score, here and now.
    JobResult r = ScoreMeta();
    ScoreSnapshot(*embedder, *directory, mode, claimed_user, config.top_k, level, fixed_threshold,
                  TurnWindow(), r);
    if (r.status.ok()) {
      ScorerEvent e = ScoreEvent(r);
      Emit(e);
      MaybeDecide(e, /*final=*/true);
    } else {
      HandleScore(r);
      if (!turn.decided) DecideInconclusive(ClockS(last_clock), speech_s, r.status.message());
    }
  }

  void SubmitEnrollInline() {
    Executor saved = executor;
    executor = [](std::function<void()> job) {
      job();
      return true;
    };
    SubmitEnroll();
    executor = saved;
    HandleResults();
  }
};

StreamingScorer::StreamingScorer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StreamingScorer::~StreamingScorer() {
  // Jobs hold their own references; waiting keeps a scorer's work from running after its session.
  impl_->WaitForJobs();
}

Result<std::unique_ptr<StreamingScorer>> StreamingScorer::Create(
    const StreamingScorerConfig& config, LiveMode mode, std::string claimed_user, double threshold,
    std::shared_ptr<const Embedder> embedder, std::shared_ptr<SpeakerDirectory> directory,
    Executor executor, EventSink sink, std::optional<SecurityLevel> level) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  if (!embedder || !directory) return InvalidArgumentError("streaming scorer needs a model");
  if ((mode == LiveMode::kVerify || mode == LiveMode::kEnroll) && claimed_user.empty()) {
    return InvalidArgumentError(fmt::format("mode {} needs a user_id", LiveModeName(mode)));
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->mode = mode;
  impl->claimed_user = std::move(claimed_user);
  impl->level = level.value_or(directory->DefaultSecurityLevel());
  if (threshold >= -1) impl->fixed_threshold = threshold;
  impl->threshold =
      threshold >= -1 ? threshold : directory->calibration().NominalCosineThreshold(impl->level);
  // Speaker change compares raw chunk embeddings. Calibrated: a chunk unlike the turn is one the
  // lenient level would refuse as a probe of the shortest calibrated length (two such chunks in a
  // row start a turn). Uncalibrated: just under the model's own EER threshold.
  const ModelInfo& info = embedder->model_info();
  const double model_threshold = info.has_threshold ? info.threshold : 0.5;
  impl->change_threshold = config.change_threshold >= -1
                               ? config.change_threshold
                               : directory->calibration().ShortProbeCosineThreshold(
                                     SecurityLevel::kConvenient, model_threshold - 0.04);
  impl->rate = embedder->model_info().sample_rate_hz;
  impl->embedder = std::move(embedder);
  impl->directory = std::move(directory);
  impl->executor = std::move(executor);
  impl->sink = std::move(sink);
  return std::unique_ptr<StreamingScorer>(new StreamingScorer(std::move(impl)));
}

void StreamingScorer::SetEnrollName(std::string name) { impl_->enroll_name = std::move(name); }

void StreamingScorer::Feed(std::span<const float> speech, int64_t clock) {
  impl_->Feed(speech, clock);
}
void StreamingScorer::Poll() { impl_->Poll(); }
void StreamingScorer::Finish() { impl_->Finish(); }
double StreamingScorer::total_speech_s() const { return impl_->Seconds(impl_->total_samples); }
int StreamingScorer::turns() const { return impl_->turn.index + 1; }
bool StreamingScorer::decided() const { return impl_->first_turn_decided; }

}  // namespace voxgate::voiceprint
