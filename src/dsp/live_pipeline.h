// LivePipeline: the per-session clean-up chain for live audio, one frame at a time:
//   resample to 16 kHz -> high-pass -> noise suppression + AGC (webrtc) -> VAD
// and out to a sink as 10 ms frames on the session's sample clock, each marked speech or not, plus
// the final (padded) speech segments as the VAD closes them. Every stage but resampling can be
// switched off. Jitter buffering and decoding happen before, in the transport (RTP, WebSocket).
//
// Not thread-safe: one pipeline per session, driven by one media worker at a time. The per-frame
// path does not allocate (buffers are sized in Create); ONNX Runtime may allocate inside the VAD.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "audio/audio_frame.h"
#include "audio/stream_resampler.h"
#include "common/result.h"
#include "dsp/audio_processor.h"
#include "dsp/high_pass_filter.h"
#include "dsp/silero_vad.h"

namespace voxgate {
class ConfigNode;
}

namespace voxgate::dsp {

/// VAD settings for live sessions: Silero's thresholds, 300 ms of silence closes a segment (a
/// natural pause between phrases) and 100 ms of padding.
inline VadConfig LiveVadConfig() {
  VadConfig c;
  c.min_silence_ms = 300;
  c.speech_pad_ms = 100;
  return c;
}

struct LivePipelineConfig {
  bool high_pass = true;  // remove rumble and DC below high_pass_filter.cutoff_hz
  HighPassConfig high_pass_filter;
  bool audio_processing = true;  // webrtc noise suppression and AGC (per `processor`)
  AudioProcessorConfig processor;
  bool vad = true;  // false: every frame counts as speech
  VadConfig vad_config = LiveVadConfig();

  Status Validate() const;
  std::string ToString() const;
  /// Keys: high_pass, high_pass_cutoff_hz, audio_processing, vad, the processor's keys under
  /// "processing" and the VAD's under "vad" (threshold, min_speech_ms, min_silence_ms,
  /// speech_pad_ms).
  Status Load(const ConfigNode& node);
};

/// Receives the pipeline's output, on the thread that calls Process()/Finish().
class LivePipelineSink {
 public:
  virtual ~LivePipelineSink() = default;
  /// One processed 10 ms frame at 16 kHz. `speech` is the VAD's causal state (about one VAD
  /// window, 32 ms, behind the audio). `unprocessed` is the same frame before noise suppression
  /// and AGC (resampled and high-passed only): speaker models score that, because their
  /// training audio never went through webrtc's NS/AGC and its artefacts raise impostor scores.
  virtual void OnFrame(const audio::AudioFrame& frame, const audio::AudioFrame& unprocessed,
                       bool speech) = 0;
  /// A final speech segment, [start, end) in samples at 16 kHz on the session clock.
  virtual void OnSpeechSegment(int64_t start, int64_t end) = 0;
};

class LivePipeline {
 public:
  /// The processing rate: the VAD and the speaker models run at 16 kHz.
  static constexpr int kRateHz = 16000;
  static constexpr int kFrameSamples = kRateHz / 100;  // 10 ms

  /// `vad` is the shared Silero model (required when config.vad), created once per process from
  /// config.vad_config (segmentation settings live in the model object). `input_rate_hz` is the
  /// rate of the frames that will be pushed (8000 for G.711, 16000/48000 for Opus or PCM).
  static Result<std::unique_ptr<LivePipeline>> Create(const LivePipelineConfig& config,
                                                      int input_rate_hz,
                                                      std::shared_ptr<const SileroVad> vad);
  ~LivePipeline();

  /// Runs one input frame (at input_rate_hz, at most AudioFrame::kMaxSamples) through the chain;
  /// emits every complete 10 ms output frame. kInvalidArgument for a frame at another rate or
  /// too long; an error from a stage (it does not happen once Create succeeded) is returned
  /// after the frame is dropped.
  Status Process(const audio::AudioFrame& in, LivePipelineSink& sink);
  /// End of the stream: closes the open speech segment, if any. The pipeline can then be reused
  /// for a new stream (the clock restarts at 0).
  void Finish(LivePipelineSink& sink);

  /// Output samples emitted so far (the session clock at 16 kHz).
  int64_t clock() const { return clock_; }
  int input_rate_hz() const { return input_rate_hz_; }
  const LivePipelineConfig& config() const { return config_; }

 private:
  LivePipeline(LivePipelineConfig config, int input_rate_hz);
  void EmitSegments(const std::vector<SpeechSegment>& segments, LivePipelineSink& sink);

  LivePipelineConfig config_;
  int input_rate_hz_;
  std::unique_ptr<audio::StreamResampler> resampler_;  // null when input is already 16 kHz
  std::unique_ptr<HighPassFilter> high_pass_;
  std::unique_ptr<AudioProcessor> processor_;
  std::unique_ptr<VadStream> vad_;
  std::vector<float> staging_;  // resampled samples not yet in a 10 ms frame
  size_t staged_ = 0;
  audio::AudioFrame out_;
  audio::AudioFrame unprocessed_;
  int64_t clock_ = 0;
};

}  // namespace voxgate::dsp
