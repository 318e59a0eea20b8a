// PostgresServer: a throwaway PostgreSQL 15 cluster for integration tests and benchmarks.
//
// initdb into a fresh temp dir, a free loopback port, trust auth on 127.0.0.1 only, the unix
// socket inside the temp dir, fsync=on (so restart tests exercise real durability), and a
// database "voxgate". PostgreSQL refuses to run as root, so when geteuid() == 0 the cluster
// belongs to the `postgres` system user and initdb/pg_ctl run through `runuser -u postgres --`.
// Header-only so the store tests and the benchmarks (bench/) share one launcher.
//
// Not thread-safe: one thread drives a server (start/stop/kill); clients may connect from any
// thread.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace voxgate::store::testing {

class PostgresServer {
 public:
  static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";
  static constexpr const char* kUser = "voxgate";  // the cluster's superuser

  /// True when the PostgreSQL server binaries are installed.
  static bool Available() {
    return ::access((std::string(kBinDir) + "/initdb").c_str(), X_OK) == 0 &&
           ::access((std::string(kBinDir) + "/pg_ctl").c_str(), X_OK) == 0;
  }

  /// Creates and starts a fresh cluster with a database "voxgate"; check ok() / error().
  PostgresServer() {
    if (!Available()) {
      error_ = std::string("PostgreSQL binaries not found in ") + kBinDir;
      return;
    }
    char tmpl[] = "/tmp/voxgate-pg-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    as_postgres_ = ::geteuid() == 0;
    if (as_postgres_) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) {
        error_ = "running as root but there is no `postgres` user to run the server as";
        return;
      }
      // The temp dir stays ours to remove; the server owns what it writes inside.
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        error_ = "chown of " + dir_ + " failed";
        return;
      }
    }
    port_ = FreePort();
    std::string out;
    if (Run(AsServerUser({Bin("initdb"), "-D", data_dir(), "-U", kUser, "--auth=trust", "-E",
                          "UTF8", "--no-locale", "--no-sync"}),
            &out) != 0) {
      error_ = "initdb failed: " + out;
      return;
    }
    {
      std::ofstream conf(data_dir() + "/postgresql.conf", std::ios::app);
      conf << "\n# voxgate test server\nlisten_addresses = '127.0.0.1'\nport = " << port_
           << "\nunix_socket_directories = '" << dir_ << "'\nfsync = on\n"
           << "synchronous_commit = on\nshared_buffers = 32MB\nmax_connections = 100\n"
           << "logging_collector = off\n";
    }
    if (!Start()) return;
    if (!Psql("CREATE DATABASE voxgate", &out, "postgres")) {
      error_ = "CREATE DATABASE voxgate failed: " + out;
      return;
    }
    ok_ = true;
  }

  ~PostgresServer() {
    if (running_) Stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  bool running() const { return running_; }
  std::string data_dir() const { return dir_ + "/data"; }
  std::string log_path() const { return dir_ + "/server.log"; }

  /// postgresql://voxgate[:password]@127.0.0.1:<port>/<db>. Trust auth ignores the password, so
  /// tests can check that a URL's password never leaks into messages.
  std::string url(const std::string& db = "voxgate", const std::string& password = "") const {
    return std::string("postgresql://") + kUser + (password.empty() ? "" : ":" + password) +
           "@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

  /// Starts the server (again) on the same port and directory; waits until it accepts
  /// connections.
  bool Start() {
    std::string out;
    if (Run(AsServerUser(
                {Bin("pg_ctl"), "-D", data_dir(), "-l", log_path(), "-w", "-t", "60", "start"}),
            &out) != 0) {
      error_ = "pg_ctl start failed: " + out + "\n" + ReadFile(log_path());
      return false;
    }
    running_ = true;
    // pg_ctl -w already waited for readiness; confirm over TCP as a client would connect.
    for (int i = 0; i < 100; ++i) {
      if (Run({Bin("pg_isready"), "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", kUser, "-d",
               "postgres"},
              &out) == 0) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    error_ = "server did not become ready: " + ReadFile(log_path());
    return false;
  }

  /// Clean shutdown (pg_ctl stop -m fast): sessions are terminated, a checkpoint is written.
  bool Stop() {
    std::string out;
    const bool stopped =
        Run(AsServerUser({Bin("pg_ctl"), "-D", data_dir(), "-m", "fast", "-w", "stop"}), &out) == 0;
    if (stopped) running_ = false;
    return stopped;
  }

  /// A crash: SIGKILL to the postmaster and every backend (as a machine losing power would
  /// leave them), no shutdown checkpoint; the next Start() runs crash recovery from the WAL.
  bool Kill() {
    const pid_t pm = PostmasterPid();
    if (pm <= 0) return false;
    std::vector<pid_t> victims = ChildrenOf(pm);
    ::kill(pm, SIGKILL);
    for (pid_t c : victims) ::kill(c, SIGKILL);
    victims.push_back(pm);
    for (int i = 0; i < 200; ++i) {
      bool alive = false;
      for (pid_t p : victims) alive = alive || IsRunning(p);
      if (!alive) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    // Our PID 1 may not reap the orphaned postmaster; a zombie still answers kill(pid, 0), which
    // the next postmaster would take for a live owner of the lock file.
    if (IsZombie(pm)) {
      ::unlink((data_dir() + "/postmaster.pid").c_str());
      ::unlink((dir_ + "/.s.PGSQL." + std::to_string(port_) + ".lock").c_str());
    }
    running_ = false;
    return true;
  }

  /// Runs SQL with psql (unaligned, tuples only) against `db`; stdout+stderr into *out.
  bool Psql(const std::string& sql, std::string* out, const std::string& db = "voxgate") const {
    return Run({Bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                "-p", std::to_string(port_), "-U", kUser, "-d", db, "-c", sql},
               out) == 0;
  }

  /// Every file of the cluster (heap, indexes, WAL), concatenated: what the server keeps on disk.
  std::string ReadAllDataFiles() const {
    std::string all;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(data_dir(), ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec)) all += ReadFile(it->path().string());
    }
    return all;
  }

  /// Runs argv (argv[0] a path), waits, returns the exit status (-1 when it could not run);
  /// stdout and stderr go to *out.
  static int Run(const std::vector<std::string>& argv, std::string* out) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
    const pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      const int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    std::string text;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n > 0) {
        text.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        break;
      }
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (out) *out = text;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  static std::string Bin(const char* name) { return std::string(kBinDir) + "/" + name; }

  std::vector<std::string> AsServerUser(std::vector<std::string> argv) const {
    if (!as_postgres_) return argv;
    std::vector<std::string> wrapped = {"runuser", "-u", "postgres", "--"};
    wrapped.insert(wrapped.end(), argv.begin(), argv.end());
    return wrapped;
  }

  static int FreePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    ::close(fd);
    return port;
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  pid_t PostmasterPid() const {
    std::ifstream in(data_dir() + "/postmaster.pid");
    long pid = 0;
    in >> pid;
    return static_cast<pid_t>(pid);
  }

  static char ProcState(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return 0;
    const size_t paren = line.rfind(')');
    return paren == std::string::npos || paren + 2 >= line.size() ? 0 : line[paren + 2];
  }
  static bool IsZombie(pid_t pid) { return ProcState(pid) == 'Z'; }
  static bool IsRunning(pid_t pid) {
    const char s = ProcState(pid);
    return s != 0 && s != 'Z' && s != 'X';
  }

  static std::vector<pid_t> ChildrenOf(pid_t parent) {
    std::vector<pid_t> kids;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
      const std::string name = e.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream in(e.path().string() + "/stat");
      std::string line;
      if (!std::getline(in, line)) continue;
      const size_t paren = line.rfind(')');
      if (paren == std::string::npos) continue;
      std::istringstream fields(line.substr(paren + 2));
      char state = 0;
      long ppid = 0;
      fields >> state >> ppid;
      if (ppid == parent) kids.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return kids;
  }

  std::string dir_;
  int port_ = 0;
  bool as_postgres_ = false;
  bool running_ = false;
  bool ok_ = false;
  std::string error_;
};

}  // namespace voxgate::store::testing
