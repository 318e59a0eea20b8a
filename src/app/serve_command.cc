// voxgate serve: the voiceprint service on embedded defaults (SQLite, the bundled model).
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "analytics/cluster_aggregator.h"
#include "analytics/redis_streams_event_bus.h"
#include "api/api_key_manager.h"
#include "api/document_routes.h"
#include "api/http_server.h"
#include "api/inference_pool.h"
#include "api/voiceprint_routes.h"
#include "api/voiceprint_service.h"
#include "app/app_config.h"
#include "app/cluster_routes.h"
#include "app/commands.h"
#include "app/console.h"
#include "app/live_stack.h"
#include "app/model_loader.h"
#include "cluster/node_info.h"
#include "cluster/node_registry.h"
#include "common/logging.h"
#include "metrics/registry.h"
#include "telephony/call_manager.h"
#include "telephony/sip_agent.h"

namespace voxgate::app {
namespace {

// With auth on and no key at all, the operator needs a first admin key: it is written to a 0600
// file in the data directory (never logged) for `voxgate keys` and clients to use.
Status BootstrapAdminKey(api::ApiKeyManager& keys, const std::string& data_dir) {
  for (const auto& k : keys.List()) {
    if (!k.revoked()) return Status::Ok();
  }
  VOXGATE_ASSIGN_OR_RETURN(api::CreatedApiKey created,
                           keys.Create("bootstrap-admin", api::Role::kAdmin));
  const std::string path = data_dir + "/admin.key";
  const mode_t old_mask = ::umask(077);
  {
    std::ofstream out(path, std::ios::trunc);
    out << created.key << "\n";
    if (!out) {
      ::umask(old_mask);
      return InternalError("cannot write " + path);
    }
  }
  ::umask(old_mask);
  ::chmod(path.c_str(), 0600);
  spdlog::warn("no API keys existed: created admin key {} and wrote it to {} (mode 0600)",
               created.info.id, path);
  return Status::Ok();
}

std::string Hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

RedisClientOptions RedisOptions(const store::RedisConfig& config, std::string url) {
  RedisClientOptions o;
  o.url = std::move(url);
  o.connect_timeout_ms = config.connect_timeout_ms;
  o.command_timeout_ms = config.command_timeout_ms;
  return o;
}

// What this node's registry entry says, refreshed on every heartbeat: where it is reached, its
// weight, whether its store answers, and its request counters.
cluster::NodeInfo SelfEntry(const AppConfig& config, const std::string& node_id,
                            const api::HttpServer& server, store::VoiceprintStore& store,
                            int64_t started_ms) {
  cluster::NodeInfo n;
  n.node_id = node_id;
  n.host = config.cluster.advertise_host;
  if (n.host.empty()) {
    const std::string& h = config.server.host;
    n.host = (h.empty() || h == "0.0.0.0" || h == "::") ? "127.0.0.1" : h;
  }
  n.port = config.cluster.advertise_port > 0 ? config.cluster.advertise_port : server.port();
  n.weight = config.cluster.weight;
  n.is_healthy = store.Ping().ok();
  n.active_connections = static_cast<int64_t>(server.open_connections());
  const api::HttpMetrics::Totals totals = server.request_totals();
  n.total_requests = totals.requests;
  n.error_count = totals.errors;
  n.avg_response_time = totals.mean_duration_s;
  n.last_health_check_ms = cluster::UnixNowMs();
  n.metadata = {{"role", "voiceprint"},
                {"version", VOXGATE_VERSION},
                {"started_at", cluster::IsoUtcFromMs(started_ms)}};
  for (const auto& [k, v] : config.cluster.metadata) n.metadata[k] = v;
  return n;
}

}  // namespace

namespace {

// How long SIGTERM may take before the process exits regardless (below the 30 s that test
// harnesses and many supervisors give before SIGKILL).
constexpr auto kShutdownDeadline = std::chrono::seconds(20);

// Ends the process when the shutdown overruns kShutdownDeadline or a second stop signal comes.
class ShutdownWatchdog {
 public:
  ShutdownWatchdog(const std::atomic<const char*>* stage, sigset_t signals) : stage_(stage) {
    timer_ = std::thread([this] {
      std::unique_lock lock(mu_);
      if (!cv_.wait_for(lock, kShutdownDeadline, [this] { return done_; })) {
        ForceExit(
            fmt::format("shutdown still {} after {} s", stage_->load(), kShutdownDeadline.count()));
      }
    });
    // The stop signals stay blocked in every thread: a second one waits here.
    std::thread([this, signals] {
      int sig = 0;
      if (sigwait(&signals, &sig) == 0) {
        ForceExit(fmt::format("signal {} again while {}", sig, stage_->load()));
      }
    }).detach();
  }
  ~ShutdownWatchdog() {
    Done();
    if (timer_.joinable()) timer_.join();
  }
  void Done() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
  }

 private:
  static void ForceExit(const std::string& why) {
    spdlog::error("{}: exiting now", why);
    spdlog::default_logger()->flush();
    std::fflush(nullptr);
    std::_Exit(0);
  }

  const std::atomic<const char*>* stage_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread timer_;
};

}  // namespace

int RunServe(const ServeOptions& options) {
  // Block the stop signals before any thread starts, so that only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto root = LoadConfigFile(options.config_file);
  if (!root.ok()) return Fail(root.status());
  AppConfig config;
  Status s = config.Load(*root);
  if (s.ok()) s = CheckConfigKeys(*root);
  if (!s.ok()) return Fail(s);
  if (options.port >= 0) config.server.port = options.port;
  if (!options.data_dir.empty()) config.data_dir = options.data_dir;
  if (options.dev) config.server.auth_enabled = false;
  s = config.Finalize();
  if (!s.ok()) return Fail(s.WithContext("config"));
  s = InitLogging(config.log_level);
  if (!s.ok()) return Fail(s);
  spdlog::info("voxgate starting: {}", config.ToString());

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  auto store = store::VoiceprintStore::Create(config.store);
  if (!store.ok()) return Fail(store.status().WithContext("opening the store"));
  std::shared_ptr<store::VoiceprintStore> shared_store = std::move(*store);
  auto embedder = voiceprint::Embedder::Create(config.model);
  if (!embedder.ok()) return Fail(embedder.status().WithContext("loading the model"));
  auto calibration = LoadCalibration((*embedder)->model_info(), config.model.calibration_path);
  if (!calibration.ok()) return Fail(calibration.status().WithContext("loading the calibration"));
  if (!calibration->calibrated()) {
    spdlog::warn(
        "model {} has no calibration: every security level uses its threshold {:.4f}; run "
        "`voxgate calibrate` on labelled speech of your users' kind",
        (*embedder)->model_info().id, calibration->NominalCosineThreshold({}));
  }
  auto service = api::VoiceprintService::Create(config.service, *embedder, shared_store,
                                                std::move(*calibration));
  if (!service.ok()) return Fail(service.status());
  std::shared_ptr<api::VoiceprintService> shared_service = std::move(*service);
  spdlog::info(
      "model {} ({}-dim, {}, AS-Norm {}, security level {}); {} active voiceprints indexed",
      (*embedder)->model_info().id, (*embedder)->model_info().embedding_dim,
      shared_service->calibration().calibrated() ? "calibrated" : "uncalibrated",
      shared_service->calibration().cohort().empty() ? "off" : "on",
      voiceprint::SecurityLevelName(shared_service->DefaultSecurityLevel()),
      shared_service->Stats().indexed_users);

  auto registry = std::make_shared<metrics::Registry>();
  auto pool = std::make_shared<api::InferencePool>(config.inference, registry);
  api::HttpServerOptions server_options;
  server_options.registry = registry;
  if (config.server.auth_enabled) {
    auto keys = api::ApiKeyManager::Open(config.data_dir);
    if (!keys.ok()) return Fail(keys.status().WithContext("opening the API keys"));
    s = BootstrapAdminKey(**keys, config.data_dir);
    if (!s.ok()) return Fail(s);
    server_options.keys = *keys;
  }
  api::HttpServer server(config.server, server_options);

  api::NodeInfo node{config.node_id, config.server.host, config.server.port, config.cluster.weight};
  if (node.node_id.empty()) node.node_id = fmt::format("{}:{}", Hostname(), config.server.port);
  // Cluster membership: the node's entry in the Redis registry, kept alive by a heartbeat while
  // it serves; the gateway reads the registry to find it.
  std::shared_ptr<cluster::NodeRegistry> node_registry;
  if (config.JoinsCluster()) {
    std::string url = config.ClusterRedisUrl();
    if (url.empty()) url = config.store.redis.ResolvedUrl();  // cluster.enabled: on
    auto client = RedisClient::Create(RedisOptions(config.store.redis, url));
    if (!client.ok()) return Fail(client.status().WithContext("joining the cluster"));
    node_registry = std::make_shared<cluster::NodeRegistry>(
        std::shared_ptr<RedisClient>(std::move(*client)), config.store.redis.key_prefix);
    node.standalone = false;
  }
  // Events: Redis Streams in a cluster (every node sees every node's events; the aggregators
  // share the stream through a consumer group), in process on one box.
  std::shared_ptr<analytics::RedisStreamsEventBus> cluster_bus;
  std::unique_ptr<analytics::ClusterAggregator> aggregator;
  if (config.UseRedisEvents()) {
    analytics::RedisEventBusConfig events = config.events;
    if (events.node_id.empty()) events.node_id = node.node_id;
    const RedisClientOptions redis =
        RedisOptions(config.store.redis, config.store.redis.ResolvedUrl());
    auto client = RedisClient::Create(redis);
    if (!client.ok()) return Fail(client.status().WithContext("events"));
    auto bus = analytics::RedisStreamsEventBus::Create(events, std::move(*client), registry);
    if (!bus.ok()) return Fail(bus.status());
    cluster_bus = *bus;
    auto agg = analytics::ClusterAggregator::Start(config.aggregator, events, redis, registry);
    if (!agg.ok()) return Fail(agg.status());
    aggregator = std::move(*agg);
    spdlog::info("events: Redis Streams {} on {}", events.ToString(),
                 store::RedactDbUrl(redis.url));
  }
  auto live =
      LiveStack::Create(config.live, config.data_dir, shared_service, registry, cluster_bus);
  if (!live.ok()) return Fail(live.status().WithContext("live sessions"));
  s = api::AddVoiceprintRoutes(server, shared_service, pool, node);
  if (s.ok()) s = (*live)->AddRoutes(server);
  if (s.ok() && node_registry) s = AddClusterRoutes(server, node_registry);
  std::unique_ptr<BroadcastManager> broadcasts;
  if (s.ok() && config.broadcasts.enabled) {
    broadcasts =
        std::make_unique<BroadcastManager>(config.broadcasts, (*live)->services(), registry);
    s = broadcasts->AddRoutes(server);
  }
  if (s.ok() && aggregator) {
    s = server.Route(api::Method::kGet, "/api/v1/analytics/cluster", api::Access::kClient,
                     [agg = aggregator.get()](const api::Request&, api::Responder r) {
                       r.SendJson(200, {{"success", true}, {"cluster", agg->Snapshot()}});
                     });
  }
  if (s.ok()) s = api::AddDocumentRoutes(server, VOXGATE_VERSION);
  if (s.ok()) {
    auto console = LoadConsole(options.console_dir);
    if (console.ok()) {
      s = console->AddRoutes(server);
    } else if (options.console_dir.empty()) {
      spdlog::warn("no console: {}", console.status().ToString());  // a build without web/
    } else {
      s = console.status().WithContext("console");
    }
  }
  if (!s.ok()) return Fail(s);
  const auto model_info = (*embedder)->model_info();
  server.health().Add("model", [model_info] {
    api::ComponentHealth h;
    h.details = {{"model", model_info.id}, {"embedding_dim", model_info.embedding_dim}};
    return h;
  });
  server.health().Add("store", [shared_store] {
    api::ComponentHealth h;
    Status ping = shared_store->Ping();
    h.healthy = ping.ok();
    if (!ping.ok()) h.message = ping.message();
    return h;
  });
  server.health().Add(
      "inference",
      [pool] {
        api::ComponentHealth h;
        h.details = {{"queue_depth", pool->queue_depth()}, {"busy_workers", pool->busy_workers()}};
        return h;
      },
      /*required_for_ready=*/false);

  std::unique_ptr<analytics::WebhookSender> webhooks;
  if (!config.webhooks.urls.empty()) {
    // In a cluster each node sends its own events only, so each event is sent once.
    auto w = analytics::WebhookSender::Create(
        config.webhooks, cluster_bus ? cluster_bus->LocalOnly() : (*live)->services().bus,
        registry);
    if (!w.ok()) return Fail(w.status().WithContext("webhooks"));
    webhooks = std::move(*w);
  }

  s = server.Start();
  if (!s.ok()) return Fail(s);

  // Phone calls: the call manager owns the media, the SIP agent the signalling.
  std::unique_ptr<telephony::CallManager> calls;
  std::unique_ptr<telephony::SipAgent> sip;
  if (config.sip.enabled) {
    auto manager =
        telephony::CallManager::Create(config.calls, (*live)->services(), registry.get());
    if (!manager.ok()) return Fail(manager.status().WithContext("calls"));
    calls = std::move(*manager);
    auto agent = telephony::SipAgent::Start(config.sip, calls.get(), registry.get());
    if (!agent.ok()) return Fail(agent.status().WithContext("SIP"));
    sip = std::move(*agent);
    calls->SetHangup([agent = sip.get()](const std::string& id) { return agent->Hangup(id); });
    std::cout << fmt::format("voxgate: SIP on {}:{}", config.sip.bind_address, sip->port())
              << std::endl;
  }
  if (node_registry) {
    // With port 0 the id names the port actually bound.
    std::string node_id = node.node_id;
    if (node_id.ends_with(":0")) node_id = fmt::format("{}:{}", Hostname(), server.port());
    const int64_t started_ms = cluster::UnixNowMs();
    s = node_registry->StartHeartbeat(
        [&config, node_id, &server, shared_store, started_ms] {
          return SelfEntry(config, node_id, server, *shared_store, started_ms);
        },
        config.cluster.heartbeat_interval_ms, config.cluster.node_ttl_ms);
    if (!s.ok()) return Fail(s.WithContext("joining the cluster"));
    spdlog::info("cluster: node {} registered ({})", node_id, config.cluster.ToString());
  }
  spdlog::info("listening on {}://{}:{}", server.tls() ? "https" : "http", config.server.host,
               server.port());
  std::cout << fmt::format("voxgate: listening on {}:{}", config.server.host, server.port())
            << std::endl;
  std::cout << fmt::format("voxgate: console at {}://{}:{}/", server.tls() ? "https" : "http",
                           ConsoleHost(config.server.host), server.port())
            << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("signal {}: finishing in-flight requests", sig);
  // Shutdown is bounded: a stage that hangs must not keep the process past its supervisor's
  // patience (systemd, a test harness). At kShutdownDeadline, or at a second SIGTERM/SIGINT, the
  // process exits anyway, naming the stage it was in. Nothing acknowledged is lost by that: every
  // answered write is already committed to the store.
  std::atomic<const char*> stage{"leaving the cluster"};
  ShutdownWatchdog watchdog(&stage, stop_signals);
  // Leave the registry first so that gateways stop sending new requests here.
  if (node_registry) node_registry->StopHeartbeat(/*deregister=*/true);
  stage = "stopping the SIP agent";
  if (sip) sip->Stop();  // BYE on every call; the manager then finishes their sessions
  stage = "finishing calls";
  if (calls) calls->Stop();
  stage = "stopping the HTTP server";
  server.Shutdown(std::chrono::seconds(10));
  stage = "stopping broadcasts";
  if (broadcasts) broadcasts->Shutdown();  // flushes and closes every FLV stream
  stage = "finishing live sessions";
  (*live)->Shutdown();
  stage = "stopping webhooks and event streams";
  if (webhooks) webhooks->Stop();
  if (aggregator) aggregator->Stop();
  if (cluster_bus) cluster_bus->Stop();  // writes what is still queued while Redis answers
  stage = "draining the inference pool";
  pool->Shutdown(std::chrono::seconds(10));
  watchdog.Done();
  spdlog::info("stopped");
  return 0;
}

}  // namespace voxgate::app
