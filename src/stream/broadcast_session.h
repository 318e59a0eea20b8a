// BroadcastSession: one live broadcast. A talking presenter (speech synthesised from text with
// espeak-ng, or a recording, mixed with any number of live inputs such as calls and WebSocket
// sessions) is rendered with PresenterRenderer, or pictures come from outside (PushVideoFrame), and
// pushed over RTMP by AvMuxer,
// with the audio as the master clock (AvSyncClock): audio is cut into chunks, its PTS come from the
// sample count, and for every video slot the clock reaches the newest rendered picture is used,
// dropped (rendered for a slot already gone) or the previous one repeated; each is counted.
//
// Three threads, bounded preallocated queues between them, no locks or allocation per frame:
//   renderer: draws pictures for upcoming slots into a pool of frame buffers (render_ahead_frames);
//   media:    the clock. Reads the speech track per chunk, matches pictures to slots, hands audio
//             chunks and pictures to the output queue; never waits on the network (a full queue
//             drops and counts). In realtime mode it paces itself by the wall clock;
//   output:   encodes and writes (AvMuxer), and reconnects with backoff on a broken connection;
//             what piles up meanwhile is dropped, the clock keeps running.
// With realtime = false the media thread waits for the renderer and the output instead of
// dropping: as fast as the machine allows, nothing dropped (files, tests).
//
// Thread-safe: Say(), Stop(), Wait(), stats() from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "audio/speech_synth.h"
#include "common/result.h"
#include "stream/broadcast_config.h"
#include "stream/live_audio_input.h"

namespace voxgate::stream {

struct BroadcastSessionConfig {
  BroadcastConfig output;                  // URL, preset, encoders, reconnection
  std::string presenter_name = "Voxgate";  // drawn on the card
  audio::SynthConfig synth;                // for Say()
  int audio_rate_hz = 16000;               // the clock's rate (speech is made at this rate)
  int chunk_ms = 20;                       // audio chunk the clock advances by
  int render_ahead_frames = 6;             // pictures the renderer may draw ahead of the clock
  int output_queue_ms = 3000;              // media buffered for the network thread
  double lead_ms = 300;                    // new speech starts at least this far ahead of now
  bool realtime = true;                    // pace by the wall clock (live); false: flat out
  double max_duration_s = 0;               // stop after this much stream time; 0: no limit
  bool stop_when_idle = false;             // stop once all queued speech has been sent
  size_t max_say_bytes = 64 * 1024;        // longer Say() text is refused (kTooLarge)
  /// "presenter": the built-in renderer draws every picture. "external": pictures come from
  /// PushVideoFrame() (a user's own avatar renderer, over a pipe or a WebSocket); the newest one
  /// fills each slot, black until the first arrives.
  std::string video_source = "presenter";
  int live_prebuffer_ms = 120;    // live inputs: cushion before playing (see LiveAudioInput)
  int live_max_latency_ms = 600;  // live inputs: older audio is skipped beyond this

  Status Validate() const;
  std::string ToString() const;  // the URL redacted
};

struct BroadcastStats {
  std::string state;            // "starting", "live", "reconnecting", "stopped", "failed"
  double stream_time_s = 0;     // the audio clock
  int64_t frames_sent = 0;      // video slots filled
  int64_t frames_dropped = 0;   // rendered too late for their slot
  int64_t frames_repeated = 0;  // slot filled with the previous picture
  int64_t queue_drops = 0;      // chunks or pictures dropped because the output queue was full
  double drift_ms = 0;          // video clock minus audio clock at the media thread
  double written_drift_ms = 0;  // end of last video packet minus end of last audio packet sent
  int64_t bytes_sent = 0;
  int reconnects = 0;
  int live_inputs = 0;          // live inputs mixed in now
  int64_t live_underruns = 0;   // times a live input ran dry (summed over current inputs)
  int64_t external_frames = 0;  // pictures received through PushVideoFrame
  std::string error;            // why it failed (redacted), empty otherwise
};

class BroadcastSession {
 public:
  /// Connects (with the configured attempts; kUnavailable after them, message redacted) and starts
  /// the threads. kInvalidArgument for a bad config.
  static Result<std::unique_ptr<BroadcastSession>> Start(const BroadcastSessionConfig& config);
  /// Stops (as Stop()) if still running.
  ~BroadcastSession();
  BroadcastSession(const BroadcastSession&) = delete;
  BroadcastSession& operator=(const BroadcastSession&) = delete;

  /// Synthesises `text` and queues it after what is already queued; returns when it will start,
  /// in seconds of stream time. kTooLarge over max_say_bytes; the synthesiser's errors
  /// otherwise; kUnavailable once the broadcast has ended.
  Result<double> Say(std::string_view text);
  /// Decodes a recording (any format audio::DecodeFile reads) and queues it; as Say().
  Result<double> PlayFile(const std::string& path);
  /// A new live input mixed into the broadcast's audio from the next chunk on; the caller pushes
  /// samples at config.audio_rate_hz into it (from one thread) and closes it when its source
  /// ends. The presenter's mouth and meter follow the mix while no synthesised speech plays.
  std::shared_ptr<LiveAudioInput> AddLiveInput(std::string label);
  /// Stops mixing `input` (it may still be pushed to; nothing is read any more).
  void RemoveLiveInput(const std::shared_ptr<LiveAudioInput>& input);
  /// The name on the card from the next picture on (e.g. the speaker live identification named).
  /// At most 200 bytes (longer is cut).
  void SetPresenterName(std::string name);
  std::string presenter_name() const;
  /// video_source "external": a picture of width x height BGRA pixels (stride 4 x width) for the
  /// next slots. kUnusable in presenter mode; kInvalidArgument for the wrong size.
  Status PushVideoFrame(std::span<const uint8_t> bgra);

  /// Ends the broadcast: flushes the encoders, writes the FLV trailer, closes the connection.
  /// Returns the first error of the broadcast (or OK). Idempotent.
  Status Stop();
  /// Blocks until the broadcast ends by itself (max_duration_s, stop_when_idle, or failure),
  /// then as Stop().
  Status Wait();

  /// True once the broadcast has ended by itself (max_duration_s, stop_when_idle, or failure);
  /// Stop() is still needed to flush and close.
  bool Finished() const;

  BroadcastStats stats() const;

  /// The next picture sent (the output thread copies one per call), as a PNG at most `max_width`
  /// wide; waits up to `wait_ms` for it, then answers the last one copied.
  /// kNotFound before the first picture.
  Result<std::string> PreviewPng(int max_width, int wait_ms);

 private:
  struct Impl;
  explicit BroadcastSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::stream
