// voxgate push: a one-shot live broadcast from the command line (a talking presenter speaking
// --say text, or a recording), pushed over RTMP until the speech ends or --seconds have passed.
// Prints the broadcast's statistics as JSON; the stream key never reaches the terminal.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "app/commands.h"
#include "app/model_loader.h"
#include "stream/broadcast_session.h"

namespace voxgate::app {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void OnSignal(int) { g_interrupted = 1; }

// Reads one whole picture from fd, waking every 100 ms to see whether the push is stopping (so a
// quiet pipe never holds up the end). False at the end of the input or when stopping.
bool ReadPicture(int fd, std::vector<uint8_t>& picture, const std::atomic<bool>& stop) {
  size_t have = 0;
  while (have < picture.size()) {
    if (stop.load()) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) continue;
    const ssize_t n = ::read(fd, picture.data() + have, picture.size() - have);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    have += static_cast<size_t>(n);
  }
  return true;
}

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
  if (!options.video_pipe.empty()) config.video_source = "external";

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
  // Pictures from a pipe: one every frame period, the newest fills each slot (a reader far ahead
  // of the stream would only overwrite pictures nobody sees).
  std::thread video;
  std::atomic<bool> video_stop{false};
  if (!options.video_pipe.empty()) {
    const int fd =
        options.video_pipe == "-" ? STDIN_FILENO : ::open(options.video_pipe.c_str(), O_RDONLY);
    if (fd < 0) {
      (*session)->Stop();
      return Fail(NotFoundError("cannot open --video-pipe " + options.video_pipe));
    }
    const size_t bytes = size_t(config.output.width) * config.output.height * 4;
    video = std::thread([fd, bytes, fps = config.output.fps, s = session->get(), &video_stop] {
      std::vector<uint8_t> picture(bytes);
      const auto t0 = std::chrono::steady_clock::now();
      for (int64_t k = 0; !video_stop.load(); ++k) {
        if (!ReadPicture(fd, picture, video_stop)) break;  // end of the pipe, or stopping
        if (!s->PushVideoFrame(picture).ok()) break;
        std::this_thread::sleep_until(t0 + std::chrono::microseconds(k * 1000000 / fps));
      }
      if (fd != STDIN_FILENO) ::close(fd);
    });
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  // Ends by itself (speech done, --seconds reached, or a failure) or on Ctrl-C, which still
  // flushes the encoders and closes the FLV stream cleanly.
  while (!g_interrupted && !(*session)->Finished()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  video_stop.store(true);
  const Status done = (*session)->Stop();
  if (video.joinable()) video.join();
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
                              {"reconnects", st.reconnects},
                              {"external_frames", st.external_frames}}
                   .dump()
            << "\n";
  return done.ok() ? 0 : Fail(done);
}

}  // namespace voxgate::app
