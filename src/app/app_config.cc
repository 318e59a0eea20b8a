#include "app/app_config.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "app/commands.h"
#include "cluster/gateway_proxy.h"

namespace voxgate::app {

Status AppConfig::Load(const ConfigNode& root) {
  VOXGATE_RETURN_IF_ERROR(root.Get("profile", &profile));
  VOXGATE_RETURN_IF_ERROR(root.Get("data_dir", &data_dir));
  VOXGATE_RETURN_IF_ERROR(root.Get("node_id", &node_id));
  VOXGATE_RETURN_IF_ERROR(root.Child("log").Get("level", &log_level));
  VOXGATE_RETURN_IF_ERROR(server.Load(root.Child("server")));
  VOXGATE_RETURN_IF_ERROR(inference.Load(root.Child("inference")));
  VOXGATE_RETURN_IF_ERROR(model.Load(root.Child("model")));
  VOXGATE_RETURN_IF_ERROR(service.Load(root.Child("service")));
  const ConfigNode s = root.Child("store");
  VOXGATE_RETURN_IF_ERROR(s.Get("backend", &store.backend));
  VOXGATE_RETURN_IF_ERROR(s.Child("sqlite").Get("synchronous", &store.sqlite.synchronous));
  VOXGATE_RETURN_IF_ERROR(s.Child("sqlite").Get("busy_timeout_ms", &store.sqlite.busy_timeout_ms));
  VOXGATE_RETURN_IF_ERROR(
      s.Child("sqlite").Get("read_connections", &store.sqlite.read_connections));
  const ConfigNode r = s.Child("redis");
  VOXGATE_RETURN_IF_ERROR(r.Get("url", &store.redis.url));
  VOXGATE_RETURN_IF_ERROR(r.Get("key_prefix", &store.redis.key_prefix));
  VOXGATE_RETURN_IF_ERROR(r.Get("pool_size", &store.redis.pool_size));
  VOXGATE_RETURN_IF_ERROR(r.Get("connect_timeout_ms", &store.redis.connect_timeout_ms));
  VOXGATE_RETURN_IF_ERROR(r.Get("command_timeout_ms", &store.redis.command_timeout_ms));
  VOXGATE_RETURN_IF_ERROR(r.Get("cache_ttl_s", &store.redis.cache_ttl_s));
  const ConfigNode pg = s.Child("postgres");
  VOXGATE_RETURN_IF_ERROR(pg.Get("url", &store.postgres.url));
  VOXGATE_RETURN_IF_ERROR(pg.Get("pool_size", &store.postgres.pool_size));
  VOXGATE_RETURN_IF_ERROR(pg.Get("connect_timeout_s", &store.postgres.connect_timeout_s));
  VOXGATE_RETURN_IF_ERROR(pg.Get("statement_timeout_ms", &store.postgres.statement_timeout_ms));
  const ConfigNode t = s.Child("tiered");
  VOXGATE_RETURN_IF_ERROR(t.Get("durable", &store.tiered.durable));
  VOXGATE_RETURN_IF_ERROR(t.Get("memory_capacity", &store.tiered.memory_capacity));
  VOXGATE_RETURN_IF_ERROR(t.Get("memory_ttl_s", &store.tiered.memory_ttl_s));
  // The key itself is read by the store from VOXGATE_ENCRYPTION_KEY or this file.
  VOXGATE_RETURN_IF_ERROR(root.Child("encryption").Get("key_file", &store.encryption.key_file));
  VOXGATE_RETURN_IF_ERROR(live.Load(root.Child("live")));
  VOXGATE_RETURN_IF_ERROR(sip.Load(root.Child("sip")));
  VOXGATE_RETURN_IF_ERROR(calls.Load(root.Child("calls")));
  VOXGATE_RETURN_IF_ERROR(webhooks.Load(root.Child("webhooks")));
  VOXGATE_RETURN_IF_ERROR(root.Child("events").Get("backend", &events_backend));
  VOXGATE_RETURN_IF_ERROR(events.Load(root.Child("events")));
  VOXGATE_RETURN_IF_ERROR(aggregator.Load(root.Child("events").Child("aggregator")));
  VOXGATE_RETURN_IF_ERROR(broadcasts.Load(root.Child("broadcasts")));
  VOXGATE_RETURN_IF_ERROR(cluster.Load(root.Child("cluster")));
  return Status::Ok();
}

Status AppConfig::Finalize() {
  if (profile != "dev" && profile != "prod") {
    return InvalidArgumentError("profile must be dev or prod, not '" + profile + "'");
  }
  if (data_dir.empty()) return InvalidArgumentError("data_dir must not be empty");
  store.data_dir = data_dir;
  store.encryption.profile = profile;
  model.model.model_path = ResolveModelPath(model.model.model_path);
  VOXGATE_RETURN_IF_ERROR(server.Validate().WithContext("server"));
  VOXGATE_RETURN_IF_ERROR(inference.Validate().WithContext("inference"));
  VOXGATE_RETURN_IF_ERROR(model.Validate().WithContext("model"));
  VOXGATE_RETURN_IF_ERROR(service.Validate().WithContext("service"));
  VOXGATE_RETURN_IF_ERROR(store.Validate().WithContext("store"));
  VOXGATE_RETURN_IF_ERROR(live.Validate().WithContext("live"));
  VOXGATE_RETURN_IF_ERROR(sip.Validate().WithContext("sip"));
  VOXGATE_RETURN_IF_ERROR(calls.Validate().WithContext("calls"));
  VOXGATE_RETURN_IF_ERROR(broadcasts.Validate().WithContext("broadcasts"));
  VOXGATE_RETURN_IF_ERROR(webhooks.Validate().WithContext("webhooks"));
  VOXGATE_RETURN_IF_ERROR(cluster.Validate().WithContext("cluster"));
  if (events_backend != "auto" && events_backend != "inprocess" && events_backend != "redis") {
    return InvalidArgumentError("events.backend must be auto, inprocess or redis, not '" +
                                events_backend + "'");
  }
  analytics::RedisEventBusConfig e = events;
  if (e.node_id.empty()) e.node_id = "<node_id>";  // filled in by serve
  VOXGATE_RETURN_IF_ERROR(e.Validate());
  VOXGATE_RETURN_IF_ERROR(aggregator.Validate());
  return Status::Ok();
}

std::string AppConfig::ToString() const {
  return fmt::format(
      "profile={} data_dir={} node_id={} log.level={}\n  server: {}\n  inference: {}"
      "\n  model: {}\n  service: {}\n  store: {}\n  live: {}\n  sip: {}\n  calls: {}\n  webhooks: "
      "{}\n  broadcasts: {}\n  cluster: {}",
      profile, data_dir, node_id, log_level, server.ToString(), inference.ToString(),
      model.ToString(), service.ToString(), store.ToString(), live.ToString(), sip.ToString(),
      calls.ToString(), webhooks.ToString(), broadcasts.ToString(), cluster.ToString());
}

// A Redis for the cluster exists when the store itself is in Redis (redis, tiered) or when
// $VOXGATE_REDIS_URL names one next to PostgreSQL; the default URL alone does not make one.
std::string AppConfig::ClusterRedisUrl() const {
  const std::string& b = store.backend;
  if (b == "redis" || b == "tiered") return store.redis.ResolvedUrl();
  const char* env = std::getenv(store.redis.url_env.c_str());
  return env != nullptr ? env : "";
}

bool AppConfig::UseRedisEvents() const {
  if (events_backend != "auto") return events_backend == "redis";
  const std::string& b = store.backend;
  if (b != "redis" && b != "postgres" && b != "tiered") return false;  // one box: in process
  return !ClusterRedisUrl().empty();
}

bool AppConfig::JoinsCluster() const {
  if (cluster.enabled == "on") return true;
  return cluster.ShouldJoin(store.backend, ClusterRedisUrl());
}

Result<ConfigNode> LoadConfigFile(const std::string& path) {
  if (!path.empty()) return ConfigNode::LoadFile(path);
  const std::string kDefault = "config/voxgate.yaml";
  if (std::filesystem::exists(kDefault)) return ConfigNode::LoadFile(kDefault);
  return ConfigNode();
}

Status CheckConfigKeys(const ConfigNode& root) {
  AppConfig app;
  VOXGATE_RETURN_IF_ERROR(app.Load(root));
  cluster::GatewayConfig gateway;
  VOXGATE_RETURN_IF_ERROR(gateway.Load(root.Child("gateway")));
  const std::vector<std::string> unread = root.UnreadKeys();
  if (unread.empty()) return Status::Ok();
  std::string names;
  for (const auto& key : unread) names += (names.empty() ? "'" : ", '") + key + "'";
  return InvalidArgumentError(
      fmt::format("unknown config key{} {} (a typo? config/voxgate.yaml lists every key)",
                  unread.size() > 1 ? "s" : "", names));
}

}  // namespace voxgate::app
