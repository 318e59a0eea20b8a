// AppConfig: the whole configuration of `voxgate serve`, nesting each component's config. Loaded
// from config/voxgate.yaml (or --config) with every key overridable by VOXGATE_* variables
// (VOXGATE_SERVER_PORT, VOXGATE_MODEL_PATH, VOXGATE_STORE_BACKEND, ...); secrets come only from the
// environment or files. Plain data, thread-compatible.
#pragma once

#include <string>

#include "analytics/cluster_aggregator.h"
#include "analytics/redis_streams_event_bus.h"
#include "analytics/webhook_sender.h"
#include "api/http_server_config.h"
#include "api/inference_pool.h"
#include "api/voiceprint_service.h"
#include "app/broadcast_manager.h"
#include "app/live_stack.h"
#include "cluster/cluster_config.h"
#include "common/config_node.h"
#include "store/store_config.h"
#include "telephony/call_manager.h"
#include "telephony/sip_config.h"
#include "voiceprint/embedder.h"

namespace voxgate::app {

struct AppConfig {
  std::string profile = "dev";      // dev: a missing encryption key is created; prod: refused
  std::string data_dir = "./data";  // database, encryption key (dev), API keys
  std::string node_id;              // empty: <hostname>:<port>
  std::string log_level = "info";   // trace | debug | info | warn | error
  api::HttpServerConfig server;
  api::InferencePoolConfig inference;
  voiceprint::EmbedderConfig model;  // model.path empty: the bundled starter model
  api::ServiceConfig service;
  store::StoreConfig store;
  LiveConfig live;                     // live sessions (WebSocket streams, SIP calls)
  telephony::SipConfig sip;            // the SIP user agent (off unless sip.enabled)
  telephony::CallManagerConfig calls;  // call media, scenarios and prompts
  analytics::WebhookConfig webhooks;   // session events POSTed to these URLs (none by default)
  /// events.backend: "auto" (Redis Streams when a Redis URL is configured and the store is
  /// redis/postgres/tiered), "inprocess" (one box) or "redis".
  std::string events_backend = "auto";
  analytics::RedisEventBusConfig events;          // events.*; node_id empty: the server's
  analytics::ClusterAggregatorConfig aggregator;  // events.aggregator.*
  /// Whether `voxgate serve` uses the Redis Streams event bus (see events_backend).
  bool UseRedisEvents() const;
  BroadcastsConfig broadcasts;     // live RTMP broadcasts over the REST API
  cluster::ClusterConfig cluster;  // cluster membership (joins when the store is shared)
  /// Whether `voxgate serve` registers in the cluster (see ClusterConfig::ShouldJoin).
  bool JoinsCluster() const;
  /// The Redis URL the cluster shares: the store's for backends redis and tiered, else
  /// $VOXGATE_REDIS_URL; empty when there is none.
  std::string ClusterRedisUrl() const;

  /// Reads every section; errors name the key. Does not validate.
  Status Load(const ConfigNode& root);
  /// Applies data_dir/profile to the store and checks everything.
  Status Finalize();
  std::string ToString() const;
};

/// The config file to read: `path` if given (must exist), else config/voxgate.yaml in the working
/// directory if present, else none (defaults and environment only).
Result<ConfigNode> LoadConfigFile(const std::string& path);

/// Reads every section a config file may hold (serve's and the gateway's) and refuses keys that
/// nothing reads: kInvalidArgument naming each ("unknown config key 'server.prot'"), so a typo
/// cannot silently keep a default. Type errors of known keys come back as Load reports them.
Status CheckConfigKeys(const ConfigNode& root);

}  // namespace voxgate::app
