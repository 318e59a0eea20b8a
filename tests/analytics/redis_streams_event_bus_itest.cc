// RedisStreamsEventBus and ClusterAggregator against a real redis-server on loopback, and
// `voxgate events tail` as a separate process.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "analytics/cluster_aggregator.h"
#include "analytics/redis_streams_event_bus.h"
#include "app/server_process.h"
#include "common/redis_server.h"

namespace voxgate::analytics {
namespace {

using std::chrono::milliseconds;
using voxgate::testing::RedisServer;

// Polls `done` every 10 ms for up to `timeout`; the last answer.
template <typename F>
bool WaitUntil(F done, milliseconds timeout = milliseconds(15000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return done();
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

Event Make(std::string type, int n) {
  Event e;
  e.type = std::move(type);
  e.session_id = "s" + std::to_string(n);
  e.time_ms = Event::NowMs();
  e.data = {{"n", n}};
  return e;
}

std::string Tag(const Event& e) { return e.type + "#" + std::to_string(e.data.value("n", -1)); }

class RedisStreamsEventBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    RedisClientOptions o;
    o.url = redis_.url();
    o.connect_timeout_ms = 300;
    o.command_timeout_ms = 1000;
    auto c = RedisClient::Create(o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
  }

  RedisEventBusConfig Config(const std::string& node) const {
    RedisEventBusConfig c;
    c.node_id = node;
    c.stream_key = "test:events";
    c.block_ms = 200;
    c.backoff_min_ms = 20;
    c.backoff_max_ms = 200;
    return c;
  }

  std::shared_ptr<RedisStreamsEventBus> Bus(const RedisEventBusConfig& c,
                                            std::shared_ptr<metrics::Registry> registry = nullptr) {
    if (!registry) registry = std::make_shared<metrics::Registry>();
    auto bus = RedisStreamsEventBus::Create(c, client_, registry);
    EXPECT_TRUE(bus.ok()) << bus.status().ToString();
    return bus.ok() ? *bus : nullptr;
  }

  int64_t XLen(const std::string& key = "test:events") {
    auto r = client_->Command({"XLEN", key});
    return r.ok() ? r->integer : -1;
  }

  // Reads `sub` until an event of type `last` arrives (or 15 s pass); the tags in order.
  static std::vector<std::string> ReadUntil(Subscription& sub, const std::string& last) {
    std::vector<std::string> out;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    Event e;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!sub.WaitFor(&e, milliseconds(50))) continue;
      out.push_back(Tag(e));
      if (e.type == last) break;
    }
    return out;
  }

  // The first n events of `sub` (fewer if they do not come within 15 s), as tags.
  static std::vector<std::string> ReadN(Subscription& sub, size_t n) {
    std::vector<std::string> out;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    Event e;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      if (sub.WaitFor(&e, milliseconds(50))) out.push_back(Tag(e));
    }
    return out;
  }

  RedisServer redis_;
  std::shared_ptr<RedisClient> client_;
};

TEST_F(RedisStreamsEventBusTest, TwoNodesSeeEachOthersEventsOnceByPrefix) {
  auto registry_a = std::make_shared<metrics::Registry>();
  auto a = Bus(Config("node-a"), registry_a);
  auto b = Bus(Config("node-b"));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(WaitUntil([&] { return a->reading() && b->reading(); }));
  auto a_all = a->Subscribe("", 100);
  auto a_local = a->LocalOnly()->Subscribe("", 100);
  auto b_session = b->Subscribe("session.", 100);

  a->Publish(Make("session.started", 1));
  a->Publish(Make("node.joined", 2));
  a->Publish(Make("session.qos", 3));
  a->Publish(Make("session.zz-end-a", 4));
  // A's entries are in the stream before B's, so A's reader meets its own first (and skips them).
  ASSERT_TRUE(WaitUntil([&] { return a->written() == 4; }));
  b->Publish(Make("session.decision", 5));
  b->Publish(Make("test.end-b", 6));

  // A: its own four at once, then B's two from the stream; nothing twice.
  EXPECT_EQ(ReadUntil(*a_all, "test.end-b"),
            (std::vector<std::string>{"session.started#1", "node.joined#2", "session.qos#3",
                                      "session.zz-end-a#4", "session.decision#5", "test.end-b#6"}));
  // B: only "session." types: A's three and its own decision (delivered at publish; A's may
  // have arrived before it was published).
  std::vector<std::string> got_b = ReadN(*b_session, 4);
  std::sort(got_b.begin(), got_b.end());
  EXPECT_EQ(got_b, (std::vector<std::string>{"session.decision#5", "session.qos#3",
                                             "session.started#1", "session.zz-end-a#4"}));
  // The local-only view never sees B's events.
  EXPECT_EQ(ReadUntil(*a_local, "session.zz-end-a"),
            (std::vector<std::string>{"session.started#1", "node.joined#2", "session.qos#3",
                                      "session.zz-end-a#4"}));
  // Nothing more arrives (in particular no echo of a node's own events).
  ASSERT_TRUE(WaitUntil([&] { return b->written() == 2; }));
  a->Publish(Make("test.sync", 7));
  ASSERT_TRUE(WaitUntil([&] { return b->received_remote() == 5; }));
  Event e;
  EXPECT_FALSE(b_session->Poll(&e)) << Tag(e);
  ASSERT_TRUE(WaitUntil([&] { return a->received_remote() == 2; }));
  EXPECT_TRUE(a_all->Poll(&e));  // its own test.sync
  EXPECT_EQ(Tag(e), "test.sync#7");
  EXPECT_FALSE(a_all->Poll(&e)) << Tag(e);

  // Every entry carries its origin node.
  auto range = client_->Command({"XRANGE", "test:events", "-", "+"});
  ASSERT_TRUE(range.ok());
  auto entries = RedisStreamsEventBus::ParseEntries(*range);
  ASSERT_EQ(entries.size(), 7u);
  EXPECT_EQ(entries[0].node_id, "node-a");
  EXPECT_EQ(entries[4].node_id, "node-b");
  EXPECT_EQ(Tag(entries[4].event), "session.decision#5");

  const std::string text = registry_a->RenderText();
  EXPECT_NE(text.find("voxgate_events_published_total 5"), std::string::npos) << text;
  EXPECT_NE(text.find("voxgate_events_received_remote_total 2"), std::string::npos) << text;
  EXPECT_NE(text.find("voxgate_events_dropped_total 0"), std::string::npos) << text;
}

TEST_F(RedisStreamsEventBusTest, MaxlenTrimsTheStream) {
  RedisEventBusConfig c = Config("node-a");
  c.maxlen = 100;
  auto a = Bus(c);
  ASSERT_TRUE(a);
  for (int i = 0; i < 3000; ++i) a->Publish(Make("session.qos", i));
  ASSERT_TRUE(WaitUntil([&] { return a->written() == 3000; }));
  const int64_t len = XLen();
  // MAXLEN ~ trims whole stream nodes (100 entries by default): at least 100 stay, not many more.
  EXPECT_GE(len, 100);
  EXPECT_LE(len, 300);
  auto last = client_->Command({"XREVRANGE", "test:events", "+", "-", "COUNT", "1"});
  ASSERT_TRUE(last.ok());
  auto entries = RedisStreamsEventBus::ParseEntries(*last);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(Tag(entries[0].event), "session.qos#2999");  // the newest are kept
  EXPECT_EQ(a->dropped(), 0u);
}

TEST_F(RedisStreamsEventBusTest, KeepsWorkingWhileRedisIsDownAndResumes) {
  RedisEventBusConfig c = Config("node-a");
  c.queue_capacity = 10;
  auto registry = std::make_shared<metrics::Registry>();
  auto a = Bus(c, registry);
  auto b = Bus(Config("node-b"));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(WaitUntil([&] { return a->reading() && b->reading(); }));
  auto local = a->Subscribe("", 100);
  auto remote = b->Subscribe("session.", 100);

  redis_.Stop();
  // Publish returns and local subscribers get every event while Redis is down.
  for (int i = 0; i < 25; ++i) {
    a->Publish(Make("session.qos", i));
    Event e;
    ASSERT_TRUE(local->Poll(&e));
    EXPECT_EQ(Tag(e), "session.qos#" + std::to_string(i));
  }
  ASSERT_TRUE(WaitUntil([&] { return a->failed() > 0; }));
  EXPECT_LE(a->queued(), 10u);
  EXPECT_EQ(a->written(), 0u);

  ASSERT_TRUE(redis_.Start().ok());
  // What was buffered flows; what did not fit was dropped and counted.
  ASSERT_TRUE(WaitUntil([&] { return a->written() + a->dropped() == 25 && a->queued() == 0; }));
  EXPECT_GE(a->dropped(), 5u);
  EXPECT_GT(a->written(), 0u);
  // Events published after the restart flow too, and the other node's reader is back.
  a->Publish(Make("session.after", 100));
  ASSERT_TRUE(WaitUntil([&] { return a->written() + a->dropped() == 26; }));
  const int64_t expected_remote = static_cast<int64_t>(a->written());
  EXPECT_EQ(XLen(), expected_remote);
  std::vector<std::string> got = ReadUntil(*remote, "session.after");
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), "session.after#100");
  EXPECT_EQ(static_cast<int64_t>(got.size()), expected_remote);
  // The survivors keep their order.
  auto number = [](const std::string& tag) { return std::stoi(tag.substr(tag.find('#') + 1)); };
  for (size_t i = 1; i < got.size(); ++i) EXPECT_LT(number(got[i - 1]), number(got[i])) << i;
  const std::string text = registry->RenderText();
  EXPECT_EQ(text.find("voxgate_events_failed_total 0\n"), std::string::npos) << text;
}

// Waits until `n` clients are blocked in XREADGROUP (both aggregators are waiting for entries).
bool WaitBlockedReaders(RedisClient& client, int n) {
  return WaitUntil([&] {
    auto r = client.Command({"CLIENT", "LIST"});
    if (!r.ok()) return false;
    std::istringstream lines(r->str);
    std::string line;
    int blocked = 0;
    while (std::getline(lines, line)) {
      if (line.find("cmd=xreadgroup") != std::string::npos &&
          line.find("flags=b") != std::string::npos) {
        ++blocked;
      }
    }
    return blocked == n;
  });
}

int64_t PendingCount(RedisClient& client, const RedisEventBusConfig& c) {
  auto r = client.Command({"XPENDING", c.stream_key, c.group});
  if (!r.ok() || !r->is_array() || r->elements.empty()) return -1;
  return r->elements[0].integer;
}

TEST_F(RedisStreamsEventBusTest, AggregatorsInAGroupShareTheEntriesAndLoseNone) {
  RedisEventBusConfig c = Config("node-a");
  c.block_ms = 5000;  // they stay blocked between entries
  auto a = Bus(Config("node-a"));
  ASSERT_TRUE(a);
  ClusterAggregatorConfig ac;
  RedisClientOptions o = client_->options();
  ac.consumer = "agg-1";
  auto agg1 = ClusterAggregator::Start(ac, c, o, std::make_shared<metrics::Registry>());
  ac.consumer = "agg-2";
  auto agg2 = ClusterAggregator::Start(ac, c, o, std::make_shared<metrics::Registry>());
  ASSERT_TRUE(agg1.ok() && agg2.ok());
  ASSERT_TRUE(WaitBlockedReaders(*client_, 2));
  // One entry at a time: Redis hands each to the reader that has waited longest.
  constexpr int kN = 20;
  for (int i = 0; i < kN; ++i) {
    Event e = Make("session.decision", i);
    e.data["decision"] = i % 4 == 0 ? "rejected" : "verified";
    a->Publish(e);
    ASSERT_TRUE(WaitUntil(
        [&] { return (*agg1)->consumed() + (*agg2)->consumed() == static_cast<uint64_t>(i + 1); }));
  }
  EXPECT_GT((*agg1)->consumed(), 0u);
  EXPECT_GT((*agg2)->consumed(), 0u);
  EXPECT_EQ((*agg1)->consumed() + (*agg2)->consumed(), static_cast<uint64_t>(kN));
  // Every entry acknowledged; each counted by exactly one aggregator.
  EXPECT_TRUE(WaitUntil([&] { return PendingCount(*client_, c) == 0; }));
  const nlohmann::json s1 = (*agg1)->Snapshot();
  const nlohmann::json s2 = (*agg2)->Snapshot();
  EXPECT_EQ(s1["verifications"].get<int>() + s2["verifications"].get<int>(), kN);
  EXPECT_EQ(s1["decisions"]["rejected"].get<int>() + s2["decisions"]["rejected"].get<int>(), 5);
}

TEST_F(RedisStreamsEventBusTest, AggregatorClaimsEntriesAStuckConsumerLeftPending) {
  RedisEventBusConfig c = Config("node-a");
  ASSERT_TRUE(client_->Command({"XGROUP", "CREATE", c.stream_key, c.group, "$", "MKSTREAM"}).ok());
  auto a = Bus(c);
  ASSERT_TRUE(a);
  for (int i = 0; i < 5; ++i) a->Publish(Make("session.enrolled", i));
  ASSERT_TRUE(WaitUntil([&] { return a->written() == 5; }));
  // A consumer that takes the entries and dies before acknowledging them.
  auto taken = client_->Command(
      {"XREADGROUP", "GROUP", c.group, "dead", "COUNT", "5", "STREAMS", c.stream_key, ">"});
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(RedisStreamsEventBus::ParseEntries(*taken).size(), 5u);
  EXPECT_EQ(PendingCount(*client_, c), 5);

  ClusterAggregatorConfig ac;
  ac.consumer = "agg-1";
  ac.claim_idle_ms = 200;
  ac.claim_interval_ms = 100;
  auto agg = ClusterAggregator::Start(ac, c, client_->options(), nullptr);
  ASSERT_TRUE(agg.ok());
  ASSERT_TRUE(WaitUntil([&] { return (*agg)->consumed() == 5; }));
  EXPECT_EQ((*agg)->claimed(), 5u);
  EXPECT_TRUE(WaitUntil([&] { return PendingCount(*client_, c) == 0; }));
  EXPECT_EQ((*agg)->Snapshot()["enrollments"], 5);
}

TEST_F(RedisStreamsEventBusTest, AggregatorStatisticsAcrossNodesAreExact) {
  auto a = Bus(Config("node-a"));
  auto b = Bus(Config("node-b"));
  ASSERT_TRUE(a && b);
  ClusterAggregatorConfig ac;
  ac.window_s = 600.0;  // nothing expires during the test
  auto agg = ClusterAggregator::Start(ac, Config("node-agg"), client_->options(), nullptr);
  ASSERT_TRUE(agg.ok());
  const char* outcomes[] = {"verified", "rejected",   "verified", "verified",
                            "rejected", "identified", "unknown",  "verified"};
  int n = 0;
  for (const char* o : outcomes) {
    Event e = Make("session.decision", n);
    e.data["decision"] = o;
    (n % 2 ? a : b)->Publish(e);
    ++n;
  }
  const double mos[] = {4.2, 3.6, 4.0};
  for (double m : mos) {
    Event e = Make("session.qos", n++);
    e.data = {{"totals", {{"mos", 1.5}}}, {"windows", {{"10s", {{"mos", m}}}}}};
    a->Publish(e);
  }
  a->Publish(Make("session.enrolled", n++));
  b->Publish(Make("session.started", n++));
  ASSERT_TRUE(WaitUntil([&] { return (*agg)->consumed() == static_cast<uint64_t>(n); }));
  const nlohmann::json s = (*agg)->Snapshot();
  EXPECT_EQ(s["events"], n);
  EXPECT_EQ(s["decisions"]["verified"], 4);
  EXPECT_EQ(s["decisions"]["rejected"], 2);
  EXPECT_EQ(s["identifications"], 2);
  EXPECT_DOUBLE_EQ(s["reject_rate"].get<double>(), 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(s["verifications_per_min"].get<double>(), 6.0 / 10.0);
  EXPECT_DOUBLE_EQ(s["mos"]["mean"].get<double>(), (4.2 + 3.6 + 4.0) / 3.0);
  EXPECT_EQ(s["enrollments"], 1);
  EXPECT_EQ(s["sessions_started"], 1);
  EXPECT_EQ(s["active_nodes"], 2);
  EXPECT_EQ(s["nodes"]["node-a"]["events"], 4 + 3 + 1);
}

// `voxgate events tail` is another process reading what this one published.
class EventsTailTest : public RedisStreamsEventBusTest {};

std::vector<nlohmann::json> JsonLines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) lines.push_back(std::move(j));
  }
  return lines;
}

TEST_F(EventsTailTest, PrintsPublishedEventsFromTheStart) {
  auto a = Bus(Config("node-a"));
  ASSERT_TRUE(a);
  a->Publish(Make("session.started", 1));
  a->Publish(Make("session.decision", 2));
  a->Publish(Make("node.joined", 3));
  a->Publish(Make("session.decision", 4));
  a->Publish(Make("session.decision", 5));
  ASSERT_TRUE(WaitUntil([&] { return a->written() == 5; }));
  auto r = voxgate::testing::RunVoxgate({"events", "tail", "--redis-url", redis_.url(), "--stream",
                                         "test:events", "--from-start", "--type",
                                         "session.decision", "--count", "2"});
  ASSERT_EQ(r.status, 0) << r.out;
  auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["type"], "session.decision");
  EXPECT_EQ(lines[0]["data"]["n"], 2);
  EXPECT_EQ(lines[0]["session_id"], "s2");
  EXPECT_EQ(lines[0]["node_id"], "node-a");
  EXPECT_TRUE(lines[0]["id"].is_string());
  EXPECT_EQ(lines[1]["data"]["n"], 4);
}

TEST_F(EventsTailTest, FollowsNewEvents) {
  auto a = Bus(Config("node-a"));
  ASSERT_TRUE(a);
  a->Publish(Make("session.old", 0));  // before the tail starts: not printed
  ASSERT_TRUE(WaitUntil([&] { return a->written() == 1; }));
  voxgate::testing::CommandResult r;
  std::atomic<bool> finished{false};
  std::thread tail([&] {
    r = voxgate::testing::RunVoxgate({"events", "tail", "--stream", "test:events", "--count", "3"},
                                     {{"VOXGATE_REDIS_URL", redis_.url()}});
    finished = true;
  });
  // Publish until the tail has printed its three (it starts at some point in between).
  for (int i = 1; i <= 3000 && !finished; ++i) {
    a->Publish(Make("session.live", i));
    std::this_thread::sleep_for(milliseconds(10));
  }
  tail.join();
  ASSERT_EQ(r.status, 0) << r.out;
  auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  const int first = lines[0]["data"]["n"].get<int>();
  EXPECT_GE(first, 1);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(lines[k]["type"], "session.live");
    EXPECT_EQ(lines[k]["data"]["n"], first + k);  // consecutive: none skipped
  }
}

TEST(EventsTailErrorTest, UnreachableRedisFailsWithoutPrintingThePassword) {
  RedisServer unused;  // only for a free port nobody listens on
  const std::string url = "redis://:s3cretpw@127.0.0.1:" + std::to_string(unused.port()) + "/0";
  auto r = voxgate::testing::RunVoxgate({"events", "tail", "--count", "1"},
                                        {{"VOXGATE_REDIS_URL", url}});
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("s3cretpw"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("127.0.0.1:" + std::to_string(unused.port())), std::string::npos) << r.out;
}

}  // namespace
}  // namespace voxgate::analytics
