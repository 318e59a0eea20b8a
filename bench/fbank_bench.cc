// Fbank throughput on real speech, single thread, against torchaudio.compliance.kaldi.fbank run on
// the same samples in the same run (torch limited to one thread).
//
//   build/bench/fbank_bench [--benchmark_filter=...]
//
// Speech: the 16 kHz waveforms that tests/data/gen_fbank_ref.py writes to build/testdata/fbank,
// concatenated and looped to length; without them, deterministic noise (the label says which).
// The peer runs /usr/bin/python3 (VOXGATE_PYTHON overrides); without torch it is skipped.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "dsp/fbank.h"

namespace {

constexpr int kSampleRateHz = 16000;
constexpr int kDurationsS[] = {3, 10};

struct Audio {
  std::vector<float> samples;  // at least max(kDurationsS) seconds
  std::string label;           // "speech" or "noise"
};

std::vector<float> ReadF32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

const Audio& TestAudio() {
  static const Audio audio = [] {
    Audio a;
    const size_t want = static_cast<size_t>(kSampleRateHz) * 10;
    const std::string dir = std::string(VOXGATE_BINARY_DIR) + "/testdata/fbank";
    std::ifstream index_file(dir + "/index.json");
    if (index_file) {
      try {
        const auto index = nlohmann::json::parse(index_file);
        std::vector<float> speech;
        for (const auto& w : index.at("waves")) {
          if (w.at("sample_rate_hz") != kSampleRateHz || w.at("num_samples") < 16000) continue;
          const auto x = ReadF32(dir + "/" + w.at("file").get<std::string>());
          speech.insert(speech.end(), x.begin(), x.end());
        }
        while (!speech.empty() && a.samples.size() < want) {
          a.samples.insert(a.samples.end(), speech.begin(), speech.end());
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "fbank_bench: %s: %s\n", (dir + "/index.json").c_str(), e.what());
        a.samples.clear();
      }
    }
    if (a.samples.size() >= want) {
      a.label = "speech";
    } else {
      std::fprintf(stderr,
                   "fbank_bench: no speech in %s (run tests/data/make_fixtures.sh); using noise\n",
                   dir.c_str());
      std::mt19937 rng(1);
      std::normal_distribution<float> dist(0.0f, 0.1f);
      a.samples.resize(want);
      for (float& v : a.samples) v = dist(rng);
      a.label = "noise";
    }
    return a;
  }();
  return audio;
}

// FbankConfig defaults: 80 bins, povey, 25/10 ms, per-utterance mean normalisation (3D-Speaker).
void BM_Fbank(benchmark::State& state) {
  const int seconds = static_cast<int>(state.range(0));
  const Audio& audio = TestAudio();
  const std::span<const float> x(audio.samples.data(),
                                 static_cast<size_t>(seconds) * kSampleRateHz);
  auto fbank = voxgate::dsp::Fbank::Create(voxgate::dsp::FbankConfig{});
  if (!fbank.ok()) {
    state.SkipWithError(fbank.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    voxgate::dsp::Features f = (*fbank)->Compute(x);
    benchmark::DoNotOptimize(f.data.data());
  }
  state.SetLabel(audio.label);
  // Audio seconds per CPU second (rate counters divide by CPU time).
  state.counters["x_realtime"] = benchmark::Counter(
      static_cast<double>(seconds) * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Fbank)->Arg(kDurationsS[0])->Arg(kDurationsS[1])->Unit(benchmark::kMicrosecond);

// Keeps each run's x_realtime for the comparison printed after the table.
class CapturingReporter : public benchmark::ConsoleReporter {
 public:
  // Colour only on a terminal, so that logs stay plain.
  CapturingReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      auto it = run.counters.find("x_realtime");
      if (it != run.counters.end() && run.run_type == Run::RT_Iteration) {
        x_realtime[run.benchmark_name()] = it->second.value;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> x_realtime;
};

// Times torchaudio on the same samples: one process, one torch thread, the same configuration
// (kaldi.fbank then minus the per-bin mean), CPU time per call over at least 1 s per duration.
// Prints "<seconds> <cpu seconds per call>" lines; returns seconds -> CPU seconds per call.
std::map<int, double> RunTorchaudio(const Audio& audio) {
  std::map<int, double> result;
  char tmpl[] = "/tmp/voxgate_fbank_bench_XXXXXX";
  if (!mkdtemp(tmpl)) return result;
  const std::filesystem::path tmp(tmpl);
  {
    std::ofstream out(tmp / "audio.f32", std::ios::binary);
    out.write(reinterpret_cast<const char*>(audio.samples.data()),
              static_cast<std::streamsize>(audio.samples.size() * sizeof(float)));
    std::ofstream py(tmp / "peer.py");
    py << R"PY(import sys, time
import numpy as np, torch, torchaudio.compliance.kaldi as kaldi
torch.set_num_threads(1)
x = torch.from_numpy(np.fromfile(sys.argv[1], dtype="<f4"))
def fbank(w):
    f = kaldi.fbank(w.unsqueeze(0), num_mel_bins=80, frame_length=25, frame_shift=10, dither=0.0,
                    sample_frequency=16000, window_type="povey", preemphasis_coefficient=0.97,
                    remove_dc_offset=True, low_freq=20, high_freq=0, snip_edges=True,
                    use_energy=False, use_log_fbank=True, use_power=True, round_to_power_of_two=True)
    return f - f.mean(dim=0, keepdim=True)
for seconds in map(int, sys.argv[2:]):
    w = x[: seconds * 16000].clone()
    for _ in range(3):
        fbank(w)
    calls, start = 0, time.process_time()
    while calls < 5 or time.process_time() - start < 1.0:
        fbank(w)
        calls += 1
    print(seconds, (time.process_time() - start) / calls, flush=True)
print("torch", torch.__version__)
)PY";
  }
  const char* env = std::getenv("VOXGATE_PYTHON");
  std::string cmd = std::string(env ? env : "/usr/bin/python3") + " " + (tmp / "peer.py").string() +
                    " " + (tmp / "audio.f32").string();
  for (int s : kDurationsS) cmd += " " + std::to_string(s);
  cmd += " 2>&1";
  if (FILE* pipe = popen(cmd.c_str(), "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, pipe)) {
      int seconds = 0;
      double per_call = 0.0;
      if (std::sscanf(line, "%d %lf", &seconds, &per_call) == 2 && per_call > 0.0) {
        result[seconds] = per_call;
      } else if (std::strncmp(line, "torch ", 6) != 0) {
        std::fprintf(stderr, "torchaudio peer: %s", line);
      }
    }
    pclose(pipe);
  }
  std::filesystem::remove_all(tmp);
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const Audio& audio = TestAudio();
  const std::map<int, double> peer = RunTorchaudio(audio);
  if (peer.empty()) {
    std::printf("peer torchaudio: unavailable (needs python3 with torch and torchaudio)\n");
    return 0;
  }
  for (int s : kDurationsS) {
    auto ours = reporter.x_realtime.find("BM_Fbank/" + std::to_string(s));
    auto theirs = peer.find(s);
    if (ours == reporter.x_realtime.end() || theirs == peer.end()) continue;
    const double peer_x = s / theirs->second;
    std::printf(
        "fbank %2d s %s, 1 thread: voxgate %.0f x_realtime, torchaudio %.0f x_realtime "
        "-> voxgate %.2fx torchaudio\n",
        s, audio.label.c_str(), ours->second, peer_x, ours->second / peer_x);
  }
  return 0;
}
