#include "dsp/audio_processor.h"

#include <webrtc/common.h>
#include <webrtc/modules/audio_processing/include/audio_processing.h>

#include <sstream>

namespace voxgate::dsp {
namespace {

Status ApmError(const char* what, int code) {
  return InternalError(std::string("audio processor: ") + what + " failed (webrtc apm error " +
                       std::to_string(code) + ")");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// AudioProcessorConfig

Status AudioProcessorConfig::Validate() const {
  if (ns_level < 0 || ns_level > 3) {
    return InvalidArgumentError("audio_processing.ns_level must be 0..3, got " +
                                std::to_string(ns_level));
  }
  if (agc_target_dbfs < 0 || agc_target_dbfs > 31) {
    return InvalidArgumentError("audio_processing.agc_target_dbfs must be 0..31, got " +
                                std::to_string(agc_target_dbfs));
  }
  if (agc_compression_gain_db < 0 || agc_compression_gain_db > 90) {
    return InvalidArgumentError("audio_processing.agc_compression_gain_db must be 0..90, got " +
                                std::to_string(agc_compression_gain_db));
  }
  return Status::Ok();
}

std::string AudioProcessorConfig::ToString() const {
  std::ostringstream os;
  os << std::boolalpha << "AudioProcessorConfig(noise_suppression=" << noise_suppression
     << ", ns_level=" << ns_level << ", agc=" << agc << ", agc_target_dbfs=" << agc_target_dbfs
     << ", agc_compression_gain_db=" << agc_compression_gain_db << ", agc_limiter=" << agc_limiter
     << ")";
  return os.str();
}

Status AudioProcessorConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("noise_suppression", &noise_suppression));
  VOXGATE_RETURN_IF_ERROR(node.Get("ns_level", &ns_level));
  VOXGATE_RETURN_IF_ERROR(node.Get("agc", &agc));
  VOXGATE_RETURN_IF_ERROR(node.Get("agc_target_dbfs", &agc_target_dbfs));
  VOXGATE_RETURN_IF_ERROR(node.Get("agc_compression_gain_db", &agc_compression_gain_db));
  VOXGATE_RETURN_IF_ERROR(node.Get("agc_limiter", &agc_limiter));
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// AudioProcessor

struct AudioProcessor::Impl {
  std::unique_ptr<webrtc::AudioProcessing> apm;
  webrtc::StreamConfig stream;  // mono at the stream's rate, in and out
};

Result<std::unique_ptr<AudioProcessor>> AudioProcessor::Create(const AudioProcessorConfig& config,
                                                               int sample_rate_hz) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  if (sample_rate_hz != 8000 && sample_rate_hz != 16000 && sample_rate_hz != 32000 &&
      sample_rate_hz != 48000) {
    return InvalidArgumentError(
        "audio processor: sample rate must be 8000, 16000, 32000 or 48000 Hz, got " +
        std::to_string(sample_rate_hz));
  }
  webrtc::Config apm_config;
  // The experimental AGC (on by default in 0.3) replaces the adaptive-digital AGC configured
  // below with one that steers an analog microphone volume; a server has none.
  apm_config.Set<webrtc::ExperimentalAgc>(new webrtc::ExperimentalAgc(false));
  auto impl = std::make_unique<Impl>();
  impl->apm.reset(webrtc::AudioProcessing::Create(apm_config));
  if (!impl->apm) return InternalError("audio processor: webrtc::AudioProcessing::Create failed");
  webrtc::AudioProcessing& apm = *impl->apm;

  using webrtc::NoiseSuppression;
  static constexpr NoiseSuppression::Level kLevels[] = {
      NoiseSuppression::kLow, NoiseSuppression::kModerate, NoiseSuppression::kHigh,
      NoiseSuppression::kVeryHigh};
  int err = apm.noise_suppression()->set_level(kLevels[config.ns_level]);
  if (err != webrtc::AudioProcessing::kNoError) return ApmError("setting the NS level", err);
  err = apm.noise_suppression()->Enable(config.noise_suppression);
  if (err != webrtc::AudioProcessing::kNoError) return ApmError("enabling NS", err);

  webrtc::GainControl& agc = *apm.gain_control();
  if ((err = agc.set_mode(webrtc::GainControl::kAdaptiveDigital)) != 0) {
    return ApmError("setting the AGC mode", err);
  }
  if ((err = agc.set_target_level_dbfs(config.agc_target_dbfs)) != 0) {
    return ApmError("setting the AGC target", err);
  }
  if ((err = agc.set_compression_gain_db(config.agc_compression_gain_db)) != 0) {
    return ApmError("setting the AGC compression gain", err);
  }
  if ((err = agc.enable_limiter(config.agc_limiter)) != 0) {
    return ApmError("setting the AGC limiter", err);
  }
  if ((err = agc.Enable(config.agc)) != 0) return ApmError("enabling AGC", err);

  // Fix the stream format now, so that the first frame does not (re)initialise and allocate.
  impl->stream = webrtc::StreamConfig(sample_rate_hz, 1);
  webrtc::ProcessingConfig format;
  for (auto& s : format.streams) s = impl->stream;
  if ((err = apm.Initialize(format)) != 0) return ApmError("initialising", err);

  return std::unique_ptr<AudioProcessor>(
      new AudioProcessor(config, sample_rate_hz, std::move(impl)));
}

AudioProcessor::AudioProcessor(const AudioProcessorConfig& config, int sample_rate_hz,
                               std::unique_ptr<Impl> impl)
    : config_(config), sample_rate_hz_(sample_rate_hz), impl_(std::move(impl)) {}

AudioProcessor::~AudioProcessor() = default;

Status AudioProcessor::Process10ms(std::span<float> frame) {
  if (frame.size() != static_cast<size_t>(frame_samples())) {
    return InvalidArgumentError("audio processor: a frame must be 10 ms (" +
                                std::to_string(frame_samples()) + " samples at " +
                                std::to_string(sample_rate_hz_) + " Hz), got " +
                                std::to_string(frame.size()));
  }
  float* channel = frame.data();
  const int err = impl_->apm->ProcessStream(&channel, impl_->stream, impl_->stream, &channel);
  if (err != webrtc::AudioProcessing::kNoError) return ApmError("processing a frame", err);
  return Status::Ok();
}

float AudioProcessor::speech_probability() const {
  if (!config_.noise_suppression) return 0.0f;
  return impl_->apm->noise_suppression()->speech_probability();
}

}  // namespace voxgate::dsp
