// Test helper: runs SIPp (Debian sip-tester) as a real process with message and error traces, for
// the SIP tests (tests/telephony) and the end-to-end call tests (tests/app). Not thread-safe per
// call; separate calls may run in parallel (each gets its own trace directory).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace voxgate::testing {

inline constexpr char kSipp[] = "/usr/bin/sipp";

/// The scenario file tests/telephony/sipp/<name>.
inline std::string SippScenario(const std::string& name) {
  return RepoPath("tests/telephony/sipp/" + name);
}

struct SippResult {
  int exit_code = -1;    // sipp's: 0 all calls succeeded, 1 some failed; -1 killed or not run
  std::string messages;  // -trace_msg
  std::string errors;    // -trace_err
  std::string screen;    // stdout + stderr
};

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs sipp with `args` (after the binary name) and the trace options; sipp gives up by itself
// after `sipp_timeout` (-timeout, counted as a failure), and is killed after `timeout`.
inline SippResult RunSipp(std::vector<std::string> args,
                          std::chrono::seconds timeout = std::chrono::seconds(40),
                          std::chrono::seconds sipp_timeout = std::chrono::seconds(20)) {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("voxgate-sipp-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  std::filesystem::create_directories(dir);
  const auto messages = dir / "messages.log";
  const auto errors = dir / "errors.log";
  const auto screen = dir / "screen.log";
  args.insert(args.end(), {"-nostdin", "-timeout", std::to_string(sipp_timeout.count()) + "s",
                           "-timeout_error", "-trace_msg", "-message_file", messages.string(),
                           "-trace_err", "-error_file", errors.string()});
  std::vector<char*> argv;
  std::string bin = kSipp;
  argv.push_back(bin.data());
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  SippResult result;
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(screen.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    chdir(dir.c_str());
    execv(kSipp, argv.data());
    _exit(127);
  }
  if (pid < 0) return result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      status = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  result.messages = ReadFile(messages);
  result.errors = ReadFile(errors);
  result.screen = ReadFile(screen);
  std::filesystem::remove_all(dir);
  return result;
}

inline std::string Describe(const SippResult& r) {
  return "sipp exit " + std::to_string(r.exit_code) + "\n--- errors:\n" + r.errors +
         "\n--- messages:\n" + r.messages.substr(0, 20000) + "\n--- screen (tail):\n" +
         (r.screen.size() > 3000 ? r.screen.substr(r.screen.size() - 3000) : r.screen);
}

}  // namespace voxgate::testing
