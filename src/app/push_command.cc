// voxgate push: a one-shot live broadcast from the command line (a talking presenter speaking
// --say text, or a recording), pushed over RTMP until the speech ends or --seconds have passed.
// Prints the broadcast's statistics as JSON; the stream key never reaches the terminal.
#include <chrono>
#include <csignal>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/commands.h"
#include "app/model_loader.h"
#include "stream/broadcast_session.h"

namespace voxgate::app {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void OnSignal(int) { g_interrupted = 1; }

}  // namespace

int RunPush(const PushOptions& options) {
  if (!options.say.empty() && !options.file.empty()) {
    return Fail(InvalidArgumentError("give --say or --file, not both"));
  }
  if (options.say.empty() && options.file.empty() && options.seconds <= 0) {
    return Fail(
        InvalidArgumentError("give --say TEXT or --file F (or --seconds N for a silent card)"));
  }
  auto preset = stream::BroadcastConfig::FromPreset(options.preset);
  if (!preset.ok()) return Fail(preset.status());
  stream::BroadcastSessionConfig config;
  config.output = *preset;
  config.output.url = options.url;
  config.output.stream_key_env = options.key_env;
  config.output.stream_key_file = options.key_file;
  if (options.fps > 0) config.output.fps = options.fps;
  if (options.bitrate_kbps > 0) config.output.video_bitrate_kbps = options.bitrate_kbps;
  if (options.attempts != 0) config.output.reconnect_attempts = options.attempts;
  config.presenter_name = options.name;
  config.synth.voice = options.voice;
  config.max_duration_s = options.seconds;
  config.stop_when_idle = options.seconds <= 0;

  auto session = stream::BroadcastSession::Start(config);
  if (!session.ok()) return Fail(session.status());
  Status queued;
  if (!options.file.empty()) {
    queued = (*session)->PlayFile(options.file).status();
  } else if (!options.say.empty()) {
    queued = (*session)->Say(options.say).status();
  }
  if (!queued.ok()) {
    (*session)->Stop();
    return Fail(queued);
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  // Ends by itself (speech done, --seconds reached, or a failure) or on Ctrl-C, which still
  // flushes the encoders and closes the FLV stream cleanly.
  while (!g_interrupted && !(*session)->Finished()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const Status done = (*session)->Stop();
  const stream::BroadcastStats st = (*session)->stats();
  std::cout << nlohmann::json{{"state", st.state},
                              {"stream_time_s", st.stream_time_s},
                              {"frames_sent", st.frames_sent},
                              {"frames_dropped", st.frames_dropped},
                              {"frames_repeated", st.frames_repeated},
                              {"queue_drops", st.queue_drops},
                              {"drift_ms", st.drift_ms},
                              {"written_drift_ms", st.written_drift_ms},
                              {"bytes_sent", st.bytes_sent},
                              {"reconnects", st.reconnects}}
                   .dump()
            << "\n";
  return done.ok() ? 0 : Fail(done);
}

}  // namespace voxgate::app
