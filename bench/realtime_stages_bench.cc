// Per-frame cost of the live pipeline's stages, one thread, on real speech (a 15 s LibriSpeech
// test-other utterance; VOXGATE_SPEECH_DIR overrides ../shared/speech):
//   BM_StreamResample/8000, /48000  StreamResampler (speexdsp, quality 5) to 16 kHz, 20 ms frames
//   BM_SwrResampleWholeClip/...     peer: the whole-clip swresample path (Resample()) on the
//                                   same audio, for the ratio
//   BM_HighPass/2, /4               HighPassFilter at 16 kHz, 20 ms frames, Butterworth order 2/4
//   BM_AudioProcessorNs, ..NsAgc    AudioProcessor at 16 kHz, 10 ms frames (NS level 2 / + AGC)
//   BM_OpusEncode20ms, ..Decode20ms libopus at 16 kHz mono, 24 kbps, 20 ms frames
// Time is per frame. "x_realtime" = seconds of audio processed per CPU second on one core (the
// number of such streams one core could carry, before anything else runs).
//   build/bench/realtime_stages_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "audio/audio_decoder.h"
#include "audio/opus_codec.h"
#include "audio/resampler.h"
#include "audio/stream_resampler.h"
#include "dsp/audio_processor.h"
#include "dsp/high_pass_filter.h"

namespace {

using namespace voxgate;

std::string SpeechFile() {
  const char* env = std::getenv("VOXGATE_SPEECH_DIR");
  return std::string(env ? env : VOXGATE_SOURCE_DIR "/../shared/speech") +
         "/resemblyzer-librispeech/librispeech_test-other/1688/1688-142285-0000.flac";
}

// The utterance at rate_hz (decoded once per rate); empty on failure.
const std::vector<float>& Speech(int rate_hz) {
  static std::vector<std::pair<int, std::vector<float>>> cache;
  for (const auto& [rate, samples] : cache) {
    if (rate == rate_hz) return samples;
  }
  audio::DecodeConfig config;
  config.target_sample_rate_hz = rate_hz;
  auto clip = audio::DecodeFile(SpeechFile(), config);
  cache.emplace_back(rate_hz, clip.ok() ? std::move(clip->samples) : std::vector<float>{});
  return cache.back().second;
}

// Per-frame benchmarks process `frame_s` of audio per iteration.
void SetRealtime(benchmark::State& state, double frame_s) {
  state.counters["x_realtime"] =
      benchmark::Counter(frame_s, benchmark::Counter::kIsIterationInvariantRate);
}

// Cycles through the speech in frames of `frame` samples.
class FrameSource {
 public:
  FrameSource(const std::vector<float>& samples, size_t frame)
      : samples_(samples), frame_(frame), frames_(samples.size() / frame) {}
  bool ok() const { return frames_ > 0; }
  std::span<const float> Next() {
    const size_t i = next_++ % frames_;
    return std::span(samples_).subspan(i * frame_, frame_);
  }

 private:
  const std::vector<float>& samples_;
  size_t frame_, frames_;
  size_t next_ = 0;
};

void BM_StreamResample(benchmark::State& state) {
  const int in_hz = static_cast<int>(state.range(0));
  FrameSource source(Speech(in_hz), static_cast<size_t>(in_hz / 50));
  auto r = audio::StreamResampler::Create(in_hz, 16000);
  if (!source.ok() || !r.ok()) return state.SkipWithError("no speech or no resampler");
  std::vector<float> out((*r)->MaxOutputSamples(static_cast<size_t>(in_hz / 50)));
  for (auto _ : state) {
    benchmark::DoNotOptimize((*r)->Process(source.Next(), out));
    benchmark::ClobberMemory();
  }
  SetRealtime(state, 0.02);
}
BENCHMARK(BM_StreamResample)->Arg(8000)->Arg(48000);

// Peer: swresample over the whole clip (the upload path), per clip.
void BM_SwrResampleWholeClip(benchmark::State& state) {
  const int in_hz = static_cast<int>(state.range(0));
  const std::vector<float>& in = Speech(in_hz);
  if (in.empty()) return state.SkipWithError("no speech");
  for (auto _ : state) {
    auto out = audio::Resample(in, in_hz, 16000);
    benchmark::DoNotOptimize(out);
  }
  SetRealtime(state, static_cast<double>(in.size()) / in_hz);
}
BENCHMARK(BM_SwrResampleWholeClip)->Arg(8000)->Arg(48000)->Unit(benchmark::kMillisecond);

void BM_HighPass(benchmark::State& state) {
  FrameSource source(Speech(16000), 320);
  dsp::HighPassConfig config;
  config.order = static_cast<int>(state.range(0));
  auto filter = dsp::HighPassFilter::Create(config, 16000);
  if (!source.ok() || !filter.ok()) return state.SkipWithError("no speech or no filter");
  std::vector<float> frame(320);
  for (auto _ : state) {
    const auto in = source.Next();
    std::copy(in.begin(), in.end(), frame.begin());
    filter->Process(frame);
    benchmark::ClobberMemory();
  }
  SetRealtime(state, 0.02);
}
BENCHMARK(BM_HighPass)->Arg(2)->Arg(4);

void AudioProcessorBench(benchmark::State& state, bool agc) {
  FrameSource source(Speech(16000), 160);
  dsp::AudioProcessorConfig config;
  config.agc = agc;
  auto ap = dsp::AudioProcessor::Create(config, 16000);
  if (!source.ok() || !ap.ok()) return state.SkipWithError("no speech or no processor");
  std::vector<float> frame(160);
  for (auto _ : state) {
    const auto in = source.Next();
    std::copy(in.begin(), in.end(), frame.begin());
    if (!(*ap)->Process10ms(frame).ok()) return state.SkipWithError("Process10ms failed");
    benchmark::ClobberMemory();
  }
  SetRealtime(state, 0.01);
}
void BM_AudioProcessorNs(benchmark::State& state) { AudioProcessorBench(state, false); }
void BM_AudioProcessorNsAgc(benchmark::State& state) { AudioProcessorBench(state, true); }
BENCHMARK(BM_AudioProcessorNs);
BENCHMARK(BM_AudioProcessorNsAgc);

void BM_OpusEncode20ms(benchmark::State& state) {
  FrameSource source(Speech(16000), 320);
  auto enc = audio::OpusEncoder::Create(16000);
  if (!source.ok() || !enc.ok()) return state.SkipWithError("no speech or no encoder");
  std::vector<uint8_t> packet(1500);
  size_t bytes = 0;
  for (auto _ : state) {
    auto n = (*enc)->Encode(source.Next(), packet);
    if (!n.ok()) return state.SkipWithError("encode failed");
    bytes += *n;
  }
  SetRealtime(state, 0.02);
  state.counters["kbps"] = benchmark::Counter(static_cast<double>(bytes) * 8 / 1000 /
                                              (0.02 * static_cast<double>(state.iterations())));
}
BENCHMARK(BM_OpusEncode20ms);

void BM_OpusDecode20ms(benchmark::State& state) {
  const std::vector<float>& speech = Speech(16000);
  auto enc = audio::OpusEncoder::Create(16000);
  auto dec = audio::OpusDecoder::Create(16000);
  if (speech.size() < 320 || !enc.ok() || !dec.ok()) return state.SkipWithError("setup failed");
  std::vector<std::vector<uint8_t>> packets;
  std::vector<uint8_t> buf(1500);
  for (size_t pos = 0; pos + 320 <= speech.size(); pos += 320) {
    auto n = (*enc)->Encode(std::span(speech).subspan(pos, 320), buf);
    if (!n.ok()) return state.SkipWithError("encode failed");
    packets.emplace_back(buf.begin(), buf.begin() + static_cast<long>(*n));
  }
  std::vector<float> out(320);
  size_t i = 0;
  for (auto _ : state) {
    auto n = (*dec)->Decode(packets[i++ % packets.size()], out);
    if (!n.ok()) return state.SkipWithError("decode failed");
    benchmark::ClobberMemory();
  }
  SetRealtime(state, 0.02);
}
BENCHMARK(BM_OpusDecode20ms);

}  // namespace

BENCHMARK_MAIN();
