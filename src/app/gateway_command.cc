// voxgate gateway: the load-balancing front door of a cluster (cluster/gateway_proxy.h). Nodes
// come from the Redis registry (refreshed) or from a static --node list.
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "app/app_config.h"
#include "app/commands.h"
#include "app/model_loader.h"
#include "cluster/gateway_proxy.h"
#include "cluster/node_registry.h"
#include "common/logging.h"
#include "common/redis_client.h"

namespace voxgate::app {

namespace {

Result<cluster::NodeInfo> ParseNodeArg(const std::string& arg) {
  const size_t colon = arg.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgumentError("--node must be host:port, not '" + arg + "'");
  }
  cluster::NodeInfo n;
  n.host = arg.substr(0, colon);
  const std::string port = arg.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgumentError("--node must be host:port, not '" + arg + "'");
  }
  n.port = std::stoi(port);
  n.node_id = arg;
  VOXGATE_RETURN_IF_ERROR(n.Validate().WithContext("--node " + arg));
  return n;
}

}  // namespace

int RunGateway(const GatewayOptions& options) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto root = LoadConfigFile(options.config_file);
  if (!root.ok()) return Fail(root.status());
  cluster::GatewayConfig config;
  Status s = CheckConfigKeys(*root);
  if (s.ok()) s = config.Load(root->Child("gateway"));
  if (!s.ok()) return Fail(s);
  store::RedisConfig redis_config;
  const ConfigNode r = root->Child("store").Child("redis");
  s = r.Get("url", &redis_config.url);
  if (s.ok()) s = r.Get("key_prefix", &redis_config.key_prefix);
  if (!s.ok()) return Fail(s);
  std::string log_level = "info";
  s = root->Child("log").Get("level", &log_level);
  if (!s.ok()) return Fail(s);
  if (options.port >= 0) config.port = options.port;
  if (!options.host.empty()) config.host = options.host;
  if (!options.strategy.empty()) config.strategy = options.strategy;
  if (options.health_interval_ms > 0) config.health.interval_ms = options.health_interval_ms;
  s = config.Validate();
  if (!s.ok()) return Fail(s.WithContext("gateway config"));
  s = InitLogging(log_level);
  if (!s.ok()) return Fail(s);

  std::vector<cluster::NodeInfo> static_nodes;
  for (const auto& arg : options.nodes) {
    auto n = ParseNodeArg(arg);
    if (!n.ok()) return Fail(n.status());
    static_nodes.push_back(std::move(*n));
  }

  auto proxy = cluster::GatewayProxy::Create(config);
  if (!proxy.ok()) return Fail(proxy.status());
  std::shared_ptr<cluster::NodeRegistry> registry;
  if (static_nodes.empty()) {
    RedisClientOptions redis_options;
    redis_options.url = !options.redis_url.empty() ? options.redis_url : redis_config.ResolvedUrl();
    redis_options.pool_size = 2;
    auto redis = RedisClient::Create(redis_options);
    if (!redis.ok()) return Fail(redis.status().WithContext("Redis"));
    std::shared_ptr<RedisClient> shared_redis = std::move(*redis);
    registry = std::make_shared<cluster::NodeRegistry>(shared_redis, redis_config.key_prefix);
    (*proxy)->SetNodeSource([registry] { return registry->List(); });
    spdlog::info("gateway: nodes from the registry at {}", shared_redis->redacted_url());
  } else {
    (*proxy)->SetNodes(static_nodes);
  }
  s = (*proxy)->Start();
  if (!s.ok()) return Fail(s);
  spdlog::info("gateway starting: {}", config.ToString());
  spdlog::info("gateway: {} with {} nodes", config.strategy,
               (*proxy)->balancer().Snapshot().size());
  // The same line as `voxgate serve` prints, for scripts that wait for it.
  std::cout << fmt::format("voxgate: listening on {}:{}", config.host, (*proxy)->port())
            << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("signal {}: stopping the gateway", sig);
  (*proxy)->Stop();
  return 0;
}

}  // namespace voxgate::app
