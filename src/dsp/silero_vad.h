// Silero VAD v5 on ONNX Runtime. The model (one ONNX session) is shared and immutable after load;
// Detect() keeps its recurrent state in a per-call stream object, so concurrent calls are safe.
// VadStream is per-stream state and is not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace voxgate::dsp {

struct VadConfig {
  std::string model_path = "weights/silero_vad.onnx";  // relative paths resolve against the repo
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
};

class SileroVad;

/// Streaming detector: feed samples in any chunk sizes; segments come out as they close.
class VadStream {
 public:
  explicit VadStream(std::shared_ptr<const SileroVad> vad);
  ~VadStream();
  /// Appends samples; returns segments that closed during this call.
  Result<std::vector<SpeechSegment>> Accept(std::span<const float> samples);
  /// Ends the stream; returns the segment still open, if any.
  std::vector<SpeechSegment> Flush();
  /// Speech probability of the last complete window.
  float last_probability() const;
  void Reset();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

class SileroVad : public std::enable_shared_from_this<SileroVad> {
 public:
  static Result<std::shared_ptr<SileroVad>> Create(const VadConfig& config);
  ~SileroVad();

  /// Speech segments of a whole clip at config.sample_rate_hz.
  Result<std::vector<SpeechSegment>> Detect(std::span<const float> samples) const;
  const VadConfig& config() const;

 private:
  friend class VadStream;
  struct Impl;
  explicit SileroVad(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Concatenates the samples inside the segments.
std::vector<float> KeepSegments(std::span<const float> samples,
                                const std::vector<SpeechSegment>& segments);

}  // namespace voxgate::dsp
