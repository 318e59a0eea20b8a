#include "cluster/load_balancer.h"

#include <algorithm>
#include <limits>

namespace voxgate::cluster {

namespace {

constexpr Strategy kAll[] = {Strategy::kRoundRobin, Strategy::kRandom, Strategy::kLeastConnections,
                             Strategy::kWeightedRoundRobin, Strategy::kLeastResponseTime};

}  // namespace

std::string_view StrategyName(Strategy strategy) {
  switch (strategy) {
    case Strategy::kRoundRobin:
      return "round_robin";
    case Strategy::kRandom:
      return "random";
    case Strategy::kLeastConnections:
      return "least_connections";
    case Strategy::kWeightedRoundRobin:
      return "weighted_round_robin";
    case Strategy::kLeastResponseTime:
      return "least_response_time";
  }
  return "round_robin";
}

Result<Strategy> ParseStrategy(std::string_view name) {
  for (Strategy s : kAll) {
    if (StrategyName(s) == name) return s;
  }
  return InvalidArgumentError(
      "strategy must be round_robin, random, least_connections, weighted_round_robin or "
      "least_response_time, not '" +
      std::string(name) + "'");
}

LoadBalancer::LoadBalancer(Strategy strategy, uint64_t seed)
    : strategy_(strategy), rng_(seed != 0 ? seed : std::random_device{}()) {}

LoadBalancer::Entry* LoadBalancer::Find(std::string_view node_id) {
  for (auto& e : entries_) {
    if (e.info.node_id == node_id) return &e;
  }
  return nullptr;
}

void LoadBalancer::Merge(const NodeInfo& node, Entry* e) {
  e->info.host = node.host;
  e->info.port = node.port;
  e->info.weight = std::max(1, node.weight);
  e->info.metadata = node.metadata;
  e->info.last_health_check_ms = std::max(e->info.last_health_check_ms, node.last_health_check_ms);
}

LoadBalancer::Entry LoadBalancer::NewEntry(const NodeInfo& node) {
  Entry e;
  e.info = node;
  e.info.weight = std::max(1, node.weight);
  // The counters are this balancer's own: what a node reports about itself in the registry (its
  // open connections include other gateways' and the health checks') must not skew the strategies.
  e.info.active_connections = 0;
  e.info.total_requests = 0;
  e.info.error_count = 0;
  e.info.avg_response_time = 0.0;
  return e;
}

void LoadBalancer::SetNodes(const std::vector<NodeInfo>& nodes) {
  std::lock_guard lock(mu_);
  std::vector<Entry> next;
  next.reserve(nodes.size());
  for (const auto& n : nodes) {
    if (Entry* old = Find(n.node_id)) {
      next.push_back(*old);
      Merge(n, &next.back());
    } else {
      next.push_back(NewEntry(n));
    }
  }
  entries_ = std::move(next);
}

void LoadBalancer::Upsert(const NodeInfo& node) {
  std::lock_guard lock(mu_);
  if (Entry* old = Find(node.node_id)) {
    Merge(node, old);
    return;
  }
  entries_.push_back(NewEntry(node));
}

bool LoadBalancer::SetHealthy(std::string_view node_id, bool healthy, int64_t checked_at_ms) {
  std::lock_guard lock(mu_);
  Entry* e = Find(node_id);
  if (!e) return false;
  if (healthy && !e->info.is_healthy) e->current_weight = 0;  // rejoin WRR without a backlog
  e->info.is_healthy = healthy;
  if (checked_at_ms > 0) e->info.last_health_check_ms = checked_at_ms;
  return true;
}

void LoadBalancer::RecordCheck(std::string_view node_id, int64_t checked_at_ms) {
  std::lock_guard lock(mu_);
  if (Entry* e = Find(node_id)) e->info.last_health_check_ms = checked_at_ms;
}

std::optional<NodeInfo> LoadBalancer::Pick(const std::vector<std::string>& exclude) {
  std::lock_guard lock(mu_);
  std::vector<size_t> candidates;
  candidates.reserve(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (!e.info.is_healthy) continue;
    if (std::find(exclude.begin(), exclude.end(), e.info.node_id) != exclude.end()) continue;
    candidates.push_back(i);
  }
  if (candidates.empty()) return std::nullopt;
  const size_t n = candidates.size();
  size_t chosen = candidates[0];

  // Ties in the "least" strategies take turns among the tied nodes only, so equal nodes share
  // the load evenly even while another node is out of the running.
  auto least = [&](auto score) {
    double best = std::numeric_limits<double>::infinity();
    size_t tied = 0;
    for (size_t i : candidates) {
      const double s = score(entries_[i]);
      if (s < best) {
        best = s;
        tied = 1;
      } else if (s == best) {
        ++tied;
      }
    }
    size_t turn = cursor_++ % tied;
    for (size_t i : candidates) {
      if (score(entries_[i]) == best && turn-- == 0) {
        chosen = i;
        break;
      }
    }
  };

  switch (strategy_) {
    case Strategy::kRoundRobin:
      chosen = candidates[cursor_++ % n];
      break;
    case Strategy::kRandom:
      chosen = candidates[std::uniform_int_distribution<size_t>(0, n - 1)(rng_)];
      break;
    case Strategy::kLeastConnections:
      least([](const Entry& e) { return static_cast<double>(e.info.active_connections); });
      break;
    case Strategy::kLeastResponseTime:
      least([](const Entry& e) {
        return e.ewma_s * static_cast<double>(e.info.active_connections + 1) +
               // Among unmeasured nodes (EWMA 0), prefer the idle one.
               1e-9 * static_cast<double>(e.info.active_connections);
      });
      break;
    case Strategy::kWeightedRoundRobin: {
      // nginx's smooth weighted round robin: every candidate gains its weight, the richest wins
      // and pays the total back.
      int64_t total = 0;
      int64_t best = std::numeric_limits<int64_t>::min();
      for (size_t i : candidates) {
        Entry& e = entries_[i];
        e.current_weight += e.info.weight;
        total += e.info.weight;
        if (e.current_weight > best) {
          best = e.current_weight;
          chosen = i;
        }
      }
      entries_[chosen].current_weight -= total;
      break;
    }
  }
  Entry& e = entries_[chosen];
  ++e.info.active_connections;
  ++e.info.total_requests;
  return e.info;
}

void LoadBalancer::Finish(std::string_view node_id, bool ok, double seconds) {
  std::lock_guard lock(mu_);
  Entry* e = Find(node_id);
  if (!e) return;  // removed meanwhile
  if (e->info.active_connections > 0) --e->info.active_connections;
  if (!ok) ++e->info.error_count;
  if (seconds >= 0) {
    e->ewma_s = e->has_ewma ? kEwmaAlpha * seconds + (1 - kEwmaAlpha) * e->ewma_s : seconds;
    e->has_ewma = true;
    e->total_time_s += seconds;
    ++e->timed_requests;
    e->info.avg_response_time = e->total_time_s / static_cast<double>(e->timed_requests);
  }
}

std::vector<NodeInfo> LoadBalancer::Snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<NodeInfo> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.push_back(e.info);
  return out;
}

size_t LoadBalancer::healthy_count() const {
  std::lock_guard lock(mu_);
  return static_cast<size_t>(std::count_if(entries_.begin(), entries_.end(),
                                           [](const Entry& e) { return e.info.is_healthy; }));
}

}  // namespace voxgate::cluster
