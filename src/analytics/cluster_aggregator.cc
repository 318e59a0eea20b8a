#include "analytics/cluster_aggregator.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>

namespace voxgate::analytics {

Status ClusterAggregatorConfig::Validate() const {
  if (!(window_s >= 1.0 && window_s <= 86400.0)) {
    return InvalidArgumentError("events.aggregator.window_s must be in [1, 86400]");
  }
  if (buckets < 1 || buckets > 10000) {
    return InvalidArgumentError("events.aggregator.buckets must be in [1, 10000]");
  }
  if (!(node_timeout_s > 0.0 && std::isfinite(node_timeout_s))) {
    return InvalidArgumentError("events.aggregator.node_timeout_s must be > 0");
  }
  if (batch_size < 1 || batch_size > 10000) {
    return InvalidArgumentError("events.aggregator.batch_size must be in [1, 10000]");
  }
  if (claim_idle_ms < 1 || claim_interval_ms < 1) {
    return InvalidArgumentError(
        "events.aggregator claim_idle_ms and claim_interval_ms must be > 0");
  }
  return Status::Ok();
}

std::string ClusterAggregatorConfig::ToString() const {
  return fmt::format(
      "{{window_s={}, buckets={}, node_timeout_s={}, consumer={}, batch_size={}, "
      "claim_idle_ms={}, claim_interval_ms={}}}",
      window_s, buckets, node_timeout_s, consumer.empty() ? "<node_id>" : consumer, batch_size,
      claim_idle_ms, claim_interval_ms);
}

Status ClusterAggregatorConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("window_s", &window_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("buckets", &buckets));
  VOXGATE_RETURN_IF_ERROR(node.Get("node_timeout_s", &node_timeout_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("consumer", &consumer));
  VOXGATE_RETURN_IF_ERROR(node.Get("batch_size", &batch_size));
  VOXGATE_RETURN_IF_ERROR(node.Get("claim_idle_ms", &claim_idle_ms));
  return node.Get("claim_interval_ms", &claim_interval_ms);
}

namespace {

SlidingWindowConfig WindowConfig(const ClusterAggregatorConfig& c) {
  SlidingWindowConfig w;
  w.window_s = c.window_s;
  w.buckets = c.buckets;
  return w;
}

// The MOS of a session.qos event: that of its shortest window (the most recent picture), else
// of its totals; NaN when it has none in MOS range.
double QosMos(const nlohmann::json& data) {
  auto mos_of = [](const nlohmann::json& summary) {
    if (!summary.is_object()) return std::numeric_limits<double>::quiet_NaN();
    auto it = summary.find("mos");
    if (it == summary.end() || !it->is_number()) return std::numeric_limits<double>::quiet_NaN();
    const double mos = it->get<double>();
    return mos >= 1.0 && mos <= 5.0 ? mos : std::numeric_limits<double>::quiet_NaN();
  };
  double best_window = std::numeric_limits<double>::infinity();
  double mos = std::numeric_limits<double>::quiet_NaN();
  if (auto w = data.find("windows"); w != data.end() && w->is_object()) {
    for (const auto& [key, summary] : w->items()) {
      double span = 0.0;  // keys are "<seconds>s"
      auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), span);
      if (ec != std::errc() || !(span > 0.0) || span >= best_window) continue;
      const double m = mos_of(summary);
      if (std::isnan(m)) continue;
      best_window = span;
      mos = m;
    }
  }
  if (std::isnan(mos)) {
    if (auto t = data.find("totals"); t != data.end()) mos = mos_of(*t);
  }
  return mos;
}

nlohmann::json NumOrNull(double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; }

}  // namespace

ClusterAggregator::ClusterAggregator(const ClusterAggregatorConfig& config)
    : config_(config),
      events_(WindowConfig(config)),
      sessions_(WindowConfig(config)),
      enrollments_(WindowConfig(config)),
      mos_(WindowConfig(config)),
      decisions_(kNumOutcomes, SlidingWindow(WindowConfig(config))) {}

Result<std::unique_ptr<ClusterAggregator>> ClusterAggregator::Start(
    const ClusterAggregatorConfig& config, const RedisEventBusConfig& bus,
    const RedisClientOptions& redis, std::shared_ptr<metrics::Registry> registry) {
  VOXGATE_RETURN_IF_ERROR(config.Validate().WithContext("events.aggregator"));
  VOXGATE_RETURN_IF_ERROR(bus.Validate().WithContext("events"));
  RedisClientOptions options = redis;
  options.pool_size = 1;  // one consumer, one connection, held by the blocking read
  options.command_timeout_ms = std::max(options.command_timeout_ms, bus.block_ms + 1000);
  VOXGATE_ASSIGN_OR_RETURN(std::unique_ptr<RedisClient> client, RedisClient::Create(options));
  std::unique_ptr<ClusterAggregator> a(new ClusterAggregator(config));
  a->bus_ = bus;
  a->client_ = std::move(client);
  a->registry_ = std::move(registry);
  metrics::Registry& r = a->registry_ ? *a->registry_ : metrics::Registry::Default();
  a->consumed_metric_ = &r.GetCounter("voxgate_events_aggregated_total",
                                      "Stream entries consumed by this node's cluster aggregator");
  a->thread_ = std::thread([p = a.get()] { p->ConsumeLoop(); });
  return a;
}

ClusterAggregator::~ClusterAggregator() { Stop(); }

void ClusterAggregator::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ClusterAggregator::SleepUnlessStopped(int ms) {
  std::unique_lock lock(stop_mu_);
  stop_cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_; });
  return !stopping_;
}

void ClusterAggregator::Observe(const std::string& node_id, const Event& event) {
  const int64_t time_ms = event.time_ms > 0 ? event.time_ms : Event::NowMs();
  const double t = static_cast<double>(time_ms) / 1000.0;
  double mos = std::numeric_limits<double>::quiet_NaN();
  size_t outcome = kNumOutcomes;
  if (event.type == "session.qos") {
    mos = QosMos(event.data);
  } else if (event.type == "session.decision") {
    std::string decision;
    if (auto it = event.data.find("decision"); it != event.data.end() && it->is_string()) {
      decision = it->get<std::string>();
    }
    outcome = kNumOutcomes - 1;  // "other"
    for (size_t i = 0; i + 1 < kNumOutcomes; ++i) {
      if (decision == kOutcomes[i]) outcome = i;
    }
  }
  std::lock_guard lock(mu_);
  events_.Add(t, 1.0);
  if (!node_id.empty()) {
    NodeState& n = nodes_[node_id];
    n.last_event_ms = std::max(n.last_event_ms, time_ms);
    ++n.events;
  }
  if (event.type == "session.started") sessions_.Add(t, 1.0);
  if (event.type == "session.enrolled" || event.type == "voiceprint.enrolled") {
    enrollments_.Add(t, 1.0);
  }
  if (outcome < kNumOutcomes) decisions_[outcome].Add(t, 1.0);
  if (!std::isnan(mos)) mos_.Add(t, mos);
}

nlohmann::json ClusterAggregator::Snapshot() const { return Snapshot(Event::NowMs()); }

nlohmann::json ClusterAggregator::Snapshot(int64_t now_ms) const {
  const double now_s = static_cast<double>(now_ms) / 1000.0;
  const double minutes = config_.window_s / 60.0;
  std::lock_guard lock(mu_);
  nlohmann::json decisions = nlohmann::json::object();
  uint64_t counts[kNumOutcomes];
  for (size_t i = 0; i < kNumOutcomes; ++i) {
    counts[i] = decisions_[i].Get(now_s).count;
    decisions[kOutcomes[i]] = counts[i];
  }
  const uint64_t verifications = counts[0] + counts[1];
  const uint64_t identifications = counts[2] + counts[3];
  const WindowStats mos = mos_.Get(now_s);
  nlohmann::json nodes = nlohmann::json::object();
  int active = 0;
  const auto timeout_ms = static_cast<int64_t>(config_.node_timeout_s * 1000.0);
  for (const auto& [id, n] : nodes_) {
    const bool is_active = now_ms - n.last_event_ms <= timeout_ms;
    active += is_active ? 1 : 0;
    nodes[id] = {{"last_event_ms", n.last_event_ms}, {"events", n.events}, {"active", is_active}};
  }
  return {
      {"window_s", config_.window_s},
      {"time_ms", now_ms},
      {"events", events_.Get(now_s).count},
      {"sessions_started", sessions_.Get(now_s).count},
      {"decisions", std::move(decisions)},
      {"verifications", verifications},
      {"verifications_per_min", static_cast<double>(verifications) / minutes},
      {"reject_rate", verifications > 0 ? nlohmann::json(static_cast<double>(counts[1]) /
                                                         static_cast<double>(verifications))
                                        : nlohmann::json(nullptr)},
      {"identifications", identifications},
      {"identifications_per_min", static_cast<double>(identifications) / minutes},
      {"enrollments", enrollments_.Get(now_s).count},
      {"mos",
       {{"mean", mos.count > 0 ? NumOrNull(mos.mean) : nullptr},
        {"min", mos.count > 0 ? NumOrNull(mos.min) : nullptr},
        {"max", mos.count > 0 ? NumOrNull(mos.max) : nullptr},
        {"samples", mos.count}}},
      {"active_nodes", active},
      {"nodes", std::move(nodes)},
      {"consumed", consumed_.load()},
      {"claimed", claimed_.load()},
  };
}

Result<size_t> ClusterAggregator::Consume(const RedisReply& entries, bool claimed) {
  std::vector<std::string> skipped;
  std::vector<StreamEvent> events = RedisStreamsEventBus::ParseEntries(entries, &skipped);
  if (events.empty() && skipped.empty()) return size_t{0};
  std::vector<std::string> ack = {"XACK", bus_.stream_key, bus_.group};
  for (const StreamEvent& e : events) {
    Observe(e.node_id, e.event);
    ack.push_back(e.id);
  }
  // Malformed or deleted entries are acknowledged too, or they would stay pending for ever.
  ack.insert(ack.end(), skipped.begin(), skipped.end());
  // If this fails the entries stay pending: re-read at restart or claimed by another aggregator.
  VOXGATE_RETURN_IF_ERROR(client_->Command(ack).status());
  consumed_.fetch_add(events.size());
  if (claimed) claimed_.fetch_add(events.size());
  consumed_metric_->Increment(static_cast<double>(events.size()));
  return events.size() + skipped.size();
}

void ClusterAggregator::ConsumeLoop() {
  const std::string consumer = config_.consumer.empty() ? bus_.node_id : config_.consumer;
  const std::string count = std::to_string(config_.batch_size);
  const std::string block = std::to_string(bus_.block_ms);
  const std::string min_idle = std::to_string(config_.claim_idle_ms);
  bool group_ready = false;
  bool pending_done = false;  // own entries left pending by an earlier run were re-read
  int backoff_ms = bus_.backoff_min_ms;
  auto next_claim = std::chrono::steady_clock::now();
  bool outage_logged = false;
  for (;;) {
    {
      std::lock_guard lock(stop_mu_);
      if (stopping_) return;
    }
    Status error;
    if (!group_ready) {
      // From "0": a new group starts with what the stream still holds (the recent past).
      auto r = client_->Command({"XGROUP", "CREATE", bus_.stream_key, bus_.group, "0", "MKSTREAM"});
      if (r.ok() || r.status().message().find("BUSYGROUP") != std::string::npos) {
        group_ready = true;
        pending_done = false;
        continue;
      }
      error = r.status();
    } else if (std::chrono::steady_clock::now() >= next_claim) {
      // Entries another consumer took and never acknowledged (it died or hangs).
      std::string cursor = "0-0";
      for (int page = 0; page < 100; ++page) {
        auto r = client_->Command({"XAUTOCLAIM", bus_.stream_key, bus_.group, consumer, min_idle,
                                   cursor, "COUNT", count});
        if (!r.ok()) {
          error = r.status();
          break;
        }
        if (!r->is_array() || r->elements.size() < 2 || !r->elements[0].is_string()) break;
        auto n = Consume(r->elements[1], /*claimed=*/true);
        if (!n.ok()) {
          error = n.status();
          break;
        }
        cursor = r->elements[0].str;
        if (cursor == "0-0") break;
      }
      if (error.ok()) {
        next_claim =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.claim_interval_ms);
        continue;
      }
    } else {
      // First this consumer's own pending entries (id 0), then new ones (">").
      auto r =
          client_->Command({"XREADGROUP", "GROUP", bus_.group, consumer, "COUNT", count, "BLOCK",
                            block, "STREAMS", bus_.stream_key, pending_done ? ">" : "0"});
      if (r.ok()) {
        auto n = Consume(*r, /*claimed=*/false);
        if (n.ok()) {
          if (!pending_done && *n == 0) pending_done = true;
          if (outage_logged) spdlog::info("events: aggregator reading {} again", bus_.stream_key);
          outage_logged = false;
          backoff_ms = bus_.backoff_min_ms;
          continue;
        }
        error = n.status();
      } else {
        error = r.status();
      }
    }
    // The stream or group vanished (Redis restarted empty, or someone deleted it): recreate.
    if (error.message().find("NOGROUP") != std::string::npos) group_ready = false;
    if (!outage_logged) {
      spdlog::warn("events: aggregator cannot read {}: {}", bus_.stream_key, error.ToString());
      outage_logged = true;
    }
    if (!SleepUnlessStopped(backoff_ms)) return;
    backoff_ms = std::min(backoff_ms * 2, bus_.backoff_max_ms);
  }
}

}  // namespace voxgate::analytics
