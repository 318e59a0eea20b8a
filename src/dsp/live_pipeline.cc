#include "dsp/live_pipeline.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/config_node.h"

namespace voxgate::dsp {

Status LivePipelineConfig::Validate() const {
  if (high_pass) VOXGATE_RETURN_IF_ERROR(high_pass_filter.Validate());
  if (audio_processing) VOXGATE_RETURN_IF_ERROR(processor.Validate());
  if (vad) VOXGATE_RETURN_IF_ERROR(vad_config.Validate());
  return Status::Ok();
}

std::string LivePipelineConfig::ToString() const {
  return fmt::format("LivePipelineConfig(high_pass={}, {}, audio_processing={}, {}, vad={}, {})",
                     high_pass, high_pass_filter.ToString(), audio_processing, processor.ToString(),
                     vad, vad_config.ToString());
}

Status LivePipelineConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("high_pass", &high_pass));
  VOXGATE_RETURN_IF_ERROR(node.Get("high_pass_cutoff_hz", &high_pass_filter.cutoff_hz));
  VOXGATE_RETURN_IF_ERROR(node.Get("audio_processing", &audio_processing));
  VOXGATE_RETURN_IF_ERROR(processor.Load(node.Child("processing")));
  VOXGATE_RETURN_IF_ERROR(node.Get("vad", &vad));
  const ConfigNode v = node.Child("vad_settings");
  VOXGATE_RETURN_IF_ERROR(v.Get("threshold", &vad_config.threshold));
  VOXGATE_RETURN_IF_ERROR(v.Get("min_speech_ms", &vad_config.min_speech_ms));
  VOXGATE_RETURN_IF_ERROR(v.Get("min_silence_ms", &vad_config.min_silence_ms));
  VOXGATE_RETURN_IF_ERROR(v.Get("speech_pad_ms", &vad_config.speech_pad_ms));
  return Status::Ok();
}

LivePipeline::LivePipeline(LivePipelineConfig config, int input_rate_hz)
    : config_(std::move(config)), input_rate_hz_(input_rate_hz) {}

LivePipeline::~LivePipeline() = default;

Result<std::unique_ptr<LivePipeline>> LivePipeline::Create(const LivePipelineConfig& config,
                                                           int input_rate_hz,
                                                           std::shared_ptr<const SileroVad> vad) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  if (input_rate_hz < 8000 || input_rate_hz > 48000) {
    return InvalidArgumentError(
        fmt::format("live input rate {} Hz is not supported (8000..48000)", input_rate_hz));
  }
  std::unique_ptr<LivePipeline> p(new LivePipeline(config, input_rate_hz));
  if (input_rate_hz != kRateHz) {
    VOXGATE_ASSIGN_OR_RETURN(p->resampler_, audio::StreamResampler::Create(input_rate_hz, kRateHz));
  }
  if (config.high_pass) {
    VOXGATE_ASSIGN_OR_RETURN(HighPassFilter hpf,
                             HighPassFilter::Create(config.high_pass_filter, kRateHz));
    p->high_pass_ = std::make_unique<HighPassFilter>(std::move(hpf));
  }
  if (config.audio_processing) {
    VOXGATE_ASSIGN_OR_RETURN(p->processor_, AudioProcessor::Create(config.processor, kRateHz));
  }
  if (config.vad) {
    if (!vad) return InvalidArgumentError("live pipeline: the VAD is on but no model was given");
    if (vad->config().sample_rate_hz != kRateHz) {
      return InvalidArgumentError("live pipeline: the VAD model must run at 16 kHz");
    }
    p->vad_ = std::make_unique<VadStream>(std::move(vad));
  }
  // Room for one 10 ms frame short of full plus the longest resampled input frame.
  const size_t max_out =
      static_cast<size_t>(audio::AudioFrame::kMaxSamples) * kRateHz / input_rate_hz + 16;
  p->staging_.assign(kFrameSamples + max_out, 0.0f);
  p->out_.sample_rate_hz = kRateHz;
  p->out_.num_samples = kFrameSamples;
  p->unprocessed_.sample_rate_hz = kRateHz;
  p->unprocessed_.num_samples = kFrameSamples;
  return p;
}

Status LivePipeline::Process(const audio::AudioFrame& in, LivePipelineSink& sink) {
  if (in.sample_rate_hz != input_rate_hz_) {
    return InvalidArgumentError(fmt::format("frame at {} Hz pushed into a {} Hz pipeline",
                                            in.sample_rate_hz, input_rate_hz_));
  }
  if (in.num_samples < 0 || in.num_samples > audio::AudioFrame::kMaxSamples) {
    return InvalidArgumentError("frame length out of range");
  }
  std::span<float> free_space(staging_.data() + staged_, staging_.size() - staged_);
  if (resampler_) {
    staged_ += resampler_->Process(in.data(), free_space);
  } else {
    const size_t n = std::min(free_space.size(), static_cast<size_t>(in.num_samples));
    std::copy_n(in.samples.begin(), n, free_space.begin());
    staged_ += n;
  }

  size_t offset = 0;
  Status status;
  while (staged_ - offset >= static_cast<size_t>(kFrameSamples)) {
    std::copy_n(staging_.begin() + offset, kFrameSamples, out_.samples.begin());
    offset += kFrameSamples;
    out_.clock = clock_;
    out_.concealed = in.concealed;
    clock_ += kFrameSamples;
    std::span<float> frame = out_.data();
    if (high_pass_) high_pass_->Process(frame);
    unprocessed_.clock = out_.clock;
    unprocessed_.concealed = out_.concealed;
    std::copy_n(out_.samples.begin(), kFrameSamples, unprocessed_.samples.begin());
    if (processor_) {
      Status s = processor_->Process10ms(frame);
      if (!s.ok()) {
        status = s;
        continue;
      }
    }
    bool speech = true;
    if (vad_) {
      auto segments = vad_->Accept(frame);
      if (!segments.ok()) {
        status = segments.status();
        continue;
      }
      EmitSegments(*segments, sink);
      speech = vad_->in_speech();
    }
    sink.OnFrame(out_, unprocessed_, speech);
  }
  // Keep the remainder at the front for the next frame.
  std::copy(staging_.begin() + offset, staging_.begin() + staged_, staging_.begin());
  staged_ -= offset;
  return status;
}

void LivePipeline::EmitSegments(const std::vector<SpeechSegment>& segments,
                                LivePipelineSink& sink) {
  for (const SpeechSegment& s : segments) sink.OnSpeechSegment(s.start_sample, s.end_sample);
}

void LivePipeline::Finish(LivePipelineSink& sink) {
  if (vad_) EmitSegments(vad_->Flush(), sink);
  if (resampler_) resampler_->Reset();
  if (high_pass_) high_pass_->Reset();
  staged_ = 0;
  clock_ = 0;
}

}  // namespace voxgate::dsp
