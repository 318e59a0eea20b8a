#include "app/commands.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/model_loader.h"
#include "audio/audio_decoder.h"
#include "voiceprint/scoring.h"

namespace voxgate::app {

std::string ResolveModelPath(const std::string& model_path) {
  if (!model_path.empty()) return model_path;
  if (const char* env = std::getenv("VOXGATE_MODEL_PATH"); env && *env) return env;
  const std::string kDefault = "models/voxgate-starter.onnx";
  if (std::filesystem::exists(kDefault)) return kDefault;
  return std::string(VOXGATE_SOURCE_DIR) + "/" + kDefault;
}

namespace {

Result<voiceprint::Embedding> EmbedFile(const voiceprint::Embedder& embedder,
                                        const std::string& path) {
  auto clip = audio::DecodeFile(path);  // its errors name the file already
  if (!clip.ok()) return clip.status();
  auto embedding = embedder.Embed(*clip);
  if (!embedding.ok()) return embedding.status().WithContext(path);
  return embedding;
}

}  // namespace

int RunEmbed(const ModelOptions& model, const EmbedOptions& options) {
  auto embedder = LoadEmbedder(model);
  if (!embedder.ok()) return Fail(embedder.status());
  auto e = EmbedFile(**embedder, options.file);
  if (!e.ok()) return Fail(e.status());
  nlohmann::json out{{"dim", e->vector.size()},
                     {"embedding", e->vector},
                     {"speech_s", e->speech_s},
                     {"model", e->model_id}};
  std::cout << out.dump() << "\n";
  return 0;
}

int RunCompare(const ModelOptions& model, const CompareOptions& options) {
  auto embedder = LoadEmbedder(model);
  if (!embedder.ok()) return Fail(embedder.status());
  auto a = EmbedFile(**embedder, options.file_a);
  if (!a.ok()) return Fail(a.status());
  auto b = EmbedFile(**embedder, options.file_b);
  if (!b.ok()) return Fail(b.status());
  const double threshold =
      options.threshold >= -1.0 ? options.threshold : DefaultThreshold((*embedder)->model_info());
  const double score = voiceprint::Score(a->vector, b->vector);
  nlohmann::json out{{"score", score},
                     {"threshold", threshold},
                     {"same_speaker", score >= threshold},
                     {"speech_s", {a->speech_s, b->speech_s}},
                     {"model", a->model_id}};
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace voxgate::app
