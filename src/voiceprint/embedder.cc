#include "voiceprint/embedder.h"

#include <fmt/format.h>

#include <algorithm>

#include "audio/resampler.h"
#include "common/config_node.h"
#include "voiceprint/scoring.h"

namespace voxgate::voiceprint {

Status EmbedderConfig::Validate() const {
  VOXGATE_RETURN_IF_ERROR(model.Validate().WithContext("model"));
  if (use_vad) VOXGATE_RETURN_IF_ERROR(vad.Validate().WithContext("vad"));
  if (min_speech_s < 0) return InvalidArgumentError("min_speech_s must be >= 0");
  if (max_speech_s < 0) return InvalidArgumentError("max_speech_s must be >= 0 (0: no limit)");
  if (window_s < 1.0) return InvalidArgumentError("window_s must be >= 1 s");
  if (window_overlap_s < 0 || window_overlap_s >= window_s) {
    return InvalidArgumentError("window_overlap_s must be in [0, window_s)");
  }
  return Status::Ok();
}

Status EmbedderConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("path", &model.model_path));
  VOXGATE_RETURN_IF_ERROR(node.Get("threads", &model.num_threads));
  VOXGATE_RETURN_IF_ERROR(node.Get("use_vad", &use_vad));
  VOXGATE_RETURN_IF_ERROR(node.Get("min_speech_s", &min_speech_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_speech_s", &max_speech_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("window_s", &window_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("window_overlap_s", &window_overlap_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("calibration", &calibration_path));
  const ConfigNode v = node.Child("vad");
  VOXGATE_RETURN_IF_ERROR(v.Get("model_path", &vad.model_path));
  VOXGATE_RETURN_IF_ERROR(v.Get("threshold", &vad.threshold));
  VOXGATE_RETURN_IF_ERROR(v.Get("min_speech_ms", &vad.min_speech_ms));
  VOXGATE_RETURN_IF_ERROR(v.Get("min_silence_ms", &vad.min_silence_ms));
  VOXGATE_RETURN_IF_ERROR(v.Get("speech_pad_ms", &vad.speech_pad_ms));
  return Status::Ok();
}

std::string EmbedderConfig::ToString() const {
  return fmt::format(
      "EmbedderConfig(model={}, vad={}, use_vad={}, min_speech_s={}, window_s={}, "
      "max_speech_s={}, window_overlap_s={})",
      model.ToString(), vad.ToString(), use_vad, min_speech_s, window_s, max_speech_s,
      window_overlap_s);
}

Embedder::Embedder(EmbedderConfig config, std::shared_ptr<EmbeddingModel> model,
                   std::unique_ptr<dsp::Fbank> fbank, std::shared_ptr<dsp::SileroVad> vad)
    : config_(std::move(config)),
      model_(std::move(model)),
      fbank_(std::move(fbank)),
      vad_(std::move(vad)) {}

Result<std::shared_ptr<Embedder>> Embedder::Create(const EmbedderConfig& config) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  VOXGATE_ASSIGN_OR_RETURN(std::shared_ptr<EmbeddingModel> model,
                           EmbeddingModel::Create(config.model));
  VOXGATE_ASSIGN_OR_RETURN(std::unique_ptr<dsp::Fbank> fbank,
                           dsp::Fbank::Create(model->FbankConfigForModel()));
  std::shared_ptr<dsp::SileroVad> vad;
  if (config.use_vad) {
    dsp::VadConfig vad_config = config.vad;
    vad_config.sample_rate_hz = model->info().sample_rate_hz;
    VOXGATE_ASSIGN_OR_RETURN(vad, dsp::SileroVad::Create(vad_config));
  }
  return std::shared_ptr<Embedder>(
      new Embedder(config, std::move(model), std::move(fbank), std::move(vad)));
}

const ModelInfo& Embedder::model_info() const { return model_->info(); }

Result<std::vector<float>> Embedder::Speech(const audio::AudioClip& clip,
                                            dsp::SignalQuality* quality) const {
  if (clip.samples.empty()) return InvalidArgumentError("empty audio");
  const int rate = model_->info().sample_rate_hz;
  audio::AudioClip resampled;
  const audio::AudioClip* input = &clip;
  if (clip.sample_rate_hz != rate) {
    VOXGATE_ASSIGN_OR_RETURN(resampled, audio::ResampleClip(clip, rate));
    input = &resampled;
  }
  // Quality over the whole recording: its pauses show the noise floor.
  if (quality != nullptr) *quality = dsp::MeasureSignalQuality(input->samples, rate);

  std::vector<float> speech;
  if (vad_) {
    VOXGATE_ASSIGN_OR_RETURN(std::vector<dsp::SpeechSegment> segments,
                             vad_->Detect(input->samples));
    if (segments.empty()) return UnusableError("no speech detected");
    speech = dsp::KeepSegments(input->samples, segments);
  } else {
    speech = input->samples;
  }
  if (config_.max_speech_s > 0) {
    speech.resize(std::min(speech.size(), static_cast<size_t>(config_.max_speech_s * rate)));
  }
  return speech;
}

Result<Embedding> Embedder::Embed(const audio::AudioClip& clip) const {
  dsp::SignalQuality quality;
  VOXGATE_ASSIGN_OR_RETURN(std::vector<float> speech, Speech(clip, &quality));
  VOXGATE_ASSIGN_OR_RETURN(Embedding e, EmbedSpeech(speech, /*measure_quality=*/false));
  e.quality = quality;
  return e;
}

Result<Embedding> Embedder::EmbedSpeech(std::span<const float> speech, bool measure_quality) const {
  const int rate = model_->info().sample_rate_hz;
  const double speech_s = static_cast<double>(speech.size()) / rate;
  if (speech_s < config_.min_speech_s || speech.empty()) {
    return UnusableError(fmt::format("too little speech: {:.2f} s (minimum {:.2f} s)", speech_s,
                                     config_.min_speech_s));
  }

  // Long speech: overlapping windows, the last one aligned to the end so the tail is covered.
  const size_t window = static_cast<size_t>(config_.window_s * rate);
  const size_t hop = static_cast<size_t>((config_.window_s - config_.window_overlap_s) * rate);
  std::vector<size_t> starts{0};
  if (speech.size() > window) {
    for (size_t s = hop; s + window < speech.size(); s += hop) starts.push_back(s);
    starts.push_back(speech.size() - window);
  }

  Embedding out;
  out.speech_s = speech_s;
  if (measure_quality) out.quality = dsp::MeasureSignalQuality(speech, rate);
  out.model_id = model_->info().id;
  for (size_t start : starts) {
    const size_t len = std::min(window, speech.size() - start);
    dsp::Features features = fbank_->Compute(speech.subspan(start, len));
    if (features.num_frames == 0) return UnusableError("speech too short for one feature frame");
    VOXGATE_ASSIGN_OR_RETURN(std::vector<float> e, model_->Run(features));
    L2Normalize(e);
    if (out.vector.empty()) out.vector.assign(e.size(), 0.0f);
    for (size_t i = 0; i < e.size(); ++i) out.vector[i] += e[i];
  }
  L2Normalize(out.vector);
  return out;
}

}  // namespace voxgate::voiceprint
