#include "cluster/node_registry.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace voxgate::cluster {

using json = nlohmann::json;

NodeRegistry::NodeRegistry(std::shared_ptr<RedisClient> redis, std::string key_prefix)
    : redis_(std::move(redis)), prefix_(std::move(key_prefix)) {}

NodeRegistry::~NodeRegistry() { StopHeartbeat(/*deregister=*/false); }

std::string NodeRegistry::NodeKey(const std::string& node_id) const {
  return prefix_ + "cluster:node:" + node_id;
}

void NodeRegistry::Publish(const char* event, const std::string& node_id) {
  const std::string message =
      json{{"event", event}, {"node_id", node_id}, {"at", UnixNowMs()}}.dump();
  // Best effort: membership itself lives in the keys, the message only speeds things up.
  auto r = redis_->Command({"PUBLISH", EventsChannel(), message});
  if (!r.ok())
    spdlog::debug("cluster: publishing {} of {} failed: {}", event, node_id, r.status().ToString());
}

Status NodeRegistry::Register(const NodeInfo& node, int ttl_ms) {
  VOXGATE_RETURN_IF_ERROR(node.Validate());
  if (ttl_ms < 0) return InvalidArgumentError("ttl_ms must be >= 0");
  const std::string key = NodeKey(node.node_id);
  std::vector<std::string> hset = {"HSET",
                                   key,
                                   "node_id",
                                   node.node_id,
                                   "host",
                                   node.host,
                                   "port",
                                   std::to_string(node.port),
                                   "weight",
                                   std::to_string(node.weight),
                                   "is_healthy",
                                   node.is_healthy ? "1" : "0",
                                   "active_connections",
                                   std::to_string(node.active_connections),
                                   "total_requests",
                                   std::to_string(node.total_requests),
                                   "error_count",
                                   std::to_string(node.error_count),
                                   "avg_response_time",
                                   fmt::format("{}", node.avg_response_time),
                                   "last_health_check_ms",
                                   std::to_string(node.last_health_check_ms),
                                   "metadata",
                                   (node.metadata.is_object() ? node.metadata : json::object())
                                       .dump(-1, ' ', false, json::error_handler_t::replace)};
  std::vector<std::string> expire =
      ttl_ms > 0 ? std::vector<std::string>{"PEXPIRE", key, std::to_string(ttl_ms)}
                 : std::vector<std::string>{"PERSIST", key};
  VOXGATE_ASSIGN_OR_RETURN(auto replies,
                           redis_->Transaction({hset, expire, {"SADD", SetKey(), node.node_id}}));
  if (replies.empty() || replies[0].is_error()) {
    return InternalError("registering node " + node.node_id + ": " +
                         (replies.empty() ? std::string("no reply") : replies[0].str));
  }
  // HSET counts the fields it created: all of them for a node that was not there.
  if (replies[0].integer > 0) Publish("join", node.node_id);
  return Status::Ok();
}

Status NodeRegistry::Remove(const std::string& node_id) {
  VOXGATE_ASSIGN_OR_RETURN(
      auto replies, redis_->Transaction({{"DEL", NodeKey(node_id)}, {"SREM", SetKey(), node_id}}));
  if (replies.size() < 2 || (replies[0].integer == 0 && replies[1].integer == 0)) {
    return NotFoundError("node " + node_id + " is not registered");
  }
  Publish("leave", node_id);
  return Status::Ok();
}

namespace {

int64_t ToInt(const std::string& s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

Result<NodeInfo> NodeRegistry::FromHash(const RedisReply& reply) {
  if (!reply.is_array() || reply.elements.empty()) return NotFoundError("no such node");
  NodeInfo n;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    const std::string& k = reply.elements[i].str;
    const std::string& v = reply.elements[i + 1].str;
    if (k == "node_id") {
      n.node_id = v;
    } else if (k == "host") {
      n.host = v;
    } else if (k == "port") {
      n.port = static_cast<int>(ToInt(v));
    } else if (k == "weight") {
      n.weight = static_cast<int>(ToInt(v));
    } else if (k == "is_healthy") {
      n.is_healthy = v == "1";
    } else if (k == "active_connections") {
      n.active_connections = ToInt(v);
    } else if (k == "total_requests") {
      n.total_requests = ToInt(v);
    } else if (k == "error_count") {
      n.error_count = ToInt(v);
    } else if (k == "avg_response_time") {
      n.avg_response_time = std::strtod(v.c_str(), nullptr);
    } else if (k == "last_health_check_ms") {
      n.last_health_check_ms = ToInt(v);
    } else if (k == "metadata") {
      json m = json::parse(v, nullptr, false);
      if (m.is_object()) n.metadata = std::move(m);
    }
  }
  // A half-written or foreign hash is reported, not trusted.
  VOXGATE_RETURN_IF_ERROR(n.Validate().WithContext("corrupt registry entry"));
  return n;
}

Result<NodeInfo> NodeRegistry::Get(const std::string& node_id) {
  VOXGATE_ASSIGN_OR_RETURN(RedisReply r, redis_->Command({"HGETALL", NodeKey(node_id)}));
  auto n = FromHash(r);
  if (!n.ok() && n.status().code() == StatusCode::kNotFound) {
    return NotFoundError("node " + node_id + " is not registered");
  }
  return n;
}

Result<std::vector<NodeInfo>> NodeRegistry::List() {
  VOXGATE_ASSIGN_OR_RETURN(RedisReply ids, redis_->Command({"SMEMBERS", SetKey()}));
  std::vector<std::string> members;
  for (const auto& e : ids.elements) members.push_back(e.str);
  std::sort(members.begin(), members.end());
  std::vector<NodeInfo> out;
  if (members.empty()) return out;
  std::vector<std::vector<std::string>> commands;
  for (const auto& id : members) commands.push_back({"HGETALL", NodeKey(id)});
  VOXGATE_ASSIGN_OR_RETURN(auto replies, redis_->Pipeline(commands));
  for (size_t i = 0; i < members.size() && i < replies.size(); ++i) {
    if (replies[i].is_error()) continue;
    if (replies[i].is_array() && replies[i].elements.empty()) {
      // The hash expired: the node stopped beating. Prune it (a beat re-adds a live node).
      auto r = redis_->Command({"SREM", SetKey(), members[i]});
      if (r.ok() && r->integer > 0) {
        spdlog::info("cluster: node {} expired", members[i]);
        Publish("expired", members[i]);
      }
      continue;
    }
    auto n = FromHash(replies[i]);
    if (n.ok()) {
      out.push_back(std::move(*n));
    } else {
      spdlog::warn("cluster: skipping node {}: {}", members[i], n.status().ToString());
    }
  }
  return out;
}

Status NodeRegistry::StartHeartbeat(std::function<NodeInfo()> self, int interval_ms, int ttl_ms) {
  if (heartbeat_.joinable()) return InvalidArgumentError("heartbeat already running");
  if (interval_ms < 1 || ttl_ms <= interval_ms) {
    return InvalidArgumentError("the node TTL must be longer than the heartbeat interval");
  }
  NodeInfo first = self();
  first.last_health_check_ms = UnixNowMs();
  Status s = Register(first, ttl_ms);
  if (!s.ok()) return s.WithContext("joining the cluster");
  {
    std::lock_guard lock(mu_);
    stop_ = false;
    heartbeats_ = 1;
    self_id_ = first.node_id;
  }
  heartbeat_ = std::thread([this, self = std::move(self), interval_ms, ttl_ms] {
    bool failing = false;
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(interval_ms), [this] { return stop_; })) {
      lock.unlock();
      NodeInfo info = self();
      info.last_health_check_ms = UnixNowMs();
      Status st = Register(info, ttl_ms);
      lock.lock();
      if (st.ok()) {
        ++heartbeats_;
        if (failing) spdlog::info("cluster: heartbeats to Redis work again");
        failing = false;
      } else if (!failing) {
        // Once per outage, not once per beat.
        spdlog::warn("cluster: heartbeat failed (the node expires after {} ms without one): {}",
                     ttl_ms, st.ToString());
        failing = true;
      }
    }
  });
  return Status::Ok();
}

void NodeRegistry::StopHeartbeat(bool deregister) {
  if (!heartbeat_.joinable()) return;
  std::string id;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    id = self_id_;
  }
  cv_.notify_all();
  heartbeat_.join();
  if (deregister && !id.empty()) {
    Status s = Remove(id);
    if (!s.ok()) spdlog::warn("cluster: leaving the cluster: {}", s.ToString());
  }
}

int64_t NodeRegistry::heartbeats() const {
  std::lock_guard lock(mu_);
  return heartbeats_;
}

}  // namespace voxgate::cluster
