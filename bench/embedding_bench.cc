// Embedding real-time factor: fbank + model on 3-s clips of real speech (no VAD), one thread per
// inference, run by one thread and by one per core. "x_realtime" is audio seconds embedded per wall
// second over all threads; the single-thread real-time factor is its inverse.
//   build/bench/embedding_bench [--benchmark_filter=...]   (VOXGATE_BENCH_MODEL overrides the
//   model)
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "audio/audio_decoder.h"
#include "dsp/signal_quality.h"
#include "voiceprint/calibration.h"
#include "voiceprint/embedder.h"

namespace {

using namespace voxgate;

std::string SpeechFile() {
  const char* env = std::getenv("VOXGATE_SPEECH_DIR");
  return std::string(env ? env : VOXGATE_SOURCE_DIR "/../shared/speech") +
         "/resemblyzer-librispeech/librispeech_test-other/1688/1688-142285-0000.flac";
}

std::string ModelPath() {
  const char* env = std::getenv("VOXGATE_BENCH_MODEL");
  return env ? env : VOXGATE_SOURCE_DIR "/models/voxgate-starter.onnx";
}

struct Fixture {
  std::shared_ptr<voiceprint::Embedder> embedder;
  audio::AudioClip clip;
  std::string error;

  Fixture() {
    voiceprint::EmbedderConfig config;
    config.model.model_path = ModelPath();
    config.use_vad = false;
    auto e = voiceprint::Embedder::Create(config);
    if (!e.ok()) {
      error = e.status().ToString();
      return;
    }
    embedder = *e;
    auto c = audio::DecodeFile(SpeechFile());
    if (!c.ok()) {
      error = c.status().ToString();
      return;
    }
    clip = std::move(*c);
    clip.samples.resize(std::min<size_t>(clip.samples.size(), 3 * 16000));
  }
};

Fixture& Shared() {
  static Fixture f;
  return f;
}

void BM_Embed3s(benchmark::State& state) {
  Fixture& f = Shared();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  for (auto _ : state) {
    auto e = f.embedder->Embed(f.clip);
    benchmark::DoNotOptimize(e);
  }
  const double audio_s = f.clip.DurationS();
  state.counters["x_realtime"] =
      benchmark::Counter(audio_s * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Embed3s)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK(BM_Embed3s)
    ->Unit(benchmark::kMillisecond)
    ->Threads(2)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// What a verdict adds to the embedding: the probe's quality measures (SNR, clipping, bandwidth)
// over the 3-s clip, and AS-Norm's cohort statistics (one dot product per cohort vector; the
// starter model's calibration ships 1,000).
void BM_SignalQuality3s(benchmark::State& state) {
  Fixture& f = Shared();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  for (auto _ : state) {
    auto q = dsp::MeasureSignalQuality(f.clip.samples, f.clip.sample_rate_hz);
    benchmark::DoNotOptimize(q);
  }
}
BENCHMARK(BM_SignalQuality3s)->Unit(benchmark::kMicrosecond);

void BM_CohortStats(benchmark::State& state) {
  Fixture& f = Shared();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  const auto& info = f.embedder->model_info();
  auto calibration =
      voiceprint::Calibration::Load(voiceprint::Calibration::PathForModel(info.path), info.id);
  if (!calibration.ok()) {
    state.SkipWithError(calibration.status().ToString().c_str());
    return;
  }
  auto e = f.embedder->Embed(f.clip);
  if (!e.ok()) {
    state.SkipWithError(e.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto stats = calibration->StatsOf(e->vector);
    benchmark::DoNotOptimize(stats);
  }
  state.counters["cohort"] = calibration->cohort().count();
}
BENCHMARK(BM_CohortStats)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
