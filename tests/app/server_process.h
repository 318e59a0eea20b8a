// Test helper: `voxgate serve` as a real child process, the way an operator runs it.
//
//   TempDir dir;
//   ServerProcess server({.data_dir = dir.path(), .dev = true});
//   ASSERT_TRUE(server.Start()) << server.error();     // waits for "voxgate: listening on H:P"
//   HttpClient client(server.port());
//   ...
//   EXPECT_EQ(server.Stop(), 0);                          // SIGTERM, waitpid: the exit status
//
// The child gets a clean environment: every inherited VOXGATE_* variable is dropped (so no
// VOXGATE_ENCRYPTION_KEY: the dev profile creates its key file in the data directory), then
// VOXGATE_MODEL_PATH, VOXGATE_SERVER_HOST=127.0.0.1, rate limiting off unless asked for, and the
// caller's variables are set. It runs in the data directory's parent with the repository's
// config/voxgate.yaml, so the shipped config is the one under test. Its stdout and stderr are read
// by a thread into memory (the server never blocks on a full pipe) and can be searched afterwards.
//
// Not thread-safe, except port(), pid(), Stdout(), Stderr() and WaitForOutput(), which may be
// called from any thread while the server runs.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "test_util.h"

extern char** environ;

namespace voxgate::testing {

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "voxgate-itest") {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) != nullptr) path_ = buf.data();
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// "" when the directory could not be created.
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int status = -1;  // exit status; -1 when it did not exit normally
  std::string out;  // stdout and stderr interleaved
};

/// Runs build/voxgate with `args` (each single-quoted for the shell) and waits for it.
/// `env` is prepended as NAME=value assignments.
inline CommandResult RunVoxgate(const std::vector<std::string>& args,
                                const std::vector<std::pair<std::string, std::string>>& env = {}) {
  auto quote = [](const std::string& s) {
    std::string q = "'";
    for (char c : s) {
      if (c == '\'') {
        q += "'\\''";
      } else {
        q += c;
      }
    }
    return q + "'";
  };
  std::string cmd;
  for (const auto& [k, v] : env) cmd += k + "=" + quote(v) + " ";
  cmd += quote(VoxgateBinary());
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " 2>&1";
  CommandResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int rc = ::pclose(p);
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return r;
}

class ServerProcess {
 public:
  struct Options {
    std::string data_dir = "";  // required; reused across restarts
    bool dev = true;            // --dev: no authentication
    std::string model = TestDataPath("tiny_sherpa.onnx");
    bool rate_limit = false;  // false: VOXGATE_SERVER_RATE_LIMIT_ENABLED=false
    std::vector<std::pair<std::string, std::string>> env = {};  // extra variables, set last
    std::vector<std::string> extra_args = {};
    /// Non-empty: run `voxgate <command...>` instead of `voxgate serve --config ... --port 0
    /// --data-dir ...` (e.g. {"gateway", "--port", "0"}); it must print the same listening line.
    std::vector<std::string> command = {};
    std::chrono::milliseconds start_timeout{60000};
  };

  explicit ServerProcess(Options options) : options_(std::move(options)) {}
  ~ServerProcess() {
    if (pid_ > 0) Kill();
    JoinReader();
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  /// Starts the server and waits until it prints its "listening" line. False (see error()) when
  /// it could not be started, exited, or did not listen within options.start_timeout.
  bool Start() {
    if (pid_ > 0) return Fail("already running");
    {
      std::lock_guard lock(mu_);
      out_.clear();
      err_.clear();
      eof_ = false;
    }
    port_ = 0;
    exit_status_.reset();

    // Everything the child needs is built before fork(): after it, only async-signal-safe calls.
    std::vector<std::string> args = {
        VoxgateBinary(), "serve", "--config",   RepoPath("config/voxgate.yaml"),
        "--port",        "0",     "--data-dir", options_.data_dir};
    if (!options_.command.empty()) {
      args = {VoxgateBinary()};
      args.insert(args.end(), options_.command.begin(), options_.command.end());
    } else if (options_.dev) {
      args.push_back("--dev");
    }
    for (const auto& a : options_.extra_args) args.push_back(a);
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      if (std::string_view(*e).rfind("VOXGATE_", 0) != 0) env.emplace_back(*e);
    }
    env.push_back("VOXGATE_MODEL_PATH=" + options_.model);
    env.push_back("VOXGATE_SERVER_HOST=127.0.0.1");
    if (!options_.rate_limit) env.push_back("VOXGATE_SERVER_RATE_LIMIT_ENABLED=false");
    for (const auto& [k, v] : options_.env) env.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string cwd = std::filesystem::path(options_.data_dir).parent_path().string();

    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Fail("pipe failed");
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
      ::close(out_pipe[0]);
      ::close(out_pipe[1]);
      return Fail("pipe failed");
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
      return Fail("fork failed");
    }
    if (pid == 0) {
      ::dup2(out_pipe[1], STDOUT_FILENO);
      ::dup2(err_pipe[1], STDERR_FILENO);
      const int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
      // Not the test's own sockets: a client connection must close when the test closes it.
      ::close_range(3, ~0U, 0);
      if (::chdir(cwd.c_str()) != 0) ::_exit(126);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    pid_ = pid;
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    reader_ = std::thread([this, out = out_pipe[0], err = err_pipe[0]] { ReadLoop(out, err); });

    // The line is "voxgate: listening on HOST:PORT".
    const std::string marker = "voxgate: listening on ";
    std::unique_lock lock(mu_);
    const bool seen = cv_.wait_for(lock, options_.start_timeout, [&] {
      size_t at = out_.find(marker);
      return eof_ || (at != std::string::npos && out_.find('\n', at) != std::string::npos);
    });
    const size_t at = out_.find(marker);
    if (!seen || at == std::string::npos) {
      lock.unlock();
      Kill();
      return Fail(seen ? "the server exited before listening"
                       : "the server did not listen in time");
    }
    const size_t eol = out_.find('\n', at);
    const std::string where = out_.substr(at + marker.size(), eol - at - marker.size());
    const size_t colon = where.rfind(':');
    port_ = static_cast<uint16_t>(std::atoi(where.substr(colon + 1).c_str()));
    if (port_ == 0) {
      lock.unlock();
      Kill();
      return Fail("cannot read the port from \"" + where + "\"");
    }
    return true;
  }

  /// SIGTERM, then waits up to `timeout` for the exit (SIGKILL after that). Returns the exit
  /// status, 128 + signal when killed by a signal, -1 when not running.
  int Stop(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    if (pid_ <= 0) return exit_status_.value_or(-1);
    ::kill(pid_, SIGTERM);
    return Wait(timeout);
  }

  /// Sends `sig` without waiting (e.g. SIGTERM while requests are in flight; then Wait()).
  void Signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  /// Waits for the process to exit on its own (SIGKILL after `timeout`); status as for Stop().
  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    if (pid_ <= 0) return exit_status_.value_or(-1);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (true) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (r < 0) {
        pid_ = -1;
        JoinReader();
        return -1;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    JoinReader();
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return *exit_status_;
  }

  /// kill -9: no chance to finish anything.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    Wait(std::chrono::seconds(30));
  }

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  const std::string& error() const { return error_; }
  const Options& options() const { return options_; }

  std::string Stdout() const {
    std::lock_guard lock(mu_);
    return out_;
  }
  std::string Stderr() const {
    std::lock_guard lock(mu_);
    return err_;
  }
  /// Both streams, for failure messages (the tail when long).
  std::string Output(size_t max_bytes = 8000) const {
    std::lock_guard lock(mu_);
    std::string all = "--- stdout ---\n" + out_ + "\n--- stderr ---\n" + err_;
    return all.size() > max_bytes ? "..." + all.substr(all.size() - max_bytes) : all;
  }
  /// Waits until stdout or stderr contains `text`.
  bool WaitForOutput(const std::string& text, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      return out_.find(text) != std::string::npos || err_.find(text) != std::string::npos;
    });
  }

 private:
  bool Fail(std::string why) {
    error_ = why + "\n" + Output();
    return false;
  }

  void ReadLoop(int out_fd, int err_fd) {
    std::array<pollfd, 2> fds{pollfd{out_fd, POLLIN, 0}, pollfd{err_fd, POLLIN, 0}};
    int open_fds = 2;
    std::array<char, 65536> buf;
    while (open_fds > 0) {
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        const ssize_t n = ::read(fds[i].fd, buf.data(), buf.size());
        if (n > 0) {
          std::lock_guard lock(mu_);
          (i == 0 ? out_ : err_).append(buf.data(), static_cast<size_t>(n));
        } else if (n == 0 || errno != EINTR) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          --open_fds;
        }
      }
      cv_.notify_all();
    }
    for (auto& p : fds) {
      if (p.fd >= 0) ::close(p.fd);
    }
    std::lock_guard lock(mu_);
    eof_ = true;
    cv_.notify_all();
  }

  void JoinReader() {
    if (reader_.joinable()) reader_.join();
  }

  Options options_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::optional<int> exit_status_;
  std::string error_;
  std::thread reader_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::string out_;   // guarded by mu_
  std::string err_;   // guarded by mu_
  bool eof_ = false;  // guarded by mu_: both pipes closed
};

}  // namespace voxgate::testing
