// RedisClient and RedisSubscriber against a real redis-server started by the test.
#include "common/redis_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "common/redis_server.h"
#include "common/redis_subscriber.h"

namespace voxgate {
namespace {

using testing::RedisServer;
using testing::RedisServerOptions;

std::unique_ptr<RedisClient> MakeClient(const std::string& url, int pool_size = 4) {
  RedisClientOptions o;
  o.url = url;
  o.pool_size = pool_size;
  o.connect_timeout_ms = 500;
  o.command_timeout_ms = 2000;
  auto c = RedisClient::Create(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

// Polls `pred` until true or a generous deadline; the deadline is a hang guard, not a timing check.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::seconds deadline = std::chrono::seconds(20)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

TEST(RedisEndpointTest, ParsesUrlsAndRedactsPasswords) {
  auto e = RedisEndpoint::Parse("redis://:p%40ss@example.org:6380/3");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->host, "example.org");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->db, 3);
  EXPECT_EQ(e->password, "p@ss");
  EXPECT_EQ(e->Redacted(), "redis://:***@example.org:6380/3");

  auto acl = RedisEndpoint::Parse("redis://alice:secret@[::1]/0");
  ASSERT_TRUE(acl.ok());
  EXPECT_EQ(acl->user, "alice");
  EXPECT_EQ(acl->host, "::1");
  EXPECT_EQ(acl->port, 6379);
  EXPECT_EQ(acl->Redacted().find("secret"), std::string::npos);

  auto unix_socket = RedisEndpoint::Parse("unix:///run/redis.sock?db=2");
  ASSERT_TRUE(unix_socket.ok());
  EXPECT_TRUE(unix_socket->unix_socket);
  EXPECT_EQ(unix_socket->path, "/run/redis.sock");
  EXPECT_EQ(unix_socket->db, 2);

  for (const char* bad : {"http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h:12x",
                          "redis://h/abc", "unix://relative", "redis://[::1"}) {
    auto r = RedisEndpoint::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
  auto secret = RedisEndpoint::Parse("redis://:topsecret@h:notaport/0");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().message().find("topsecret"), std::string::npos);
}

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(redis_.Start().ok()); }
  RedisServer redis_;
};

TEST_F(RedisClientTest, CommandsAndReplyTypes) {
  auto c = MakeClient(redis_.url());
  ASSERT_TRUE(c);
  auto set = c->Command({"SET", "k", "v"});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->type, RedisReply::Type::kStatus);
  EXPECT_EQ(set->str, "OK");
  auto get = c->Command({"GET", "k"});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->type, RedisReply::Type::kString);
  EXPECT_EQ(get->str, "v");
  auto missing = c->Command({"GET", "nope"});
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->is_nil());
  auto incr = c->Command(std::vector<std::string>{"INCRBY", "n", "41"});
  ASSERT_TRUE(incr.ok());
  EXPECT_EQ(incr->type, RedisReply::Type::kInteger);
  EXPECT_EQ(incr->integer, 41);
  ASSERT_TRUE(c->Command({"RPUSH", "l", "a", "b", "c"}).ok());
  auto range = c->Command({"LRANGE", "l", "0", "-1"});
  ASSERT_TRUE(range.ok());
  ASSERT_TRUE(range->is_array());
  ASSERT_EQ(range->elements.size(), 3u);
  EXPECT_EQ(range->elements[2].str, "c");
  EXPECT_TRUE(c->Ping().ok());
}

TEST_F(RedisClientTest, BinarySafeValues) {
  auto c = MakeClient(redis_.url());
  ASSERT_TRUE(c);
  std::string key("bin\0key", 7);
  std::string value;
  for (int i = 0; i < 1024; ++i) value.push_back(static_cast<char>(i % 256));
  ASSERT_TRUE(c->Command({"SET", key, value}).ok());
  auto get = c->Command({"GET", key});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->str, value);
  auto other = c->Command({"GET", "bin"});  // the key is not cut at the NUL
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->is_nil());
}

TEST_F(RedisClientTest, ServerErrorsBecomeStatuses) {
  auto c = MakeClient(redis_.url());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Command({"SET", "s", "x"}).ok());
  auto wrongtype = c->Command({"LPUSH", "s", "y"});
  ASSERT_FALSE(wrongtype.ok());
  EXPECT_EQ(wrongtype.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrongtype.status().message().find("WRONGTYPE"), std::string::npos);
  auto unknown = c->Command({"NOSUCHCOMMAND"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  auto script = c->Command({"EVAL", "return redis.error_reply('BOOM custom')", "0"});
  ASSERT_FALSE(script.ok());
  EXPECT_EQ(script.status().code(), StatusCode::kInternal);
  // The connection is still usable after error replies.
  EXPECT_TRUE(c->Ping().ok());
  EXPECT_EQ(RedisErrorStatus("LOADING Redis is loading").code(), StatusCode::kUnavailable);
  EXPECT_EQ(RedisErrorStatus("NOAUTH Authentication required.").code(),
            StatusCode::kUnauthenticated);
}

TEST_F(RedisClientTest, PipelineAndTransaction) {
  auto c = MakeClient(redis_.url());
  ASSERT_TRUE(c);
  auto p = c->Pipeline({{"SET", "a", "1"}, {"INCR", "a"}, {"LPUSH", "a", "x"}, {"GET", "a"}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->size(), 4u);
  EXPECT_EQ((*p)[1].integer, 2);
  EXPECT_TRUE((*p)[2].is_error());  // stays in place, the others still ran
  EXPECT_EQ((*p)[3].str, "2");

  auto t = c->Transaction({{"SET", "t", "1"}, {"INCRBY", "t", "9"}, {"GET", "t"}});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[1].integer, 10);
  EXPECT_EQ((*t)[2].str, "10");

  // A command rejected while queueing aborts the whole transaction: nothing runs.
  auto bad = c->Transaction({{"SET", "u", "1"}, {"NOSUCHCOMMAND"}});
  ASSERT_FALSE(bad.ok());
  auto u = c->Command({"GET", "u"});
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->is_nil());
}

TEST_F(RedisClientTest, PoolUnderManyThreads) {
  auto c = MakeClient(redis_.url(), 3);
  ASSERT_TRUE(c);
  constexpr int kThreads = 12;
  constexpr int kOps = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string mine = "own:" + std::to_string(t);
      for (int i = 0; i < kOps; ++i) {
        if (!c->Command({"INCR", "shared"}).ok()) failures++;
        auto r = c->Command({"RPUSH", mine, std::to_string(i)});
        if (!r.ok() || r->integer != i + 1) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto total = c->Command({"GET", "shared"});
  ASSERT_TRUE(total.ok());
  EXPECT_EQ(total->str, std::to_string(kThreads * kOps));
}

TEST_F(RedisClientTest, ServerDownIsUnavailableAndRecovers) {
  auto c = MakeClient(redis_.url());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Command({"SET", "durable", "yes"}).ok());
  redis_.Kill();
  for (int i = 0; i < 3; ++i) {
    auto r = c->Command({"GET", "durable"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
    EXPECT_NE(r.status().message().find("127.0.0.1:" + std::to_string(redis_.port())),
              std::string::npos);
  }
  ASSERT_TRUE(redis_.Start().ok());
  // The same client reconnects on its own; the acknowledged write survived the kill (fsync).
  auto r = c->Command({"GET", "durable"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->str, "yes");

  // Pooled connections that died in a restart are replaced transparently.
  redis_.Stop();
  ASSERT_TRUE(redis_.Start().ok());
  auto again = c->Command({"GET", "durable"});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->str, "yes");
}

TEST(RedisClientAuthTest, PasswordNeverAppearsInErrors) {
  const std::string password = "s3cr3t-Pa55";
  RedisServerOptions so;
  so.password = password;
  RedisServer redis(so);
  ASSERT_TRUE(redis.Start().ok());

  auto good = MakeClient(redis.url());
  ASSERT_TRUE(good);
  EXPECT_TRUE(good->Ping().ok());
  EXPECT_EQ(good->redacted_url().find(password), std::string::npos);

  auto wrong = MakeClient("redis://:wrong-" + password +
                          "@127.0.0.1:" + std::to_string(redis.port()) + "/0");
  ASSERT_TRUE(wrong);
  auto r = wrong->Command({"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << r.status().ToString();
  EXPECT_EQ(r.status().message().find(password), std::string::npos) << r.status().message();

  auto none = MakeClient("redis://127.0.0.1:" + std::to_string(redis.port()) + "/0");
  ASSERT_TRUE(none);
  auto r2 = none->Command({"GET", "x"});
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().code(), StatusCode::kUnauthenticated);

  redis.Kill();
  auto down = good->Command({"PING"});
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(down.status().message().find(password), std::string::npos) << down.status().message();
  RedisClientOptions o;
  o.url = redis.url();
  EXPECT_EQ(o.ToString().find(password), std::string::npos);
}

TEST_F(RedisClientTest, SelectsTheDatabaseOfTheUrl) {
  auto db0 = MakeClient(redis_.url());
  auto db5 = MakeClient("redis://127.0.0.1:" + std::to_string(redis_.port()) + "/5");
  ASSERT_TRUE(db0 && db5);
  ASSERT_TRUE(db5->Command({"SET", "where", "five"}).ok());
  auto r = db0->Command({"GET", "where"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->is_nil());
  auto r5 = db5->Command({"GET", "where"});
  ASSERT_TRUE(r5.ok());
  EXPECT_EQ(r5->str, "five");
}

class Inbox {
 public:
  void Add(const RedisMessage& m) {
    std::lock_guard lock(mu_);
    messages_.push_back(m);
  }
  bool Has(const std::string& payload) {
    std::lock_guard lock(mu_);
    for (const auto& m : messages_) {
      if (m.payload == payload) return true;
    }
    return false;
  }
  std::vector<RedisMessage> All() {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  std::mutex mu_;
  std::vector<RedisMessage> messages_;
};

TEST_F(RedisClientTest, SubscriberDeliversAndResubscribesAfterRestart) {
  auto pub = MakeClient(redis_.url());
  ASSERT_TRUE(pub);
  Inbox inbox;
  std::atomic<int> connects{0};
  RedisSubscriberOptions so;
  so.connection.url = redis_.url();
  so.channels = {"chan:a", "chan:b"};
  so.patterns = {"pat:*"};
  so.max_backoff_ms = 200;
  auto sub = RedisSubscriber::Create(
      so, [&](const RedisMessage& m) { inbox.Add(m); }, [&] { connects++; });
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  (*sub)->Start();
  ASSERT_TRUE(WaitFor([&] { return (*sub)->connected(); }));
  EXPECT_EQ(connects.load(), 1);

  const std::string binary_payload("x\0y", 3);
  ASSERT_TRUE(pub->Command({"PUBLISH", "chan:a", binary_payload}).ok());
  ASSERT_TRUE(pub->Command({"PUBLISH", "pat:one", "via-pattern"}).ok());
  ASSERT_TRUE(pub->Command({"PUBLISH", "other", "not-for-us"}).ok());
  ASSERT_TRUE(pub->Command({"PUBLISH", "chan:b", "last"}).ok());
  ASSERT_TRUE(WaitFor([&] { return inbox.Has("last"); }));
  EXPECT_TRUE(inbox.Has(binary_payload));
  EXPECT_TRUE(inbox.Has("via-pattern"));
  EXPECT_FALSE(inbox.Has("not-for-us"));
  for (const auto& m : inbox.All()) {
    if (m.payload == "via-pattern") {
      EXPECT_EQ(m.channel, "pat:one");
      EXPECT_EQ(m.pattern, "pat:*");
    }
  }

  redis_.Kill();
  ASSERT_TRUE(WaitFor([&] { return !(*sub)->connected(); }));
  ASSERT_TRUE(redis_.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return (*sub)->connected() && (*sub)->subscriptions() >= 2; }));
  EXPECT_GE(connects.load(), 2);
  ASSERT_TRUE(pub->Command({"PUBLISH", "chan:a", "after-restart"}).ok());
  ASSERT_TRUE(WaitFor([&] { return inbox.Has("after-restart"); }));

  (*sub)->Stop();
  EXPECT_FALSE((*sub)->connected());
  (*sub)->Stop();  // idempotent
}

TEST(RedisSubscriberTest, RejectsBadOptions) {
  RedisSubscriberOptions so;
  so.connection.url = "redis://127.0.0.1:1/0";
  auto none = RedisSubscriber::Create(so, [](const RedisMessage&) {});
  ASSERT_FALSE(none.ok());  // no channel
  so.channels = {"c"};
  auto no_cb = RedisSubscriber::Create(so, nullptr);
  EXPECT_FALSE(no_cb.ok());
  // Starting against a server that is not there keeps retrying and stops cleanly.
  auto sub = RedisSubscriber::Create(so, [](const RedisMessage&) {});
  ASSERT_TRUE(sub.ok());
  (*sub)->Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE((*sub)->connected());
  (*sub)->Stop();
}

}  // namespace
}  // namespace voxgate
