// Silero VAD v5 on ONNX Runtime. The model (one ONNX session) is shared and immutable after load;
// Detect() keeps its recurrent state in a per-call stream object, so concurrent calls are safe.
// VadStream is per-stream state and is not thread-safe.
//
// Segmentation is Silero's get_speech_timestamps() (threshold / neg_threshold hysteresis,
// min_speech_ms, min_silence_ms, speech_pad_ms; no max speech duration) made causal: a stream fed
// in any chunk sizes gives exactly the segments Detect() gives for the whole clip, and those are
// the segments get_speech_timestamps() gives for the same window probabilities.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace voxgate::dsp {

struct VadConfig {
  std::string model_path = "weights/silero_vad.onnx";  // relative: cwd first, then the repo root
  int sample_rate_hz = 16000;                          // 16000 (512-sample windows) or 8000 (256)
  float threshold = 0.5f;                              // speech probability to start speech
  float neg_threshold = -1.0f;                         // to end speech; < 0: threshold - 0.15
  int min_speech_ms = 250;                             // shorter bursts are dropped
  int min_silence_ms = 100;                            // silence needed to close a segment
  int speech_pad_ms = 30;                              // padding on both sides of a segment
  int num_threads = 1;                                 // ONNX Runtime intra-op threads

  Status Validate() const;
  std::string ToString() const;
};

/// A speech segment in samples, [start_sample, end_sample), at the VAD's sample rate.
struct SpeechSegment {
  int64_t start_sample = 0;
  int64_t end_sample = 0;

  friend bool operator==(const SpeechSegment&, const SpeechSegment&) = default;
};

class SileroVad;

/// Streaming detector: feed samples in any chunk sizes; segments come out as they close. Sample
/// positions count from the first sample accepted since construction, Flush() or Reset().
/// Not thread-safe. The per-window path reuses preallocated tensors (ONNX Runtime may still
/// allocate inside Run()).
class VadStream {
 public:
  /// A null `vad` gives a stream whose Accept() returns kInvalidArgument.
  explicit VadStream(std::shared_ptr<const SileroVad> vad);
  ~VadStream();
  /// Appends samples; returns the segments whose end became final during this call. With the
  /// defaults (min_silence_ms >= 2 * speech_pad_ms) that is as soon as a segment closes, i.e.
  /// min_silence_ms plus at most about two windows after its end; otherwise a segment may wait for
  /// the next one, since get_speech_timestamps() splits short gaps between neighbours.
  Result<std::vector<SpeechSegment>> Accept(std::span<const float> samples);
  /// Ends the stream: runs the trailing partial window zero-padded (as get_speech_timestamps()
  /// does), returns every segment not yet returned, and resets the stream for reuse. If inference
  /// fails on that last window (it does not once Accept() has succeeded), it counts as silence.
  std::vector<SpeechSegment> Flush();
  /// Speech probability of the last complete window (0 after Flush() or Reset()).
  float last_probability() const;
  /// Causal speech state after the last complete window: true from the window whose probability
  /// crossed `threshold` until min_silence_ms below `neg_threshold`. Live consumers use it to take
  /// speech as it arrives, before the padded segment is final.
  bool in_speech() const;
  /// Drops all state, as if newly constructed.
  void Reset();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

class SileroVad : public std::enable_shared_from_this<SileroVad> {
 public:
  static Result<std::shared_ptr<SileroVad>> Create(const VadConfig& config);
  ~SileroVad();

  /// Speech segments of a whole clip at config.sample_rate_hz: sorted, non-overlapping, padded,
  /// within [0, samples.size()]. Thread-safe.
  Result<std::vector<SpeechSegment>> Detect(std::span<const float> samples) const;
  const VadConfig& config() const;

 private:
  friend class VadStream;
  struct Impl;
  explicit SileroVad(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Concatenates the samples inside the segments (clamped to the clip), in the segments' order.
std::vector<float> KeepSegments(std::span<const float> samples,
                                const std::vector<SpeechSegment>& segments);

}  // namespace voxgate::dsp
