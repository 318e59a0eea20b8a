// StreamingScorer: live speaker verification / identification over the speech of one session,
// while the person is still talking.
//
// Speech arrives frame by frame (already cleaned and VAD-gated by the live pipeline). The scorer
// keeps the speech of the current speaker turn; every `rescore_every_s` of new speech it embeds
// the turn's most recent `window_s` and re-scores it (against the claimed user, or everyone). A
// decision comes early when the score is confidently above or below the threshold, once
// `decide_min_speech_s` of speech was heard, and by `decide_max_speech_s` in any case.
//
// Speaker change: every `change_chunk_s` of speech is embedded on its own and compared with the
// current turn; two consecutive chunks unlike the turn (cosine below change_threshold) start a new
// turn at the first of them, which is scored and decided afresh, so a call with two voices
// reports who spoke when.
//
// Embeddings are computed off the media thread: the scorer hands snapshots of speech to an
// executor (the live inference pool) and picks the results up on the next Feed()/Poll(); at most
// one job per kind is in flight. Not thread-safe: Feed/Poll/Finish from one thread (the session's
// media worker). The jobs touch only their own snapshot, the immutable Embedder and the
// thread-safe SpeakerDirectory.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "voiceprint/embedder.h"
#include "voiceprint/speaker_directory.h"

namespace voxgate::voiceprint {

enum class LiveMode { kVerify, kIdentify, kEnroll };

struct StreamingScorerConfig {
  double min_score_speech_s = 1.0;    // first running score after this much speech
  double rescore_every_s = 1.0;       // re-embed the turn after this much new speech
  double decide_min_speech_s = 3.0;   // no decision on less speech than this
  double decide_max_speech_s = 15.0;  // decide by the plain threshold at this much speech
  double accept_margin = 0.08;        // early accept at threshold + margin
  double reject_margin = 0.08;        // early reject at threshold - margin
  double window_s = 10.0;             // the turn's embedding covers its last this-many seconds
  bool speaker_change = true;         // split turns when the voice changes
  double change_chunk_s = 2.0;        // speech per change-detection chunk
  double change_threshold = -2.0;     // chunk-vs-turn cosine under this starts a turn; < -1: the
                                      // calibration's (ShortProbeCosineThreshold, convenient)
  int top_k = 3;                      // identify: candidates reported
  double enroll_speech_s = 12.0;      // enroll: speech collected before enrolling
  int enroll_samples = 3;             // enroll: the speech is split into this many samples

  Status Validate() const;
  std::string ToString() const;
  /// Keys as the fields (live.* in the app config).
  Status Load(const class ::voxgate::ConfigNode& node);
};

/// What a session reports as it goes. Times are session seconds (speech clock).
struct ScorerEvent {
  enum class Kind { kScore, kDecision, kTurn, kEnrolled, kError };
  Kind kind = Kind::kScore;
  int turn = 0;             // 0-based speaker turn
  double turn_start_s = 0;  // where the turn's speech began
  double time_s = 0;        // session time of the speech that produced this event
  double speech_s = 0;      // speech in the turn that went into the score
  std::string decision;     // kDecision: verified | rejected | identified | unknown | inconclusive
  std::string user_id;      // claimed user (verify) or best match (identify)
  std::string name;
  double score = 0;       // raw cosine
  double threshold = 0;   // the raw-cosine threshold the verdict held the score to
  double confidence = 0;  // calibrated probability
  double llr = 0;
  Verdict::Decision verdict = Verdict::Decision::kReject;  // kScore: the verdict at this point
  std::string reason;                                      // of a reject / inconclusive verdict
  std::vector<SpeakerMatch> matches;                       // identify: best first
  std::string message;                                     // kError / kEnrolled details
};

class StreamingScorer {
 public:
  /// Runs a job somewhere else; false when it cannot take it now (the scorer retries later).
  using Executor = std::function<bool(std::function<void()>)>;
  using EventSink = std::function<void(const ScorerEvent&)>;

  /// `claimed_user` is required for kVerify and kEnroll. `threshold` >= -1: a fixed raw-cosine
  /// threshold; otherwise verdicts hold `level` (absent: the directory's default).
  static Result<std::unique_ptr<StreamingScorer>> Create(
      const StreamingScorerConfig& config, LiveMode mode, std::string claimed_user,
      double threshold, std::shared_ptr<const Embedder> embedder,
      std::shared_ptr<SpeakerDirectory> directory, Executor executor, EventSink sink,
      std::optional<SecurityLevel> level = std::nullopt);
  ~StreamingScorer();

  /// kEnroll: the display name to store with the voiceprint (default: keep the user's name, else
  /// the id). Call before the first Feed.
  void SetEnrollName(std::string name);
  /// Speech samples at the model's rate (16 kHz) whose first sample is at session sample
  /// `clock`. Call only with speech; gaps in `clock` are pauses.
  void Feed(std::span<const float> speech, int64_t clock);
  /// Picks up finished jobs and emits their events. Call regularly (every pump).
  void Poll();
  /// End of the session: waits for jobs in flight, scores what was heard last (a turn without a
  /// decision is decided on its speech, or inconclusive), enrolls in kEnroll mode.
  void Finish();

  double total_speech_s() const;
  int turns() const;
  /// True once the current turn (verify: the first turn) has a decision.
  bool decided() const;

 private:
  struct Impl;
  explicit StreamingScorer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

const char* LiveModeName(LiveMode mode);
Result<LiveMode> ParseLiveMode(std::string_view name);

}  // namespace voxgate::voiceprint
