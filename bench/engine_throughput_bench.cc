// The raw engine's throughput, for bench/http_verify_bench.sh to divide the HTTP verify throughput
// by: the same files, the same Embedder configuration as `voxgate serve` (the "model" section of
// the config file), THREADS threads each embedding one clip after another like the server's
// inference workers, but no HTTP, multipart, store or index.
//
// Phases: "decode_embed" (SECONDS) decodes every request from memory and embeds it (all a verify
// worker does besides scoring); "embed" (SECONDS) embeds pre-decoded clips; "decode" (SECONDS / 2)
// only decodes. Prints one JSON line:
// {"threads", "clips", "decode_embed_per_s", "embed_per_s", "decode_per_s"}.
// Usage: engine_throughput_bench CONFIG MODEL THREADS SECONDS FILE...
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "audio/audio_decoder.h"
#include "common/config_node.h"
#include "voiceprint/embedder.h"

namespace voxgate {
namespace {

template <class Work>
double PerSecond(int threads, double seconds, size_t n, Work work) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> done{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t) % n; !stop; i = (i + 1) % n) {
        if (!work(i)) failed = true;
        ++done;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (failed) std::cerr << "engine_throughput_bench: some clips failed\n";
  return static_cast<double>(done) / s;
}

}  // namespace

int Main(int argc, char** argv) {
  if (argc < 6) {
    std::cerr << "usage: engine_throughput_bench CONFIG MODEL THREADS SECONDS FILE...\n";
    return 2;
  }
  auto root = ConfigNode::LoadFile(argv[1]);
  if (!root.ok()) {
    std::cerr << root.status().ToString() << "\n";
    return 1;
  }
  voiceprint::EmbedderConfig config;
  Status s = config.Load(root->Child("model"));
  if (!s.ok()) {
    std::cerr << s.ToString() << "\n";
    return 1;
  }
  config.model.model_path = argv[2];
  const int threads = std::stoi(argv[3]);
  const double seconds = std::stod(argv[4]);
  auto embedder = voiceprint::Embedder::Create(config);
  if (!embedder.ok()) {
    std::cerr << embedder.status().ToString() << "\n";
    return 1;
  }
  audio::DecodeConfig decode;
  decode.target_sample_rate_hz = (*embedder)->model_info().sample_rate_hz;
  decode.max_duration_s = 300.0;  // service.max_audio_s

  std::vector<std::string> files;
  std::vector<audio::AudioClip> clips;
  for (int i = 5; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    files.push_back(ss.str());
    auto clip = audio::DecodeMemory(
        {reinterpret_cast<const uint8_t*>(files.back().data()), files.back().size()}, decode);
    if (!clip.ok()) {
      std::cerr << argv[i] << ": " << clip.status().ToString() << "\n";
      return 1;
    }
    if (!(*embedder)->Embed(*clip).ok()) {  // warm-up, and a check
      std::cerr << argv[i] << ": cannot embed\n";
      return 1;
    }
    clips.push_back(std::move(*clip));
  }
  const voiceprint::Embedder& e = **embedder;
  const double decode_embed = PerSecond(threads, seconds, files.size(), [&](size_t i) {
    auto clip = audio::DecodeMemory(
        {reinterpret_cast<const uint8_t*>(files[i].data()), files[i].size()}, decode);
    return clip.ok() && e.Embed(*clip).ok();
  });
  const double embed =
      PerSecond(threads, seconds, clips.size(), [&](size_t i) { return e.Embed(clips[i]).ok(); });
  const double decode_only = PerSecond(threads, seconds / 2, files.size(), [&](size_t i) {
    return audio::DecodeMemory({reinterpret_cast<const uint8_t*>(files[i].data()), files[i].size()},
                               decode)
        .ok();
  });
  std::printf(
      "{\"threads\": %d, \"clips\": %zu, \"decode_embed_per_s\": %.2f, \"embed_per_s\": %.2f, "
      "\"decode_per_s\": %.2f}\n",
      threads, clips.size(), decode_embed, embed, decode_only);
  return 0;
}

}  // namespace voxgate

int main(int argc, char** argv) { return voxgate::Main(argc, argv); }
