#include "cluster/health_checker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "cluster/test_backend.h"

namespace voxgate::cluster {
namespace {

using namespace std::chrono_literals;
using testing::TestBackend;

NodeInfo NodeFor(const TestBackend& b) {
  NodeInfo n;
  n.node_id = b.name();
  n.host = "127.0.0.1";
  n.port = b.port();
  return n;
}

bool Healthy(LoadBalancer& lb, const std::string& id) {
  for (const auto& n : lb.Snapshot()) {
    if (n.node_id == id) return n.is_healthy;
  }
  return false;
}

// Waits (generously: this is about behaviour, not speed) until `done` or 10 s.
bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

HealthCheckConfig FastChecks() {
  HealthCheckConfig c;
  c.interval_ms = 50;
  c.timeout_ms = 200;
  c.failures_to_eject = 2;
  c.errors_to_eject = 3;
  c.successes_to_readmit = 2;
  return c;
}

TEST(HealthCheckConfigTest, Validates) {
  EXPECT_TRUE(HealthCheckConfig().Validate().ok());
  HealthCheckConfig c;
  c.path = "health";
  EXPECT_FALSE(c.Validate().ok());
  c = HealthCheckConfig();
  c.successes_to_readmit = 0;
  EXPECT_FALSE(c.Validate().ok());
  c = HealthCheckConfig();
  c.interval_ms = 0;
  EXPECT_FALSE(c.Validate().ok());
}

TEST(HealthCheckerTest, EjectsADeadNodeAndReadmitsItWhenItComesBack) {
  TestBackend a("a"), b("b");
  ASSERT_TRUE(a.Start());
  ASSERT_TRUE(b.Start());
  auto lb = std::make_shared<LoadBalancer>(Strategy::kRoundRobin);
  lb->SetNodes({NodeFor(a), NodeFor(b)});
  HealthChecker checker(FastChecks(), lb);
  ASSERT_TRUE(checker.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return a.health_checks() >= 3 && b.health_checks() >= 3; }));
  EXPECT_TRUE(Healthy(*lb, "a"));
  EXPECT_TRUE(Healthy(*lb, "b"));
  for (const auto& n : lb->Snapshot()) EXPECT_GT(n.last_health_check_ms, 0);

  b.Stop();  // connection refused from now on
  ASSERT_TRUE(WaitFor([&] { return !Healthy(*lb, "b"); }));
  EXPECT_TRUE(Healthy(*lb, "a"));
  for (int i = 0; i < 10; ++i) {
    auto n = lb->Pick();
    ASSERT_TRUE(n);
    EXPECT_EQ(n->node_id, "a");
    lb->Finish(n->node_id, true, 0.001);
  }

  ASSERT_TRUE(b.Start(b.port()));
  ASSERT_TRUE(WaitFor([&] { return Healthy(*lb, "b"); }));
  checker.Stop();
}

TEST(HealthCheckerTest, UnhealthyStatusEjectsAndReadmissionNeedsConsecutiveGoodChecks) {
  TestBackend a("a");
  ASSERT_TRUE(a.Start());
  auto lb = std::make_shared<LoadBalancer>(Strategy::kRoundRobin);
  lb->SetNodes({NodeFor(a)});
  HealthCheckConfig config = FastChecks();
  config.successes_to_readmit = 4;
  HealthChecker checker(config, lb);
  a.set_health_status(503);
  ASSERT_TRUE(checker.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return !Healthy(*lb, "a"); }));
  a.set_health_status(200);
  const int checks_before = a.health_checks();
  ASSERT_TRUE(WaitFor([&] { return Healthy(*lb, "a"); }));
  // It took at least successes_to_readmit good checks (the first may have raced the switch).
  EXPECT_GE(a.health_checks() - checks_before, config.successes_to_readmit);
}

TEST(HealthCheckerTest, PassiveErrorsEjectWithoutWaitingForAChecks) {
  TestBackend a("a");
  ASSERT_TRUE(a.Start());
  auto lb = std::make_shared<LoadBalancer>(Strategy::kRoundRobin);
  lb->SetNodes({NodeFor(a)});
  HealthCheckConfig config = FastChecks();
  config.interval_ms = 60000;  // only the first round runs during this test
  HealthChecker checker(config, lb);
  // Not started: passive reports alone decide.
  checker.ReportResult("a", false);
  checker.ReportResult("a", false);
  checker.ReportResult("a", true);  // a success resets the run
  checker.ReportResult("a", false);
  checker.ReportResult("a", false);
  EXPECT_TRUE(Healthy(*lb, "a"));
  checker.ReportResult("a", false);
  EXPECT_FALSE(Healthy(*lb, "a"));
  // Active checks bring it back (the node is fine).
  ASSERT_TRUE(checker.Start().ok());
  HealthCheckConfig readmit = FastChecks();
  HealthChecker fast(readmit, lb);
  ASSERT_TRUE(fast.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return Healthy(*lb, "a"); }));
  checker.ReportResult("zz", false);  // unknown node: harmless
}

}  // namespace
}  // namespace voxgate::cluster
