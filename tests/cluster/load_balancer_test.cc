#include "cluster/load_balancer.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

namespace voxgate::cluster {
namespace {

NodeInfo Node(const std::string& id, int weight = 1) {
  NodeInfo n;
  n.node_id = id;
  n.host = "127.0.0.1";
  n.port = 9000;
  n.weight = weight;
  return n;
}

std::string PickId(LoadBalancer& lb, const std::vector<std::string>& exclude = {}) {
  auto n = lb.Pick(exclude);
  return n ? n->node_id : "-";
}

std::string Sequence(LoadBalancer& lb, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    auto picked = lb.Pick();
    out += picked ? picked->node_id : "-";
    if (picked) lb.Finish(picked->node_id, true, 0.001);
  }
  return out;
}

TEST(StrategyTest, NamesRoundTrip) {
  for (auto s : {Strategy::kRoundRobin, Strategy::kRandom, Strategy::kLeastConnections,
                 Strategy::kWeightedRoundRobin, Strategy::kLeastResponseTime}) {
    auto parsed = ParseStrategy(StrategyName(s));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_FALSE(ParseStrategy("fastest").ok());
  EXPECT_FALSE(ParseStrategy("").ok());
}

TEST(LoadBalancerTest, RoundRobinVisitsNodesInTurn) {
  LoadBalancer lb(Strategy::kRoundRobin);
  lb.SetNodes({Node("a"), Node("b"), Node("c")});
  EXPECT_EQ(Sequence(lb, 9), "abcabcabc");
}

TEST(LoadBalancerTest, RoundRobinSkipsUnhealthyAndExcludedNodes) {
  LoadBalancer lb(Strategy::kRoundRobin);
  lb.SetNodes({Node("a"), Node("b"), Node("c")});
  ASSERT_TRUE(lb.SetHealthy("b", false));
  EXPECT_EQ(Sequence(lb, 6), "acacac");
  EXPECT_EQ(lb.healthy_count(), 2u);
  // A retry that already tried "a" gets "c", whatever the cursor.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(PickId(lb, {"a"}), "c");
  EXPECT_EQ(PickId(lb, {"a", "c"}), "-");
  ASSERT_TRUE(lb.SetHealthy("b", true));
  std::map<std::string, int> seen;
  for (int i = 0; i < 3; ++i) ++seen[PickId(lb)];
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_FALSE(lb.SetHealthy("zz", true));
}

TEST(LoadBalancerTest, NoNodesOrAllUnhealthyGivesNothing) {
  LoadBalancer lb(Strategy::kLeastConnections);
  EXPECT_FALSE(lb.Pick().has_value());
  lb.SetNodes({Node("a")});
  lb.SetHealthy("a", false);
  EXPECT_FALSE(lb.Pick().has_value());
}

TEST(LoadBalancerTest, SmoothWeightedRoundRobinMatchesNginx) {
  LoadBalancer lb(Strategy::kWeightedRoundRobin);
  lb.SetNodes({Node("a", 5), Node("b", 1), Node("c", 1)});
  // nginx's documented sequence for weights 5, 1, 1.
  EXPECT_EQ(Sequence(lb, 7), "aabacaa");
  EXPECT_EQ(Sequence(lb, 7), "aabacaa");
}

TEST(LoadBalancerTest, WeightedRoundRobinSharesByWeight) {
  LoadBalancer lb(Strategy::kWeightedRoundRobin);
  lb.SetNodes({Node("a", 3), Node("b", 2), Node("c", 1)});
  EXPECT_EQ(Sequence(lb, 6), "abacba");
  std::map<char, int> counts;
  for (char c : Sequence(lb, 600)) ++counts[c];
  EXPECT_EQ(counts['a'], 300);
  EXPECT_EQ(counts['b'], 200);
  EXPECT_EQ(counts['c'], 100);
}

TEST(LoadBalancerTest, RandomIsRoughlyUniform) {
  LoadBalancer lb(Strategy::kRandom, /*seed=*/42);
  lb.SetNodes({Node("a"), Node("b"), Node("c"), Node("d")});
  std::map<char, int> counts;
  const int n = 8000;
  for (char c : Sequence(lb, n)) ++counts[c];
  ASSERT_EQ(counts.size(), 4u);
  for (auto [id, count] : counts) {
    // Expected 2000 each; 5 standard deviations (sqrt(8000*0.25*0.75) ~ 39) is ~200.
    EXPECT_NEAR(count, n / 4, 200) << id;
  }
}

TEST(LoadBalancerTest, LeastConnectionsAvoidsBusyNodes) {
  LoadBalancer lb(Strategy::kLeastConnections);
  lb.SetNodes({Node("a"), Node("b"), Node("c")});
  // Three requests in flight spread over the three nodes.
  std::map<std::string, int> first;
  for (int i = 0; i < 3; ++i) ++first[PickId(lb)];
  EXPECT_EQ(first, (std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}}));
  // "a" and "b" finish; "c" still busy -> the next two go to a and b, not c.
  lb.Finish("a", true, 0.01);
  lb.Finish("b", true, 0.01);
  std::map<std::string, int> next;
  for (int i = 0; i < 2; ++i) ++next[PickId(lb)];
  EXPECT_EQ(next, (std::map<std::string, int>{{"a", 1}, {"b", 1}}));
  // Load "a" with many in-flight requests: the following picks avoid it.
  for (int i = 0; i < 5; ++i) lb.Finish("a", true, 0.01);  // never below zero
  for (auto& n : lb.Snapshot()) {
    if (n.node_id == "a") EXPECT_EQ(n.active_connections, 0);
  }
  // In flight now: a=0, b=1, c=1 -> the idle node.
  EXPECT_EQ(PickId(lb), "a");
}

TEST(LoadBalancerTest, LeastConnectionsTiesShareTheLoadEvenly) {
  LoadBalancer lb(Strategy::kLeastConnections);
  lb.SetNodes({Node("a"), Node("b"), Node("c")});
  EXPECT_EQ(PickId(lb), "a");  // held: "a" stays busy
  // b and c tie at zero in flight: they alternate, whatever the cursor skipped over.
  const std::string seq = Sequence(lb, 12);
  EXPECT_TRUE(seq == "bcbcbcbcbcbc" || seq == "cbcbcbcbcbcb") << seq;
}

TEST(LoadBalancerTest, CountersAreTheBalancersOwnNotTheNodesReport) {
  LoadBalancer lb(Strategy::kLeastConnections);
  NodeInfo busy = Node("a");
  busy.active_connections = 7;  // as a node's registry entry reports its own open connections
  busy.total_requests = 1000;
  busy.avg_response_time = 0.5;
  lb.SetNodes({busy, Node("b")});
  for (const auto& n : lb.Snapshot()) {
    EXPECT_EQ(n.active_connections, 0) << n.node_id;
    EXPECT_EQ(n.total_requests, 0) << n.node_id;
    EXPECT_EQ(n.avg_response_time, 0.0) << n.node_id;
  }
  EXPECT_EQ(PickId(lb), "a");  // both idle as far as this balancer knows: in turn from the first
}

TEST(LoadBalancerTest, LeastResponseTimePrefersTheFastNode) {
  LoadBalancer lb(Strategy::kLeastResponseTime);
  lb.SetNodes({Node("fast"), Node("slow")});
  // Both get measured first (unmeasured nodes count as 0 s).
  for (int i = 0; i < 2; ++i) {
    auto n = lb.Pick();
    ASSERT_TRUE(n);
    lb.Finish(n->node_id, true, n->node_id == "fast" ? 0.010 : 0.100);
  }
  std::map<std::string, int> counts;
  for (int i = 0; i < 100; ++i) {
    auto n = lb.Pick();
    ASSERT_TRUE(n);
    ++counts[n->node_id];
    lb.Finish(n->node_id, true, n->node_id == "fast" ? 0.010 : 0.100);
  }
  EXPECT_EQ(counts["fast"], 100);
  // Under load the fast node's score grows with its in-flight requests (10 ms x (k + 1)): with 9
  // requests in flight there it scores 100 ms, with 10 it is worse than the idle slow node.
  std::map<std::string, int> loaded;
  for (int i = 0; i < 12; ++i) ++loaded[PickId(lb)];
  EXPECT_GE(loaded["slow"], 1);
  EXPECT_GT(loaded["fast"], loaded["slow"]);
}

TEST(LoadBalancerTest, EwmaFollowsTheLatestResponseTimes) {
  LoadBalancer lb(Strategy::kLeastResponseTime);
  lb.SetNodes({Node("a"), Node("b")});
  // a was fast and becomes slow; b is steady at 50 ms. After a few slow answers a loses.
  lb.Pick();
  lb.Pick();
  lb.Finish("a", true, 0.010);
  lb.Finish("b", true, 0.050);
  EXPECT_EQ(PickId(lb), "a");
  lb.Finish("a", true, 0.200);  // ewma(a) = 0.3*0.2 + 0.7*0.01 = 0.067 > 0.05
  EXPECT_EQ(PickId(lb), "b");
  lb.Finish("b", true, 0.050);
}

TEST(LoadBalancerTest, CountersAndMergeOnRefresh) {
  LoadBalancer lb(Strategy::kRoundRobin);
  lb.SetNodes({Node("a"), Node("b")});
  auto n = lb.Pick();
  lb.Finish(n->node_id, false, 0.5);
  lb.SetHealthy("b", false);
  // A refresh with new ports and weights keeps the counters and the health verdict.
  NodeInfo a = Node("a", 3), b = Node("b", 2), c = Node("c");
  a.port = 9100;
  lb.SetNodes({a, b, c});
  auto snap = lb.Snapshot();
  ASSERT_EQ(snap.size(), 3u);
  EXPECT_EQ(snap[0].node_id, "a");
  EXPECT_EQ(snap[0].port, 9100);
  EXPECT_EQ(snap[0].weight, 3);
  EXPECT_EQ(snap[0].total_requests, 1);
  EXPECT_EQ(snap[0].error_count, 1);
  EXPECT_DOUBLE_EQ(snap[0].avg_response_time, 0.5);
  EXPECT_FALSE(snap[1].is_healthy);
  EXPECT_TRUE(snap[2].is_healthy);
  // A node left out of a refresh is gone.
  lb.SetNodes({c});
  EXPECT_EQ(lb.Snapshot().size(), 1u);
  lb.Finish("a", true, 0.1);  // unknown now: ignored
}

TEST(LoadBalancerTest, ConcurrentPicksKeepCountsExact) {
  LoadBalancer lb(Strategy::kLeastConnections);
  lb.SetNodes({Node("a"), Node("b"), Node("c")});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        auto n = lb.Pick();
        if (n) lb.Finish(n->node_id, true, 0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  int64_t total = 0;
  for (const auto& n : lb.Snapshot()) {
    EXPECT_EQ(n.active_connections, 0);
    total += n.total_requests;
  }
  EXPECT_EQ(total, 4000);
}

}  // namespace
}  // namespace voxgate::cluster
