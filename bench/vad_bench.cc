// Silero VAD throughput on real speech, one thread (ONNX Runtime intra-op threads = 1).
// "x_realtime" is audio seconds processed per wall-clock second.
//   BM_VadDetect     SileroVad::Detect() on a whole 15 s LibriSpeech utterance
//   BM_VadStream10ms the same audio through a VadStream in 10 ms (160-sample) frames, as the
//                    live pipeline feeds it
// The audio is decoded with the ffmpeg CLI (VOXGATE_SPEECH_DIR overrides ../shared/speech).
//   build/bench/vad_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "dsp/silero_vad.h"

namespace {

using namespace voxgate;

constexpr int kRate = 16000;

std::string SpeechFile() {
  const char* env = std::getenv("VOXGATE_SPEECH_DIR");
  return std::string(env ? env : VOXGATE_SOURCE_DIR "/../shared/speech") +
         "/resemblyzer-librispeech/librispeech_test-other/1688/1688-142285-0000.flac";
}

// Decodes to 16 kHz mono float32 through the ffmpeg CLI; empty on failure.
std::vector<float> DecodeWithFfmpeg(const std::string& path) {
  const std::string cmd = "ffmpeg -nostdin -v error -i '" + path +
                          "' -ac 1 -ar 16000 -f f32le -acodec pcm_f32le - 2>/dev/null";
  std::vector<float> samples;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return samples;
  float buf[4096];
  size_t n;
  while ((n = fread(buf, sizeof(float), 4096, pipe)) > 0)
    samples.insert(samples.end(), buf, buf + n);
  if (pclose(pipe) != 0) samples.clear();
  return samples;
}

struct Fixture {
  std::shared_ptr<dsp::SileroVad> vad;
  std::vector<float> samples;
  std::string error;

  Fixture() {
    samples = DecodeWithFfmpeg(SpeechFile());
    if (samples.empty()) {
      error = "cannot decode " + SpeechFile() + " with the ffmpeg CLI";
      return;
    }
    dsp::VadConfig config;
    config.num_threads = 1;
    auto v = dsp::SileroVad::Create(config);
    if (!v.ok()) {
      error = v.status().ToString();
      return;
    }
    vad = *v;
  }
  double DurationS() const { return static_cast<double>(samples.size()) / kRate; }
};

Fixture& Shared() {
  static Fixture f;
  return f;
}

void SetCounters(benchmark::State& state, const Fixture& f, size_t segments) {
  state.counters["x_realtime"] =
      benchmark::Counter(f.DurationS() * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["audio_s"] = f.DurationS();
  state.counters["segments"] = static_cast<double>(segments);
}

void BM_VadDetect(benchmark::State& state) {
  Fixture& f = Shared();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  size_t segments = 0;
  for (auto _ : state) {
    auto r = f.vad->Detect(f.samples);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    segments = r->size();
    benchmark::DoNotOptimize(r);
  }
  SetCounters(state, f, segments);
}
BENCHMARK(BM_VadDetect)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_VadStream10ms(benchmark::State& state) {
  Fixture& f = Shared();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  constexpr size_t kFrame = 160;
  dsp::VadStream stream(f.vad);
  size_t segments = 0;
  for (auto _ : state) {
    segments = 0;
    for (size_t pos = 0; pos < f.samples.size(); pos += kFrame) {
      const size_t n = std::min(kFrame, f.samples.size() - pos);
      auto r = stream.Accept(std::span<const float>(f.samples).subspan(pos, n));
      if (!r.ok()) {
        state.SkipWithError(r.status().ToString().c_str());
        return;
      }
      segments += r->size();
    }
    segments += stream.Flush().size();
  }
  SetCounters(state, f, segments);
}
BENCHMARK(BM_VadStream10ms)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
