// Our side of bench/embedding_peer.sh: embeds raw 16 kHz mono f32le files with Voxgate's engine
// (no VAD, one window: the same samples the peer sees) and prints the same JSON as
// bench/peer/sherpa_embed.js: {seconds_per_pass, passes, embeddings}.
// Usage: embed_raw MODEL THREADS PASSES FILE...
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "voiceprint/embedder.h"

int main(int argc, char** argv) {
  using namespace voxgate;
  if (argc < 5) {
    std::cerr << "usage: embed_raw MODEL THREADS PASSES FILE...\n";
    return 2;
  }
  voiceprint::EmbedderConfig config;
  config.model.model_path = argv[1];
  config.model.num_threads = std::stoi(argv[2]);
  config.use_vad = false;
  config.min_speech_s = 0.0;
  config.window_s = 1e6;
  const int passes = std::stoi(argv[3]);
  auto embedder = voiceprint::Embedder::Create(config);
  if (!embedder.ok()) {
    std::cerr << embedder.status().ToString() << "\n";
    return 1;
  }
  std::vector<audio::AudioClip> clips;
  for (int i = 4; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary | std::ios::ate);
    audio::AudioClip clip;
    clip.samples.resize(static_cast<size_t>(in.tellg()) / sizeof(float));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(clip.samples.data()),
            static_cast<std::streamsize>(clip.samples.size() * sizeof(float)));
    clips.push_back(std::move(clip));
  }
  nlohmann::json embeddings = nlohmann::json::array();
  for (const auto& clip : clips) {  // warm-up pass, also the output
    auto e = (*embedder)->Embed(clip);
    if (!e.ok()) {
      std::cerr << e.status().ToString() << "\n";
      return 1;
    }
    embeddings.push_back(e->vector);
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (int p = 0; p < passes; ++p) {
    for (const auto& clip : clips) {
      if (!(*embedder)->Embed(clip).ok()) return 1;
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json out{
      {"seconds_per_pass", s / passes}, {"passes", passes}, {"embeddings", embeddings}};
  std::cout << out.dump();
  return 0;
}
