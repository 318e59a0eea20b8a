// Audio front-end throughput, single thread: decoding real speech files (FLAC, MP3, Opus) to
// 16 kHz mono, and resampling. "x_realtime" = seconds of audio processed per second of CPU.
// Files: ../shared/speech (VOXGATE_SPEECH_DIR overrides) and the fixtures that
// tests/data/make_fixtures.sh writes into <build>/testdata (run the tests, or the script, first).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <numbers>
#include <string>
#include <vector>

#include "audio/audio_decoder.h"
#include "audio/resampler.h"

namespace {

using voxgate::audio::AudioClip;
using voxgate::audio::DecodeMemory;
using voxgate::audio::Resample;

std::string SpeechPath(const std::string& name) {
  const char* env = std::getenv("VOXGATE_SPEECH_DIR");
  return (env ? std::string(env) : std::string(VOXGATE_SOURCE_DIR) + "/../shared/speech") + "/" +
         name;
}

std::string FixturePath(const std::string& name) {
  return std::string(VOXGATE_BINARY_DIR) + "/testdata/audio/" + name;
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void SetRealtime(benchmark::State& state, double audio_s) {
  state.counters["x_realtime"] =
      benchmark::Counter(audio_s, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["audio_s"] = audio_s;
}

// Decodes the whole file from memory (the upload path) to 16 kHz mono per iteration.
void DecodeBench(benchmark::State& state, const std::string& path) {
  const std::vector<uint8_t> bytes = ReadBytes(path);
  if (bytes.empty()) {
    state.SkipWithError(("missing " + path).c_str());
    return;
  }
  auto first = DecodeMemory(bytes);
  if (!first.ok()) {
    state.SkipWithError(first.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto clip = DecodeMemory(bytes);
    benchmark::DoNotOptimize(clip);
  }
  SetRealtime(state, first->DurationS());
  state.SetLabel(path.substr(path.find_last_of('/') + 1));
}

void BM_DecodeFlac(benchmark::State& state) {
  DecodeBench(state, SpeechPath("resemblyzer-librispeech/librispeech_test-other/3080/"
                                "3080-5032-0009.flac"));
}
void BM_DecodeMp3(benchmark::State& state) { DecodeBench(state, FixturePath("speech_long.mp3")); }
void BM_DecodeOpus(benchmark::State& state) {
  DecodeBench(state, FixturePath("speech_long_opus.ogg"));
}
void BM_DecodeOpusCommonVoice(benchmark::State& state) {
  DecodeBench(state, SpeechPath("train/commonvoice-zh-CN/d13b5607fe6e9d84/"
                                "common_voice_zh-CN_18775177.opus"));
}
BENCHMARK(BM_DecodeFlac)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeMp3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeOpus)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeOpusCommonVoice)->Unit(benchmark::kMillisecond);

// Resamples 10 s of a speech-band signal (two tones plus a chirp) from `state.range(0)` Hz to 16
// kHz.
void BM_ResampleTo16k(benchmark::State& state) {
  const int in_hz = static_cast<int>(state.range(0));
  constexpr double kSeconds = 10.0;
  std::vector<float> in(static_cast<size_t>(kSeconds * in_hz));
  for (size_t i = 0; i < in.size(); ++i) {
    const double t = static_cast<double>(i) / in_hz;
    in[i] = static_cast<float>(0.3 * std::sin(2 * std::numbers::pi * 220 * t) +
                               0.2 * std::sin(2 * std::numbers::pi * 1800 * t) +
                               0.1 * std::sin(2 * std::numbers::pi * (100 + 150 * t) * t));
  }
  for (auto _ : state) {
    auto out = Resample(in, in_hz, 16000);
    benchmark::DoNotOptimize(out);
  }
  SetRealtime(state, kSeconds);
}
BENCHMARK(BM_ResampleTo16k)->Arg(44100)->Arg(8000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
