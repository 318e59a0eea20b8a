#include "analytics/session_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "analytics/qos_tracker.h"

namespace voxgate::analytics {
namespace {

// A session as the telephony and stream modules build them: an id, a kind and a QosTracker fed
// by the media path, described with its QoS snapshot.
class TestSession : public SessionView {
 public:
  TestSession(std::string id, std::string kind) : id_(std::move(id)), kind_(std::move(kind)) {}
  std::string id() const override { return id_; }
  std::string kind() const override { return kind_; }
  nlohmann::json Describe(double now_s) const override {
    ++describes_;
    return {{"described_at_s", now_s}, {"qos", qos_.Snapshot(now_s)}};
  }
  QosTracker& qos() { return qos_; }
  int describes() const { return describes_.load(); }

 private:
  std::string id_;
  std::string kind_;
  QosTracker qos_{QosTrackerConfig{}};
  mutable std::atomic<int> describes_{0};
};

// A session whose Describe calls back into the registry (a pattern that would deadlock if the
// registry held its lock while describing).
class ReentrantSession : public SessionView {
 public:
  ReentrantSession(std::string id, const SessionRegistry* registry)
      : id_(std::move(id)), registry_(registry) {}
  std::string id() const override { return id_; }
  std::string kind() const override { return "websocket"; }
  nlohmann::json Describe(double) const override { return {{"peers", registry_->active()}}; }

 private:
  std::string id_;
  const SessionRegistry* registry_;
};

// A description that is not an object.
class PlainSession : public SessionView {
 public:
  std::string id() const override { return "plain"; }
  std::string kind() const override { return "sip"; }
  nlohmann::json Describe(double) const override { return "ringing"; }
};

double MetricValue(metrics::Registry& r, bool gauge, const std::string& kind) {
  if (gauge)
    return r.GaugeFamily("voxgate_sessions_active", "", {"kind"}).WithLabels({kind}).value();
  return r.CounterFamily("voxgate_sessions_total", "", {"kind"}).WithLabels({kind}).value();
}

TEST(SessionRegistryTest, AddListGetRemove) {
  auto metrics = std::make_shared<metrics::Registry>();
  SessionRegistry registry(metrics);
  auto call = std::make_shared<TestSession>("call-1", "sip");
  auto stream = std::make_shared<TestSession>("ws-1", "websocket");
  ASSERT_TRUE(registry.Add(call).ok());
  ASSERT_TRUE(registry.Add(stream).ok());
  EXPECT_EQ(registry.active(), 2u);

  for (int k = 0; k < 100; ++k) {
    call->qos().OnRtpPacket(static_cast<uint16_t>(k), 160u * k, k * 0.02, 160);
  }
  nlohmann::json list = registry.List(2.0, false);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["id"], "call-1");  // sorted by id
  EXPECT_EQ(list[0]["kind"], "sip");
  EXPECT_EQ(list[0]["state"], "active");
  EXPECT_EQ(list[0]["described_at_s"], 2.0);
  EXPECT_EQ(list[0]["qos"]["totals"]["packets_received"], 99);
  EXPECT_EQ(list[1]["id"], "ws-1");
  EXPECT_EQ(list[1]["kind"], "websocket");

  std::optional<nlohmann::json> got = registry.Get("call-1", 3.0);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ((*got)["described_at_s"], 3.0);
  EXPECT_EQ(registry.Find("call-1"), call);
  EXPECT_FALSE(registry.Get("nope", 3.0).has_value());

  EXPECT_EQ(MetricValue(*metrics, true, "sip"), 1.0);
  EXPECT_EQ(MetricValue(*metrics, true, "websocket"), 1.0);
  EXPECT_EQ(MetricValue(*metrics, false, "sip"), 1.0);

  // The call ends: its final snapshot stays available.
  ASSERT_TRUE(registry.Remove("call-1", 4.0).ok());
  EXPECT_EQ(registry.active(), 1u);
  EXPECT_EQ(registry.Find("call-1"), nullptr);
  got = registry.Get("call-1", 100.0);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ((*got)["state"], "ended");
  EXPECT_EQ((*got)["described_at_s"], 4.0);  // frozen at the end, not re-described
  EXPECT_EQ((*got)["qos"]["totals"]["packets_received"], 99);
  const int describes = call->describes();
  registry.Get("call-1", 200.0);
  EXPECT_EQ(call->describes(), describes);

  EXPECT_EQ(registry.List(5.0, false).size(), 1u);
  nlohmann::json with_ended = registry.List(5.0, true);
  ASSERT_EQ(with_ended.size(), 2u);
  EXPECT_EQ(with_ended[0]["id"], "ws-1");
  EXPECT_EQ(with_ended[1]["id"], "call-1");
  EXPECT_EQ(with_ended[1]["state"], "ended");

  EXPECT_EQ(MetricValue(*metrics, true, "sip"), 0.0);
  EXPECT_EQ(MetricValue(*metrics, false, "sip"), 1.0);
  const std::string text = metrics->RenderText();
  EXPECT_NE(text.find("voxgate_sessions_active{kind=\"websocket\"} 1"), std::string::npos);
  EXPECT_NE(text.find("voxgate_sessions_total{kind=\"sip\"} 1"), std::string::npos);
}

TEST(SessionRegistryTest, RejectsBadAndDuplicateSessions) {
  SessionRegistry registry(std::make_shared<metrics::Registry>());
  EXPECT_EQ(registry.Add(nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Add(std::make_shared<TestSession>("", "sip")).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(registry.Add(std::make_shared<TestSession>("a", "sip")).ok());
  EXPECT_EQ(registry.Add(std::make_shared<TestSession>("a", "sip")).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.Remove("b", 0.0).code(), StatusCode::kNotFound);
  ASSERT_TRUE(registry.Remove("a", 0.0).ok());
  EXPECT_EQ(registry.Remove("a", 0.0).code(), StatusCode::kNotFound);
  EXPECT_EQ(registry.active(), 0u);
}

TEST(SessionRegistryTest, ReusedIdPrefersTheLiveSession) {
  SessionRegistry registry(std::make_shared<metrics::Registry>());
  ASSERT_TRUE(registry.Add(std::make_shared<TestSession>("a", "sip")).ok());
  ASSERT_TRUE(registry.Remove("a", 1.0).ok());
  ASSERT_TRUE(registry.Add(std::make_shared<TestSession>("a", "sip")).ok());
  EXPECT_EQ((*registry.Get("a", 2.0))["state"], "active");
}

TEST(SessionRegistryTest, EndedListIsBoundedToTheMostRecent) {
  SessionRegistry registry(std::make_shared<metrics::Registry>(), 3);
  for (int i = 0; i < 5; ++i) {
    const std::string id = "s" + std::to_string(i);
    ASSERT_TRUE(registry.Add(std::make_shared<TestSession>(id, "sip")).ok());
    ASSERT_TRUE(registry.Remove(id, i).ok());
  }
  nlohmann::json list = registry.List(10.0, true);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["id"], "s4");
  EXPECT_EQ(list[1]["id"], "s3");
  EXPECT_EQ(list[2]["id"], "s2");
  EXPECT_FALSE(registry.Get("s1", 10.0).has_value());
  EXPECT_TRUE(registry.Get("s2", 10.0).has_value());

  SessionRegistry forgetful(std::make_shared<metrics::Registry>(), 0);
  ASSERT_TRUE(forgetful.Add(std::make_shared<TestSession>("x", "sip")).ok());
  ASSERT_TRUE(forgetful.Remove("x", 1.0).ok());
  EXPECT_FALSE(forgetful.Get("x", 1.0).has_value());
}

TEST(SessionRegistryTest, NonObjectDescriptionsAreWrapped) {
  SessionRegistry registry(std::make_shared<metrics::Registry>());
  ASSERT_TRUE(registry.Add(std::make_shared<PlainSession>()).ok());
  nlohmann::json got = *registry.Get("plain", 0.0);
  EXPECT_EQ(got["info"], "ringing");
  EXPECT_EQ(got["id"], "plain");
  EXPECT_EQ(got["state"], "active");
}

TEST(SessionRegistryTest, DescribeMayCallBackIntoTheRegistry) {
  SessionRegistry registry(std::make_shared<metrics::Registry>());
  ASSERT_TRUE(registry.Add(std::make_shared<ReentrantSession>("r", &registry)).ok());
  EXPECT_EQ((*registry.Get("r", 0.0))["peers"], 1);
  EXPECT_EQ(registry.List(0.0, false)[0]["peers"], 1);
  ASSERT_TRUE(registry.Remove("r", 0.0).ok());
  EXPECT_EQ((*registry.Get("r", 0.0))["peers"], 1);  // described before it left
}

TEST(SessionRegistryTest, ConcurrentSessionsComeAndGo) {
  auto metrics = std::make_shared<metrics::Registry>();
  SessionRegistry registry(metrics, 1000);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::atomic<bool> stop{false};
  std::thread lister([&] {
    while (!stop.load()) {
      nlohmann::json list = registry.List(1.0, true);
      for (const auto& s : list) EXPECT_TRUE(s.contains("state"));
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto session = std::make_shared<TestSession>(id, t % 2 == 0 ? "sip" : "websocket");
        EXPECT_TRUE(registry.Add(session).ok());
        session->qos().OnFrame(i * 0.02, 0.02, false, true, 0.001);
        EXPECT_TRUE(registry.Get(id, 1.0).has_value());
        EXPECT_TRUE(registry.Remove(id, 1.0).ok());
      }
    });
  }
  for (auto& w : workers) w.join();
  stop = true;
  lister.join();
  EXPECT_EQ(registry.active(), 0u);
  EXPECT_EQ(registry.List(1.0, true).size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(MetricValue(*metrics, true, "sip"), 0.0);
  EXPECT_EQ(MetricValue(*metrics, false, "sip") + MetricValue(*metrics, false, "websocket"),
            kThreads * kPerThread);
}

}  // namespace
}  // namespace voxgate::analytics
