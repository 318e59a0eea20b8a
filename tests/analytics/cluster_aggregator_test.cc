#include "analytics/cluster_aggregator.h"

#include <gtest/gtest.h>

#include <string>

#include "analytics/redis_streams_event_bus.h"

namespace voxgate::analytics {
namespace {

constexpr int64_t kT0 = 1700000000000;  // Unix ms

Event Decision(const std::string& outcome, int64_t time_ms) {
  Event e;
  e.type = "session.decision";
  e.session_id = "s";
  e.time_ms = time_ms;
  e.data = {{"decision", outcome}, {"score", 0.5}, {"threshold", 0.4}};
  return e;
}

// Shaped like QosTracker::Snapshot: windows keyed "<seconds>s", totals.
Event Qos(double mos_10s, double mos_60s, double mos_total, int64_t time_ms) {
  Event e;
  e.type = "session.qos";
  e.session_id = "s";
  e.time_ms = time_ms;
  e.data = {{"codec", "opus"},
            {"totals", {{"mos", mos_total}}},
            {"windows", {{"60s", {{"mos", mos_60s}}}, {"10s", {{"mos", mos_10s}}}}}};
  return e;
}

Event Typed(const std::string& type, int64_t time_ms) {
  Event e;
  e.type = type;
  e.time_ms = time_ms;
  return e;
}

TEST(ClusterAggregatorTest, CountsAKnownSequenceExactly) {
  ClusterAggregatorConfig config;
  config.window_s = 60.0;
  config.buckets = 60;
  config.node_timeout_s = 30.0;
  ClusterAggregator agg(config);
  // 5 verified, 3 rejected, 2 identified, 1 unknown, 1 inconclusive, 1 odd outcome; 3 QoS
  // windows; 2 enrollments; 4 sessions; from three nodes, all within the last 40 s.
  const char* outcomes[] = {"verified", "rejected",     "verified", "verified",   "rejected",
                            "verified", "rejected",     "verified", "identified", "identified",
                            "unknown",  "inconclusive", "weird"};
  int i = 0;
  for (const char* o : outcomes) {
    agg.Observe(i % 2 ? "node-a" : "node-b", Decision(o, kT0 + 1000 * i));
    ++i;
  }
  agg.Observe("node-a", Qos(4.1, 3.0, 2.0, kT0 + 20000));
  agg.Observe("node-b", Qos(3.9, 3.0, 2.0, kT0 + 21000));
  // No windows with a MOS: the totals count.
  Event totals_only = Qos(0.0, 0.0, 4.3, kT0 + 22000);
  totals_only.data["windows"] = nlohmann::json::object();
  agg.Observe("node-c", totals_only);
  // No MOS at all: not a sample.
  Event no_mos = Qos(0.0, 0.0, 0.0, kT0 + 23000);
  agg.Observe("node-c", no_mos);
  agg.Observe("node-a", Typed("session.enrolled", kT0 + 24000));
  agg.Observe("node-b", Typed("voiceprint.enrolled", kT0 + 25000));
  for (int k = 0; k < 4; ++k) agg.Observe("node-a", Typed("session.started", kT0 + 30000 + k));

  const nlohmann::json s = agg.Snapshot(kT0 + 40000);
  EXPECT_EQ(s["events"], 13 + 4 + 2 + 4);
  EXPECT_EQ(s["decisions"]["verified"], 5);
  EXPECT_EQ(s["decisions"]["rejected"], 3);
  EXPECT_EQ(s["decisions"]["identified"], 2);
  EXPECT_EQ(s["decisions"]["unknown"], 1);
  EXPECT_EQ(s["decisions"]["inconclusive"], 1);
  EXPECT_EQ(s["decisions"]["other"], 1);
  EXPECT_EQ(s["verifications"], 8);
  EXPECT_DOUBLE_EQ(s["verifications_per_min"].get<double>(), 8.0);
  EXPECT_DOUBLE_EQ(s["reject_rate"].get<double>(), 3.0 / 8.0);
  EXPECT_EQ(s["identifications"], 3);
  EXPECT_EQ(s["enrollments"], 2);
  EXPECT_EQ(s["sessions_started"], 4);
  EXPECT_EQ(s["mos"]["samples"], 3);
  EXPECT_DOUBLE_EQ(s["mos"]["mean"].get<double>(), (4.1 + 3.9 + 4.3) / 3.0);
  EXPECT_DOUBLE_EQ(s["mos"]["min"].get<double>(), 3.9);
  EXPECT_DOUBLE_EQ(s["mos"]["max"].get<double>(), 4.3);
  EXPECT_EQ(s["active_nodes"], 3);
  EXPECT_EQ(s["nodes"]["node-c"]["events"], 2);
  EXPECT_EQ(s["nodes"]["node-c"]["last_event_ms"], kT0 + 23000);

  // 50 s later: node-c (last event at +23 s) is no longer active, node-a (+30 s) is.
  const nlohmann::json later = agg.Snapshot(kT0 + 55000);
  EXPECT_EQ(later["active_nodes"], 2);
  EXPECT_FALSE(later["nodes"]["node-c"]["active"].get<bool>());

  // Two windows later everything has expired.
  const nlohmann::json gone = agg.Snapshot(kT0 + 200000);
  EXPECT_EQ(gone["events"], 0);
  EXPECT_EQ(gone["verifications"], 0);
  EXPECT_TRUE(gone["reject_rate"].is_null());
  EXPECT_TRUE(gone["mos"]["mean"].is_null());
  EXPECT_EQ(gone["active_nodes"], 0);
}

TEST(ClusterAggregatorTest, RatesAreCountsOverTheWindowLength) {
  ClusterAggregatorConfig config;
  config.window_s = 120.0;
  config.buckets = 12;
  ClusterAggregator agg(config);
  for (int i = 0; i < 6; ++i) agg.Observe("n", Decision("rejected", kT0 + i * 10000));
  const nlohmann::json s = agg.Snapshot(kT0 + 60000);
  EXPECT_DOUBLE_EQ(s["verifications_per_min"].get<double>(), 3.0);  // 6 in 2 minutes
  EXPECT_DOUBLE_EQ(s["reject_rate"].get<double>(), 1.0);
}

TEST(ClusterAggregatorTest, EventsOlderThanTheWindowAreIgnored) {
  ClusterAggregator agg(ClusterAggregatorConfig{});
  agg.Observe("n", Decision("verified", kT0 + 100000));
  agg.Observe("n", Decision("verified", kT0));  // 100 s before the newest: out of a 60 s window
  EXPECT_EQ(agg.Snapshot(kT0 + 100000)["verifications"], 1);
}

TEST(ClusterAggregatorConfigTest, ValidatesAndPrints) {
  ClusterAggregatorConfig c;
  EXPECT_TRUE(c.Validate().ok());
  EXPECT_NE(c.ToString().find("window_s=60"), std::string::npos);
  c.window_s = 0.0;
  EXPECT_FALSE(c.Validate().ok());
  c = ClusterAggregatorConfig{};
  c.batch_size = 0;
  EXPECT_FALSE(c.Validate().ok());
}

TEST(RedisEventBusConfigTest, ValidatesLoadsAndPrints) {
  RedisEventBusConfig c;
  EXPECT_FALSE(c.Validate().ok());  // node_id is required
  c.node_id = "n1";
  EXPECT_TRUE(c.Validate().ok());
  auto node = ConfigNode::Parse("events:\n  stream_key: s:1\n  maxlen: 500\n  block_ms: 50\n");
  ASSERT_TRUE(node.ok());
  ASSERT_TRUE(c.Load(node->Child("events")).ok());
  EXPECT_EQ(c.stream_key, "s:1");
  EXPECT_EQ(c.maxlen, 500);
  EXPECT_EQ(c.block_ms, 50);
  EXPECT_NE(c.ToString().find("maxlen~500"), std::string::npos);
  c.maxlen = 0;
  EXPECT_FALSE(c.Validate().ok());
  auto bad = ConfigNode::Parse("events:\n  maxlen: lots\n");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(c.Load(bad->Child("events")).ok());
}

TEST(RedisStreamsEventBusTest, EncodesAndDecodesEntries) {
  RedisEventBusConfig c;
  c.node_id = "n1";
  Event e = Decision("verified", kT0);
  const std::vector<std::string> args = RedisStreamsEventBus::XAddArgs(c, "n1", e);
  ASSERT_GE(args.size(), 6u);
  EXPECT_EQ(args[0], "XADD");
  EXPECT_EQ(args[2], "MAXLEN");
  EXPECT_EQ(args[3], "~");
  // An XREAD reply: [[stream, [[id, fields], [id, garbage]]]].
  auto str = [](std::string s) {
    RedisReply r;
    r.type = RedisReply::Type::kString;
    r.str = std::move(s);
    return r;
  };
  auto arr = [](std::vector<RedisReply> v) {
    RedisReply r;
    r.type = RedisReply::Type::kArray;
    r.elements = std::move(v);
    return r;
  };
  std::vector<RedisReply> fields;
  for (size_t i = 6; i < args.size(); ++i) fields.push_back(str(args[i]));
  RedisReply good = arr({str("1-0"), arr(fields)});
  RedisReply bad_data = arr({str("2-0"), arr({str("type"), str("x"), str("data"), str("{")})});
  RedisReply no_type = arr({str("3-0"), arr({str("node"), str("n2")})});
  RedisReply reply = arr({arr({str(c.stream_key), arr({good, bad_data, no_type})})});
  std::vector<std::string> malformed;
  auto events = RedisStreamsEventBus::ParseEntries(reply, &malformed);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "1-0");
  EXPECT_EQ(events[0].node_id, "n1");
  EXPECT_EQ(events[0].event.ToJson(), e.ToJson());
  EXPECT_EQ(malformed, (std::vector<std::string>{"2-0", "3-0"}));
  const nlohmann::json j = events[0].ToJson();
  EXPECT_EQ(j["id"], "1-0");
  EXPECT_EQ(j["node_id"], "n1");
  // Not a reply of entries at all: nothing, no crash.
  EXPECT_TRUE(RedisStreamsEventBus::ParseEntries(str("OK"), nullptr).empty());
  EXPECT_TRUE(RedisStreamsEventBus::ParseEntries(RedisReply{}, nullptr).empty());
  // Entries whose id is not "<ms>-<seq>" are not entries (found by redis_entries_fuzz: an empty
  // id was decoded and would have reset the reader's cursor).
  for (const char* id : {"", "-", "1", "1-", "-1", "a-1", "1-0x", "99999999999999999999999-0"}) {
    SCOPED_TRACE(id);
    EXPECT_TRUE(
        RedisStreamsEventBus::ParseEntries(arr({arr({str(id), arr(fields)})}), nullptr).empty());
  }
}

}  // namespace
}  // namespace voxgate::analytics
