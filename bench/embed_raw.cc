// Our side of bench/embedding_peer.sh: embeds raw 16 kHz mono f32le files with Voxgate's fbank and
// EmbeddingModel (no VAD, one window: the same samples the peer sees) and prints the same JSON as
// bench/peer/sherpa_embed.js: {seconds_per_pass, passes, embeddings}.
//
// FEATURES selects the fbank: "model" is what the model's metadata asks for (3D-Speaker's recipe:
// Kaldi defaults, snip_edges, mel bins up to Nyquist); "sherpa" is what sherpa-onnx computes for
// every speaker model (mel bins up to Nyquist - 400 Hz, no snip_edges), to check that the inference
// itself agrees.
// Usage: embed_raw MODEL THREADS PASSES model|sherpa FILE...
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dsp/fbank.h"
#include "voiceprint/embedding_model.h"
#include "voiceprint/scoring.h"

int main(int argc, char** argv) {
  using namespace voxgate;
  if (argc < 6) {
    std::cerr << "usage: embed_raw MODEL THREADS PASSES model|sherpa FILE...\n";
    return 2;
  }
  voiceprint::EmbeddingModelConfig config;
  config.model_path = argv[1];
  config.num_threads = std::stoi(argv[2]);
  const int passes = std::stoi(argv[3]);
  const std::string features = argv[4];
  auto model = voiceprint::EmbeddingModel::Create(config);
  if (!model.ok()) {
    std::cerr << model.status().ToString() << "\n";
    return 1;
  }
  dsp::FbankConfig fbank_config = (*model)->FbankConfigForModel();
  if (features == "sherpa") {
    fbank_config.high_freq_hz = -400.0f;
    fbank_config.snip_edges = false;
  }
  auto fbank = dsp::Fbank::Create(fbank_config);
  if (!fbank.ok()) {
    std::cerr << fbank.status().ToString() << "\n";
    return 1;
  }
  std::vector<std::vector<float>> clips;
  for (int i = 5; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary | std::ios::ate);
    std::vector<float> samples(static_cast<size_t>(in.tellg()) / sizeof(float));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(samples.data()),
            static_cast<std::streamsize>(samples.size() * sizeof(float)));
    clips.push_back(std::move(samples));
  }
  auto embed = [&](const std::vector<float>& samples) -> Result<std::vector<float>> {
    VOXGATE_ASSIGN_OR_RETURN(std::vector<float> e, (*model)->Run((*fbank)->Compute(samples)));
    voiceprint::L2Normalize(e);
    return e;
  };
  nlohmann::json embeddings = nlohmann::json::array();
  for (const auto& clip : clips) {  // warm-up pass, also the output
    auto e = embed(clip);
    if (!e.ok()) {
      std::cerr << e.status().ToString() << "\n";
      return 1;
    }
    embeddings.push_back(*e);
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (int p = 0; p < passes; ++p) {
    for (const auto& clip : clips) {
      if (!embed(clip).ok()) return 1;
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json out{
      {"seconds_per_pass", s / passes}, {"passes", passes}, {"embeddings", embeddings}};
  std::cout << out.dump();
  return 0;
}
