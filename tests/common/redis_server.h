// RedisServer (tests only): runs a private redis-server on a free loopback port in a temporary
// directory, for integration tests of everything that talks to Redis. By default every write is
// appended and fsynced before it is acknowledged (--appendonly yes --appendfsync always), so an
// acknowledged write survives Stop/Kill + Start (which reuse the same port and directory).
//
// Usage:
//   voxgate::testing::RedisServer redis;
//   ASSERT_TRUE(redis.Start().ok());
//   ... redis.url() ...; redis.Kill(); redis.Start(); ...
//
// Not thread-safe: drive it from the test's main thread.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/redis_client.h"
#include "common/status.h"

extern char** environ;

namespace voxgate::testing {

struct RedisServerOptions {
  std::string binary = "/usr/bin/redis-server";
  std::string password;            // requirepass when non-empty
  bool append_only = true;         // --appendonly yes --appendfsync always
  std::vector<std::string> extra;  // more arguments, e.g. {"--maxmemory", "10mb"}
  int start_timeout_ms = 15000;    // wait this long for PING to answer after a start
};

class RedisServer {
 public:
  explicit RedisServer(RedisServerOptions options = {}) : options_(std::move(options)) {
    char tmpl[] = "/tmp/voxgate-redis-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) dir_ = tmpl;
    port_ = FreePort();
  }
  ~RedisServer() {
    Kill();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  /// Starts redis-server (again: same port and directory) and waits until PING answers PONG.
  Status Start() {
    if (pid_ > 0) return Status::Ok();
    if (dir_.empty() || port_ <= 0) return InternalError("no temp dir or free port");
    std::vector<std::string> args = {options_.binary,
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--dir",
                                     dir_,
                                     "--daemonize",
                                     "no",
                                     "--save",
                                     "",
                                     "--logfile",
                                     dir_ + "/redis.log",
                                     "--protected-mode",
                                     "no"};
    if (options_.append_only) {
      args.insert(args.end(), {"--appendonly", "yes", "--appendfsync", "always"});
    }
    if (!options_.password.empty()) args.insert(args.end(), {"--requirepass", options_.password});
    args.insert(args.end(), options_.extra.begin(), options_.extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawn(&pid, options_.binary.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
      return InternalError("cannot spawn " + options_.binary);
    }
    pid_ = pid;
    return WaitReady();
  }

  /// SIGTERM (Redis flushes the append-only file and exits), then waits for the exit.
  void Stop() { Signal(SIGTERM); }
  /// SIGKILL: a crash. With appendfsync always no acknowledged write is lost.
  void Kill() { Signal(SIGKILL); }

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  /// redis://[:password@]127.0.0.1:port/0
  std::string url() const {
    std::string auth = options_.password.empty() ? "" : ":" + options_.password + "@";
    return "redis://" + auth + "127.0.0.1:" + std::to_string(port_) + "/0";
  }

 private:
  static int FreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    int port = -1;
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
  }

  void Signal(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  Status WaitReady() {
    RedisClientOptions o;
    o.url = url();
    o.pool_size = 1;
    o.connect_timeout_ms = 500;
    o.command_timeout_ms = 500;
    auto client = RedisClient::Create(o);
    if (!client.ok()) return client.status();
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.start_timeout_ms);
    Status last;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return InternalError("redis-server exited at start; see " + dir_ + "/redis.log");
      }
      last = (*client)->Ping();  // LOADING while the append-only file is replayed
      if (last.ok()) return Status::Ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return last.WithContext("redis-server did not answer PING in time");
  }

  const RedisServerOptions options_;
  std::string dir_;
  int port_ = -1;
  pid_t pid_ = -1;
};

}  // namespace voxgate::testing
