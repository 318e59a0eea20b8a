// CPU per live session: real speech pushed through a VoiceSession (8 kHz G.711-rate input ->
// resample -> high-pass -> NS + AGC -> Silero VAD [-> live identification]) as fast as one media
// worker takes it. Prints the CPU seconds per second of audio and the sessions one core sustains,
// for the pipeline alone and with live identification against 100 enrolled voiceprints.
//   build/bench/live_session_bench [seconds_of_audio]
#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <random>
#include <thread>

#include "audio/audio_decoder.h"
#include "stream/voice_session.h"
#include "voiceprint/scoring.h"

using namespace voxgate;

namespace {

double CpuS() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec / 1e6;
}

// 100 random enrolled voiceprints: identification searches them all.
class RandomDirectory : public voiceprint::SpeakerDirectory {
 public:
  // The model's shipped calibration when there is one, so that AS-Norm's cost is in the figures.
  explicit RandomDirectory(std::shared_ptr<const voiceprint::Embedder> e)
      : e_(std::move(e)), calibration_(voiceprint::Calibration::Uncalibrated(0.5)) {
    auto c = voiceprint::Calibration::Load(
        voiceprint::Calibration::PathForModel(e_->model_info().path), e_->model_info().id);
    if (c.ok()) calibration_ = std::move(*c);
    std::mt19937 rng(7);
    std::normal_distribution<float> n;
    for (int i = 0; i < 100; ++i) {
      std::vector<float> v(e_->model_info().embedding_dim);
      for (float& x : v) x = n(rng);
      (void)index_.Upsert("user" + std::to_string(i), v);
    }
  }
  const voiceprint::ModelInfo& model_info() const override { return e_->model_info(); }
  const voiceprint::Calibration& calibration() const override { return calibration_; }
  Result<float> ScoreUser(std::string_view, std::span<const float>) const override { return 0.0f; }
  std::vector<voiceprint::SpeakerMatch> Search(std::span<const float> q, size_t k) const override {
    return index_.Search(q, k);
  }
  std::string DisplayName(std::string_view) const override { return ""; }
  Status CheckScorable(std::string_view) const override { return Status::Ok(); }
  Result<voiceprint::LiveEnrollment> EnrollSpeech(const std::string&, const std::string&,
                                                  const std::vector<std::vector<float>>&,
                                                  const std::string&) override {
    return UnavailableError("benchmark");
  }

 private:
  std::shared_ptr<const voiceprint::Embedder> e_;
  voiceprint::Calibration calibration_;
  voiceprint::SpeakerIndex index_;
};

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 120;
  const std::string dir = std::string(VOXGATE_SOURCE_DIR) +
                          "/../shared/speech/resemblyzer-librispeech/librispeech_test-other/1688/";
  audio::DecodeConfig dc;
  dc.target_sample_rate_hz = 8000;
  std::vector<float> speech;
  for (int n = 0; speech.size() < seconds * 8000 && n < 10; ++n) {
    auto clip = audio::DecodeFile(fmt::format("{}1688-142285-{:04d}.flac", dir, n), dc);
    if (!clip.ok()) return fmt::print(stderr, "{}\n", clip.status().ToString()), 1;
    speech.insert(speech.end(), clip->samples.begin(), clip->samples.end());
  }
  while (speech.size() < seconds * 8000) speech.insert(speech.end(), speech.begin(), speech.end());
  speech.resize(static_cast<size_t>(seconds * 8000));

  voiceprint::EmbedderConfig ec;
  ec.model.model_path = std::string(VOXGATE_SOURCE_DIR) + "/models/voxgate-starter.onnx";
  ec.vad.model_path = std::string(VOXGATE_SOURCE_DIR) + "/weights/silero_vad.onnx";
  auto embedder = voiceprint::Embedder::Create(ec);
  if (!embedder.ok()) return fmt::print(stderr, "{}\n", embedder.status().ToString()), 1;

  for (bool identify : {false, true}) {
    stream::LiveServices s;
    s.config.pipeline.vad_config.model_path = ec.vad.model_path;
    s.config.input_queue_frames = 4096;
    s.config.qos_event_every_s = 0;
    s.workers = std::make_shared<dsp::MediaWorkerPool>(dsp::MediaWorkerPoolConfig{1, 1});
    s.vad = *dsp::SileroVad::Create(s.config.pipeline.vad_config);
    s.embedder = *embedder;
    s.directory = std::make_shared<RandomDirectory>(*embedder);
    s.executor = [](std::function<void()> job) {  // inline: all CPU counted on this process
      job();
      return true;
    };
    stream::VoiceSessionOptions o;
    o.input_rate_hz = 8000;
    o.codec = "PCMU";
    if (identify) o.mode = voiceprint::LiveMode::kIdentify;
    int decisions = 0;
    auto session = stream::VoiceSession::Start(s, o, [&](const analytics::Event& e) {
      if (e.type == "session.decision") ++decisions;
    });
    if (!session.ok()) return fmt::print(stderr, "{}\n", session.status().ToString()), 1;
    const double cpu0 = CpuS();
    const auto t0 = std::chrono::steady_clock::now();
    audio::AudioFrame f;
    f.sample_rate_hz = 8000;
    f.num_samples = 160;
    for (size_t i = 0; i + 160 <= speech.size(); i += 160) {
      std::copy_n(speech.begin() + i, 160, f.samples.begin());
      f.clock = static_cast<int64_t>(i);
      while (!(*session)->PushFrame(f)) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    (*session)->Finish();
    const double cpu = CpuS() - cpu0;
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fmt::print(
        "{:<34} audio {:.0f} s  cpu {:.2f} s  wall {:.2f} s  cpu per call {:.2f} % of a core  "
        "=> {:.0f} calls/core ({} decisions)\n",
        identify ? "pipeline + live identification" : "pipeline (HPF, NS+AGC, VAD)", seconds, cpu,
        wall, 100.0 * cpu / seconds, seconds / cpu, decisions);
  }
  return 0;
}
