#include "app/run_program.h"

#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace voxgate::app {

Status RunProgram(const std::vector<std::string>& argv) {
  if (argv.empty()) return InvalidArgumentError("no program to run");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  if (int rc = posix_spawn(&pid, argv[0].c_str(), nullptr, nullptr, args.data(), environ);
      rc != 0) {
    return UnavailableError(fmt::format("cannot run {}: {}", argv[0], std::strerror(rc)));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return UnavailableError(fmt::format("waiting for {} failed", argv[0]));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return UnavailableError(fmt::format("{} {} failed (exit status {})", argv[0],
                                        argv.size() > 1 ? argv[1] : "",
                                        WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  }
  return Status::Ok();
}

}  // namespace voxgate::app
