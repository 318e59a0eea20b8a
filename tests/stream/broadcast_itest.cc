// Live broadcast against a real RTMP server: nginx with Debian's libnginx-mod-rtmp on loopback,
// started by the test with a temporary config that records every published stream to FLV; the
// recording is read back with ffprobe.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "stream/broadcast_session.h"

namespace voxgate::stream {
namespace {

namespace fs = std::filesystem;

constexpr char kRtmpModule[] = "/usr/lib/nginx/modules/ngx_rtmp_module.so";
constexpr char kKey[] = "SECRETKEY-7f3a9c";

std::string RunCommand(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool PortOpen(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

// nginx-rtmp in the foreground (one process, no daemon) on a loopback port, recording to dir.
class NginxRtmp {
 public:
  NginxRtmp() {
    dir_ = fs::temp_directory_path() / ("voxgate_nginx_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "rec");
    port_ = FreePort();
    std::ofstream conf(dir_ / "nginx.conf");
    conf << "load_module " << kRtmpModule << ";\n"
         << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
         << "pid " << (dir_ / "nginx.pid").string() << ";\n"
         << "error_log " << (dir_ / "error.log").string() << " info;\n"
         << "events { worker_connections 64; }\n"
         << "rtmp { server { listen 127.0.0.1:" << port_ << "; chunk_size 4096;\n"
         << "  application live { live on; record all; record_unique off; record_path "
         << (dir_ / "rec").string() << "; } } }\n";
  }
  ~NginxRtmp() {
    Kill();
    fs::remove_all(dir_);
  }

  bool Start() {
    const std::string prefix = dir_.string() + "/";
    const std::string conf = (dir_ / "nginx.conf").string();
    const std::string err = (dir_ / "error.log").string();
    pid_ = fork();
    if (pid_ == 0) {
      const int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execlp("nginx", "nginx", "-p", prefix.c_str(), "-c", conf.c_str(), "-e", err.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (PortOpen(port_)) return true;
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // Asks nginx to stop gracefully (finishes and closes the recordings).
  void Quit() {
    if (pid_ <= 0) return;
    kill(pid_, SIGQUIT);
    for (int i = 0; i < 200; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    Kill();
  }

  std::string AppUrl() const { return "rtmp://127.0.0.1:" + std::to_string(port_) + "/live"; }
  std::string Url() const { return AppUrl() + "/" + kKey; }
  fs::path Recording() const { return dir_ / "rec" / (std::string(kKey) + ".flv"); }
  std::string ErrorLog() const {
    std::ifstream in(dir_ / "error.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  fs::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

struct Packet {
  bool video = false;
  double pts_s = 0;
  double duration_s = 0;
  bool key = false;
};

std::vector<Packet> ReadPackets(const fs::path& flv) {
  std::vector<Packet> out;
  std::istringstream lines(
      RunCommand("ffprobe -v error -show_entries "
                 "packet=codec_type,pts_time,duration_time,flags -of csv=p=0 " +
                 flv.string() + " 2>/dev/null"));
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    for (std::string x; std::getline(ls, x, ',');) f.push_back(x);
    if (f.size() < 4) continue;
    Packet p;
    p.video = f[0] == "video";
    p.pts_s = std::atof(f[1].c_str());
    p.duration_s = std::atof(f[2].c_str());
    p.key = f[3].find('K') != std::string::npos;
    out.push_back(p);
  }
  return out;
}

class BroadcastItest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kRtmpModule) || RunCommand("command -v nginx").empty()) {
      GTEST_SKIP() << "nginx with libnginx-mod-rtmp is not installed (scripts/setup.sh --tests)";
    }
  }
};

TEST_F(BroadcastItest, PushesH264AndAacInSyncToNginxRtmp) {
  NginxRtmp nginx;
  ASSERT_TRUE(nginx.Start()) << nginx.ErrorLog();
  BroadcastSessionConfig c;  // the default preset: 960x540@25, 2 Mbps, GOP 50
  c.output.url = nginx.Url();
  c.output.encoder_threads = 1;
  c.presenter_name = "Ada Lovelace";
  c.max_duration_s = 12;
  auto session = BroadcastSession::Start(c);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  ASSERT_TRUE((*session)
                  ->Say("Good evening, and welcome to the Voxgate live broadcast. The audio "
                        "clock drives the picture, so my mouth moves with my words.")
                  .ok());
  const Status done = (*session)->Wait();
  ASSERT_TRUE(done.ok()) << done.ToString();
  const BroadcastStats st = (*session)->stats();
  EXPECT_EQ(st.state, "stopped");
  EXPECT_NEAR(st.stream_time_s, 12.0, 0.05);
  EXPECT_EQ(st.frames_sent, 12 * 25 + 1);
  EXPECT_EQ(st.reconnects, 0);
  EXPECT_GT(st.bytes_sent, 12 * 2000 * 1000 / 8 / 2);  // CBR: at least half the target rate
  std::printf(
      "broadcast: sent=%lld dropped=%lld repeated=%lld queue_drops=%lld drift=%.1f ms "
      "written_drift=%.1f ms bytes=%lld\n",
      (long long)st.frames_sent, (long long)st.frames_dropped, (long long)st.frames_repeated,
      (long long)st.queue_drops, st.drift_ms, st.written_drift_ms, (long long)st.bytes_sent);
  nginx.Quit();  // closes the recording

  const fs::path rec = nginx.Recording();
  ASSERT_TRUE(fs::exists(rec)) << nginx.ErrorLog();
  const std::string streams = RunCommand(
      "ffprobe -v error -show_entries stream=codec_type,codec_name,width,height,sample_rate "
      "-of compact " +
      rec.string() + " 2>&1");
  EXPECT_NE(streams.find("codec_name=h264|codec_type=video|width=960|height=540"),
            std::string::npos)
      << streams;
  EXPECT_NE(streams.find("codec_name=aac|codec_type=audio|sample_rate=44100"), std::string::npos)
      << streams;

  const std::vector<Packet> packets = ReadPackets(rec);
  std::vector<const Packet*> video, audio;
  for (const Packet& p : packets) (p.video ? video : audio).push_back(&p);
  ASSERT_GT(video.size(), 200u);
  ASSERT_GT(audio.size(), 400u);
  // Frame rate as asked: 25 fps over the recording.
  const double span = video.back()->pts_s - video.front()->pts_s;
  EXPECT_NEAR((video.size() - 1) / span, 25.0, 0.25) << video.size() << " frames in " << span;
  // Keyframe interval as asked: every 50 frames (2 s).
  std::vector<size_t> keys;
  for (size_t i = 0; i < video.size(); ++i) {
    if (video[i]->key) keys.push_back(i);
  }
  ASSERT_GE(keys.size(), 5u);
  for (size_t k = 1; k < keys.size(); ++k) EXPECT_EQ(keys[k] - keys[k - 1], 50u) << k;
  // A/V drift at the end within one frame duration (40 ms): end of the last video frame against
  // the end of the last audio frame.
  const double video_end = video.back()->pts_s + 0.040;
  const double audio_end = audio.back()->pts_s + audio.back()->duration_s;
  EXPECT_LE(std::abs(video_end - audio_end), 0.040 + 1e-3)
      << "video ends " << video_end << " s, audio " << audio_end << " s";
  EXPECT_LE(std::abs(st.drift_ms), 40.0 + 1e-6);
}

TEST_F(BroadcastItest, NoServerFailsClearlyAfterTheAttemptsWithoutTheKey) {
  BroadcastSessionConfig c;
  c.output.url = "rtmp://127.0.0.1:" + std::to_string(FreePort()) + "/live/" + kKey;
  c.output.reconnect_backoff_s = 0.1;
  const auto t0 = std::chrono::steady_clock::now();
  auto session = BroadcastSession::Start(c);
  const double waited_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(session.ok());
  const Status& s = session.status();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("failed after 3 attempt(s)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("/live/***"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find(kKey), std::string::npos) << s.message();
  EXPECT_EQ(s.ToString().find(kKey), std::string::npos);
  EXPECT_EQ(c.ToString().find(kKey), std::string::npos);
  EXPECT_GE(waited_s, 0.1 + 0.2);  // the backoff was honoured: 0.1 s, then 0.2 s
}

TEST_F(BroadcastItest, ReconnectsWhenTheServerComesBack) {
  NginxRtmp nginx;
  ASSERT_TRUE(nginx.Start()) << nginx.ErrorLog();
  BroadcastSessionConfig c;
  c.output = *BroadcastConfig::FromPreset("mobile");
  // The key from the environment this time: the URL in the config has none.
  setenv("VOXGATE_ITEST_STREAM_KEY", kKey, 1);
  c.output.url = nginx.AppUrl();
  c.output.stream_key_env = "VOXGATE_ITEST_STREAM_KEY";
  c.output.encoder_threads = 1;
  c.output.reconnect_backoff_s = 0.5;
  c.output.connect_timeout_s = 2;
  c.max_duration_s = 8;
  auto session = BroadcastSession::Start(c);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  ASSERT_TRUE((*session)->Say("One two three four five six seven eight nine ten.").ok());
  std::this_thread::sleep_for(std::chrono::seconds(3));
  nginx.Kill();  // the server dies mid-stream
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(nginx.Start());
  const Status done = (*session)->Wait();
  const BroadcastStats st = (*session)->stats();
  EXPECT_TRUE(done.ok()) << done.ToString();
  EXPECT_EQ(st.reconnects, 1) << st.error;
  EXPECT_EQ(st.state, "stopped");
  EXPECT_NEAR(st.stream_time_s, 8.0, 0.05);  // the clock kept running through the outage
  nginx.Quit();
  // The read-back stream resumed: the recording of the second connection has both streams.
  const std::vector<Packet> packets = ReadPackets(nginx.Recording());
  int v = 0, a = 0;
  for (const Packet& p : packets) (p.video ? v : a)++;
  EXPECT_GT(v, 15 * 2);
  EXPECT_GT(a, 43 * 2);
}

}  // namespace
}  // namespace voxgate::stream
