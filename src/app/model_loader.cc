#include "app/model_loader.h"

#include <algorithm>
#include <iostream>

namespace voxgate::app {

Result<std::shared_ptr<voiceprint::Embedder>> LoadEmbedder(const ModelOptions& options) {
  voiceprint::EmbedderConfig config;
  config.model.model_path = ResolveModelPath(options.model_path);
  config.model.num_threads = options.num_threads;
  config.use_vad = options.use_vad;
  config.max_speech_s = options.max_speech_s;
  if (options.window_s > 0) {
    config.window_s = options.window_s;
    config.window_overlap_s = std::min(config.window_overlap_s, options.window_s / 2);
  }
  return voiceprint::Embedder::Create(config);
}

double DefaultThreshold(const voiceprint::ModelInfo& info) {
  return info.has_threshold ? info.threshold : kFallbackThreshold;
}

Result<voiceprint::Calibration> LoadCalibration(const voiceprint::ModelInfo& info,
                                                const std::string& path) {
  if (path == "none") return voiceprint::Calibration::Uncalibrated(DefaultThreshold(info));
  const std::string file = path.empty() ? voiceprint::Calibration::PathForModel(info.path) : path;
  auto c = voiceprint::Calibration::Load(file, info.id);
  if (!c.ok() && c.status().code() == StatusCode::kNotFound && path.empty()) {
    return voiceprint::Calibration::Uncalibrated(DefaultThreshold(info));
  }
  return c;
}

int Fail(const Status& status) {
  std::cerr << "voxgate: " << status.message() << " (" << StatusCodeName(status.code()) << ")\n";
  return 1;
}

}  // namespace voxgate::app
