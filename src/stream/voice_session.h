// VoiceSession: one live voice session (a WebSocket stream or a SIP call) from decoded audio frames
// to results. The transport pushes frames (already decoded and, for RTP, de-jittered); a media
// worker runs them through the live pipeline (resample, high-pass, noise suppression + AGC, VAD),
// feeds the speech to a StreamingScorer (verify / identify / enroll; none for recording), tracks
// QoS, optionally records the cleaned audio, and reports everything as events.
//
// Threads: PushFrame() from one producer thread (the transport); Pump() on the media worker;
// Finish() from the owner once the source has ended (it detaches from the worker first, so it
// never runs concurrently with Pump()); Describe() and the accessors from any thread. Events are
// delivered on the worker's thread (or Finish()'s), one at a time.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "analytics/event.h"
#include "analytics/event_bus.h"
#include "analytics/qos_tracker.h"
#include "analytics/session_registry.h"
#include "audio/audio_frame.h"
#include "audio/spsc_ring.h"
#include "common/result.h"
#include "dsp/live_pipeline.h"
#include "dsp/media_worker_pool.h"
#include "voiceprint/streaming_scorer.h"

namespace voxgate {
class ConfigNode;
}

namespace voxgate::stream {

struct VoiceSessionConfig {
  dsp::LivePipelineConfig pipeline;
  voiceprint::StreamingScorerConfig scorer;
  int input_queue_frames = 256;        // frames queued between transport and worker (~5 s of 20 ms)
  double qos_event_every_s = 5;        // session.qos events, seconds of audio; 0: none
  bool score_processed_audio = false;  // true: the scorer gets NS/AGC output (hurts accuracy)

  Status Validate() const;
  std::string ToString() const;
  /// Keys: input_queue_frames, qos_event_every_s; the pipeline's under "pipeline", the scorer's
  /// under "scoring".
  Status Load(const ConfigNode& node);
};

/// Process-wide parts every session shares.
struct LiveServices {
  VoiceSessionConfig config;
  std::shared_ptr<dsp::MediaWorkerPool> workers;
  std::shared_ptr<const dsp::SileroVad> vad;             // built from config.pipeline.vad_config
  std::shared_ptr<const voiceprint::Embedder> embedder;  // null: no scoring available
  std::shared_ptr<voiceprint::SpeakerDirectory> directory;
  voiceprint::StreamingScorer::Executor executor;        // where embeddings are computed
  std::shared_ptr<analytics::EventBus> bus;              // may be null
  std::shared_ptr<analytics::SessionRegistry> registry;  // may be null
  std::shared_ptr<analytics::QosMetrics> qos_metrics;    // may be null
  std::string recordings_dir;                            // where record sessions write WAV
};

struct VoiceSessionOptions {
  std::string id;                            // unique; generated when empty
  std::string kind = "websocket";            // "websocket" | "sip"
  std::optional<voiceprint::LiveMode> mode;  // nullopt: no scoring (record / listen only)
  std::string user_id;                       // verify / enroll
  std::string user_name;                     // enroll: the display name to store
  double threshold = -2.0;                   // >= -1: a fixed raw-cosine threshold
  std::optional<voiceprint::SecurityLevel> security_level;  // absent: the directory's default
  int input_rate_hz = 16000;                                // rate of the pushed frames
  std::string codec = "pcm_s16le";                          // for QoS (E-model) and reporting
  int rtp_clock_rate_hz = 8000;                             // RTP sessions
  bool record = false;                                      // write the cleaned audio to a WAV file
  nlohmann::json info = nlohmann::json::object();           // transport details for Describe()
};

class VoiceSession : public dsp::MediaTask,
                     public analytics::SessionView,
                     public std::enable_shared_from_this<VoiceSession> {
 public:
  /// Receives every event (session.started, .vad, .score, .decision, .turn, .enrolled, .error,
  /// .qos, .final); it is also published on the bus.
  using Listener = std::function<void(const analytics::Event&)>;

  /// Builds the session, registers it and attaches it to a media worker; emits session.started.
  static Result<std::shared_ptr<VoiceSession>> Start(const LiveServices& services,
                                                     VoiceSessionOptions options,
                                                     Listener listener);
  ~VoiceSession() override;

  /// Producer side: queues one decoded frame at options.input_rate_hz. False when the queue is
  /// full (the frame is dropped and counted as dropped for lack of CPU). Allocation-free.
  bool PushFrame(const audio::AudioFrame& frame);
  /// The session's QoS (the transport reports packets, late packets, RTT, bytes here).
  analytics::QosTracker& qos() { return *qos_; }
  /// Ends the session: detaches from the worker, processes what is queued, closes the speech,
  /// lets the scorer decide, emits session.final and removes the session from the registry.
  /// Idempotent. Blocks for the last embedding (tens of milliseconds); call it off I/O threads
  /// when that matters.
  void Finish(std::string reason = "stopped");
  /// Seconds since start on the monotonic clock (the time base of QoS and events).
  double ElapsedS() const;
  /// Emits an event the transport observed (e.g. session.dtmf), from any thread.
  void Report(std::string type, nlohmann::json data);

  /// Receives the session's cleaned audio (dsp::LivePipeline::kRateHz mono, after the pipeline)
  /// and whether the VAD calls it speech, frame by frame on the media worker. It runs on the
  /// media path: it must not block or allocate (e.g. push into a LiveAudioInput).
  using AudioTap = std::function<void(std::span<const float> samples, bool speech)>;
  /// Adds a tap from any thread; returns its id for RemoveAudioTap.
  int AddAudioTap(AudioTap tap);
  /// After it returns the tap may still run once more if a frame is being processed.
  void RemoveAudioTap(int id);

  // MediaTask.
  void Pump() override;
  // SessionView.
  std::string id() const override { return options_.id; }
  std::string kind() const override { return options_.kind; }
  nlohmann::json Describe(double now_s) const override;

  const VoiceSessionOptions& options() const { return options_; }
  bool finished() const { return finished_.load(); }
  /// The decisions so far, oldest first (thread-safe copy).
  std::vector<voiceprint::ScorerEvent> decisions() const;

  /// Monotonic seconds used by every session (QoS time base).
  static double NowS();

 private:
  struct Queued {
    audio::AudioFrame frame;
    double pushed_s = 0;
  };
  class Sink;
  VoiceSession(const LiveServices& services, VoiceSessionOptions options, Listener listener);
  void Drain();
  void Emit(std::string type, nlohmann::json data);
  void OnScorerEvent(const voiceprint::ScorerEvent& e);
  void OnFrame(const audio::AudioFrame& frame, const audio::AudioFrame& unprocessed, bool speech);
  void OnSpeechSegment(int64_t start, int64_t end);
  void WriteRecording(std::span<const float> samples);
  void CloseRecording();
  // Seconds from the arrival of the frame holding session time `time_s` until now; NaN when that
  // frame is no longer remembered. Worker thread.
  double LatencySince(double time_s) const;

  using Taps = std::vector<std::pair<int, AudioTap>>;
  std::atomic<std::shared_ptr<const Taps>> taps_{std::make_shared<const Taps>()};
  std::mutex taps_mu_;  // serialises writers of taps_ (the worker reads without a lock)
  int next_tap_ = 1;    // GUARDED_BY(taps_mu_)

  const LiveServices services_;
  VoiceSessionOptions options_;
  Listener listener_;
  std::unique_ptr<analytics::QosTracker> qos_;
  std::unique_ptr<dsp::LivePipeline> pipeline_;
  std::unique_ptr<voiceprint::StreamingScorer> scorer_;
  std::unique_ptr<Sink> sink_;
  audio::SpscRing<Queued> ring_;
  int worker_ = -1;
  double started_s_ = 0;  // NowS() at construction
  int64_t started_ms_ = 0;
  double current_pushed_s_ = 0;  // push time of the frame being processed
  bool was_speech_ = false;
  double next_qos_s_ = 0;
  std::FILE* recording_ = nullptr;
  int64_t recorded_samples_ = 0;
  std::string recording_path_;
  // The last frames processed: (end of the frame in session seconds, its push time), for the
  // decision latency. A ring; worker thread only.
  static constexpr size_t kFrameTimes = 1024;
  std::array<std::pair<double, double>, kFrameTimes> frame_times_{};
  int64_t frames_seen_ = 0;

  std::atomic<bool> finished_{false};
  std::mutex finish_mu_;  // serialises Finish()
  std::mutex emit_mu_;    // one event at a time to the listener

  mutable std::mutex summary_mu_;  // guards the fields below (updated on events)
  std::vector<voiceprint::ScorerEvent> decisions_;
  std::vector<double> decision_latency_s_;  // per decision: LatencySince(time_s), NaN: unknown
  std::optional<voiceprint::ScorerEvent> last_score_;
  int speech_segments_ = 0;
  double speech_s_ = 0;
  std::string state_ = "active";
  std::string end_reason_;
  std::string dtmf_;
  // For the console's session page: who spoke when, the running scores, speech activity.
  struct Turn {
    int turn = 0;
    double start_s = 0;
    double end_s = -1;          // < 0: still speaking
    std::string user_id, name;  // set by an accepting decision (verified / identified)
    std::string decision;       // "" until decided
    double score = 0;
  };
  static constexpr size_t kMaxTurns = 200;
  static constexpr size_t kMaxScores = 600;
  static constexpr size_t kMaxSpeech = 200;
  std::deque<Turn> turns_;
  std::deque<voiceprint::ScorerEvent> scores_;  // kScore events, matches dropped
  std::deque<std::pair<double, double>> speech_;
  double last_speech_end_s_ = 0;
  // The timeline entry of `turn` (starting at start_s), created when new. Under summary_mu_.
  Turn& TurnLocked(int turn, double start_s);
};

}  // namespace voxgate::stream
