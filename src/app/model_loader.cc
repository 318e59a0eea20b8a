#include "app/model_loader.h"

#include <iostream>

namespace voxgate::app {

Result<std::shared_ptr<voiceprint::Embedder>> LoadEmbedder(const ModelOptions& options) {
  voiceprint::EmbedderConfig config;
  config.model.model_path = ResolveModelPath(options.model_path);
  config.model.num_threads = options.num_threads;
  config.use_vad = options.use_vad;
  config.max_speech_s = options.max_speech_s;
  return voiceprint::Embedder::Create(config);
}

double DefaultThreshold(const voiceprint::ModelInfo& info) {
  return info.has_threshold ? info.threshold : kFallbackThreshold;
}

int Fail(const Status& status) {
  std::cerr << "voxgate: " << status.message() << " (" << StatusCodeName(status.code()) << ")\n";
  return 1;
}

}  // namespace voxgate::app
