// voxgate events tail: follows the cluster's event stream (Redis Streams, see
// analytics/redis_streams_event_bus.h) and prints one JSON line per event, for operators and
// scripts (`voxgate events tail --type session.decision | jq ...`).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "analytics/event_bus.h"
#include "analytics/redis_streams_event_bus.h"
#include "app/commands.h"
#include "app/model_loader.h"
#include "common/redis_client.h"

namespace voxgate::app {

int RunEventsTail(const EventsTailOptions& options) {
  std::string url = options.redis_url;
  if (url.empty()) {
    const char* env = std::getenv("VOXGATE_REDIS_URL");
    url = env && *env ? env : "redis://127.0.0.1:6379/0";
  }
  constexpr int kBlockMs = 1000;
  RedisClientOptions redis;
  redis.url = url;
  redis.pool_size = 1;
  redis.command_timeout_ms = kBlockMs + 1000;  // outlasts the blocking read
  auto client = RedisClient::Create(redis);
  if (!client.ok()) return Fail(client.status().WithContext("events tail"));
  // The first command tells whether Redis is there at all: fail fast rather than wait silently.
  std::string last_id = "0-0";
  if (options.from_start) {
    Status ping = (*client)->Ping();
    if (!ping.ok()) return Fail(ping.WithContext("events tail"));
  } else {
    auto id = analytics::RedisStreamsEventBus::LastId(**client, options.stream_key);
    if (!id.ok()) return Fail(id.status().WithContext("events tail"));
    last_id = *id;
  }
  const std::string count = std::to_string(options.count > 0 ? std::min(options.count, 1000) : 100);
  int64_t printed = 0;
  int backoff_ms = 100;
  bool outage_reported = false;
  for (;;) {
    auto reply = (*client)->Command({"XREAD", "COUNT", count, "BLOCK", std::to_string(kBlockMs),
                                     "STREAMS", options.stream_key, last_id});
    if (!reply.ok()) {
      // Keep following across a Redis restart, from the last entry printed.
      if (!outage_reported) std::cerr << "voxgate: " << reply.status().ToString() << std::endl;
      outage_reported = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
      backoff_ms = std::min(backoff_ms * 2, 5000);
      continue;
    }
    outage_reported = false;
    backoff_ms = 100;
    std::vector<std::string> malformed;
    for (const auto& e : analytics::RedisStreamsEventBus::ParseEntries(*reply, &malformed)) {
      last_id = e.id;
      if (!analytics::EventBus::TypeMatches(options.type_prefix, e.event.type)) continue;
      std::cout << e.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n'
                << std::flush;
      if (options.count > 0 && ++printed >= options.count) return 0;
    }
    // Skip past entries that are not events (written by something else) so as not to loop.
    for (const std::string& id : malformed) {
      if (analytics::RedisStreamsEventBus::IdLess(last_id, id)) last_id = id;
    }
  }
}

}  // namespace voxgate::app
