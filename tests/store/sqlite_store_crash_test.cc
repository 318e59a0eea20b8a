// Crash safety: a child process writes in a loop and acknowledges each committed write over a
// pipe; the parent kill -9s it mid-loop, reopens the database and finds every acknowledged
// write, with the database intact.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>

#include "store/voiceprint_store.h"
#include "store_test_env.h"

// Designated initializers leave the other fields at their defaults on purpose; GCC's -Wextra
// still warns about the fields not named.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace voxgate::store {
namespace {

using testing::MakeEmbedding;
using testing::RawDb;
using testing::TempDir;
using testing::TestConfig;

// One acknowledgement: a fixed-size record, so pipe writes (< PIPE_BUF) are atomic.
struct Ack {
  char kind;  // 'c' created user n, 'a' added a sample to user n, 's' status of n set, 'x' failed
  int32_t n;
};

// Runs in the forked child; never returns.
[[noreturn]] void ChildWriter(const StoreConfig& config, int fd, int first) {
  auto opened = VoiceprintStore::Create(config);
  if (!opened.ok()) {
    Ack ack{'x', 0};
    (void)!::write(fd, &ack, sizeof(ack));
    ::_exit(2);
  }
  VoiceprintStore& store = **opened;
  for (int n = first;; ++n) {
    VoiceprintRecord r;
    r.user_id = "crash-" + std::to_string(n);
    r.name = r.user_id;
    r.model_id = "m";
    for (int k = 0; k < 2; ++k) {
      VoiceprintSample s;
      s.embedding = MakeEmbedding(n * 2 + k, 192);
      s.speech_s = 3;
      r.samples.push_back(std::move(s));
    }
    Ack ack{'c', n};
    if (!store.CreateVoiceprint(r).ok()) ack.kind = 'x';
    (void)!::write(fd, &ack, sizeof(ack));
    if (n > first) {
      VoiceprintSample s;
      s.embedding = MakeEmbedding(100000 + n, 192);
      Ack add{'a', n - 1};
      if (!store.AddSamples("crash-" + std::to_string(n - 1), {s}).ok()) add.kind = 'x';
      (void)!::write(fd, &add, sizeof(add));
    }
    if (n % 3 == 0) {
      Ack st{'s', n};
      if (!store.SetStatus(r.user_id, UserStatus::kInactive).ok()) st.kind = 'x';
      (void)!::write(fd, &st, sizeof(st));
    }
    AuditEvent e{.action = AuditAction::kRegister, .user_id = r.user_id};
    (void)store.AppendAudit(e);
  }
}

// Acknowledged state, accumulated over rounds.
struct Acked {
  std::map<int, int> samples;  // user n -> acknowledged sample count
  std::map<int, bool> inactive;
  int next = 0;  // first user id of the next round
};

// Forks a writer, kills it after `kill_after` acknowledgements, and collects every ack it sent.
void RunRound(const StoreConfig& config, int kill_after, Acked& acked) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    ChildWriter(config, fds[1], acked.next);
  }
  ::close(fds[1]);
  int count = 0;
  bool killed = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ADD_FAILURE() << "child made no progress";
        killed = true;
      }
      continue;
    }
    Ack ack{};
    ssize_t got = ::read(fds[0], &ack, sizeof(ack));
    if (got == 0) break;  // the child is dead and the pipe drained
    ASSERT_EQ(got, static_cast<ssize_t>(sizeof(ack)));
    ASSERT_NE(ack.kind, 'x') << "a write failed in the child";
    if (ack.kind == 'c') acked.samples[ack.n] = 2;
    if (ack.kind == 'a') acked.samples[ack.n] += 1;
    if (ack.kind == 's') acked.inactive[ack.n] = true;
    if (ack.kind == 'c') acked.next = std::max(acked.next, ack.n + 1);
    if (++count == kill_after && !killed) {
      ::kill(pid, SIGKILL);  // mid-loop: the child is usually inside its next transaction
      killed = true;
    }
  }
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  acked.next += 1;  // the user being written when killed may or may not exist; skip its id
}

void CheckAcked(const StoreConfig& config, const Acked& acked) {
  {
    RawDb raw(config.DbPath());
    EXPECT_EQ(raw.Column("PRAGMA integrity_check").at(0), "ok");
    EXPECT_TRUE(raw.Column("PRAGMA foreign_key_check").empty());
  }
  auto opened = VoiceprintStore::Create(config);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  VoiceprintStore& store = **opened;
  for (const auto& [n, samples] : acked.samples) {
    auto r = store.Get("crash-" + std::to_string(n));
    ASSERT_TRUE(r.ok()) << "acknowledged user " << n << " lost: " << r.status().ToString();
    // At most one more: a write can commit just before the kill lands, unacknowledged.
    EXPECT_GE(r->samples.size(), static_cast<size_t>(samples)) << n;
    EXPECT_LE(r->samples.size(), static_cast<size_t>(samples) + 1) << n;
    EXPECT_EQ(r->samples[0].embedding, MakeEmbedding(n * 2, 192));
    if (acked.inactive.count(n)) {
      EXPECT_EQ(r->status, UserStatus::kInactive) << n;
    }
  }
  auto active = store.LoadActive();
  EXPECT_TRUE(active.ok()) << "every stored embedding decrypts: " << active.status().ToString();
}

class SqliteStoreCrashTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SqliteStoreCrashTest, EveryAcknowledgedWriteSurvivesKill9) {
  TempDir dir;
  StoreConfig config = TestConfig(dir);
  config.sqlite.synchronous = GetParam();
  {
    auto created = VoiceprintStore::Create(config);  // creates the key file and schema once
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }
  std::fflush(nullptr);  // no buffered output duplicated into the child
  std::mt19937 rng(7);
  Acked acked;
  for (int round = 0; round < 3; ++round) {
    RunRound(config, 15 + static_cast<int>(rng() % 30), acked);
    if (HasFatalFailure()) return;
    CheckAcked(config, acked);
  }
  EXPECT_GT(acked.samples.size(), 20u);
}

// FULL is the default; NORMAL must survive a process crash too (it only risks power loss).
INSTANTIATE_TEST_SUITE_P(Synchronous, SqliteStoreCrashTest, ::testing::Values("full", "normal"));

}  // namespace
}  // namespace voxgate::store
