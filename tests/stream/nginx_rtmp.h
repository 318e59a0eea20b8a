// Test helpers for broadcasts against a real RTMP server: nginx with Debian's libnginx-mod-rtmp in
// the foreground on a loopback port, recording every published stream to FLV, and ffprobe to read
// the recordings back. Shared by the stream and app integration tests.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace voxgate::testing::rtmp {

namespace fs = std::filesystem;

inline constexpr char kRtmpModule[] = "/usr/lib/nginx/modules/ngx_rtmp_module.so";
inline constexpr char kKey[] = "SECRETKEY-7f3a9c";

using voxgate::testing::RunCommand;  // as rtmp::RunCommand for the tests using this namespace

inline int FreePort() {
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

inline bool PortOpen(int port) {
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
    static int instance = 0;
    dir_ = fs::temp_directory_path() /
           ("voxgate_nginx_" + std::to_string(getpid()) + "_" + std::to_string(instance++));
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

inline std::vector<Packet> ReadPackets(const fs::path& flv) {
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

/// Whether nginx and its RTMP module are installed (scripts/setup.sh --tests installs them).
inline bool Available() {
  return fs::exists(kRtmpModule) && !RunCommand("command -v nginx").empty();
}

}  // namespace voxgate::testing::rtmp
