// BroadcastManager: the live RTMP broadcasts of `voxgate serve` and their REST API.
//
//   POST   /api/v1/broadcasts              {url, preset, source, video, name, say, options} -> id
//   GET    /api/v1/broadcasts[/{id}]       state, bitrate, fps, drops/repeats, drift, reconnects
//   POST   /api/v1/broadcasts/{id}/say     {"text": ...} queues speech for the presenter
//   DELETE /api/v1/broadcasts/{id}         stops cleanly (flushes the encoders, closes the FLV)
//   GET    /api/v1/broadcasts/{id}/video   WebSocket: binary messages, one BGRA picture each
//                                          (broadcasts with "video": "external")
//
// Sources: "presenter" (speech from /say), "session" (a live call's or WebSocket stream's cleaned
// audio, tapped from its media worker; the card shows the speaker live identification names) and
// "mix" (several sessions summed). A session-sourced broadcast ends by itself once all its sessions
// have ended. Starting connects to the server (with the configured attempts) and stopping flushes,
// so both run on threads of their own, never on the HTTP I/O threads.
//
// The API only accepts rtmp:// and rtmps:// URLs (never file:, which would write on the server),
// and a stream key kept out of the request may come only from an environment variable whose name
// starts with BroadcastsConfig::key_env_prefix. URLs are shown redacted in every response, log and
// error. Every route needs an admin key: a broadcast sends the server's audio to a third party.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "api/http_server.h"
#include "common/result.h"
#include "metrics/registry.h"
#include "stream/broadcast_session.h"
#include "stream/voice_session.h"

namespace voxgate {
class ConfigNode;
}

namespace voxgate::app {

struct BroadcastsConfig {
  bool enabled = true;
  int max_active = 4;  // broadcasts running at once (each costs about a core at 540p)
  std::string default_preset = "540p";
  /// Stream keys named in a request must live in an environment variable with this prefix, so an
  /// API caller cannot read other secrets of the server.
  std::string key_env_prefix = "VOXGATE_RTMP_KEY";
  double keep_ended_s = 600;  // an ended broadcast stays visible this long
  size_t max_say_bytes = 64 * 1024;
  std::string voice = "en-us";  // espeak-ng voice of the presenter

  Status Validate() const;
  std::string ToString() const;
  Status Load(const ConfigNode& node);
};

class BroadcastManager {
 public:
  /// `services`: the live sessions (registry and bus) broadcasts can take their audio from.
  BroadcastManager(BroadcastsConfig config, stream::LiveServices services,
                   std::shared_ptr<metrics::Registry> registry);
  ~BroadcastManager();
  BroadcastManager(const BroadcastManager&) = delete;
  BroadcastManager& operator=(const BroadcastManager&) = delete;

  /// Starts a broadcast from a request body; blocks while connecting. The broadcast's JSON.
  Result<nlohmann::json> Create(const nlohmann::json& request);
  Result<nlohmann::json> Say(const std::string& id, const nlohmann::json& request);
  Result<nlohmann::json> Get(const std::string& id) const;
  nlohmann::json List() const;
  /// Stops (flushing; blocks) and returns the final JSON. kNotFound for an unknown id.
  Result<nlohmann::json> Stop(const std::string& id);
  /// video "external" broadcasts: one BGRA picture.
  Status PushVideo(const std::string& id, std::span<const uint8_t> bgra);

  Status AddRoutes(api::HttpServer& server);
  /// Stops every broadcast and the watcher. Idempotent.
  void Shutdown();

 private:
  struct Entry;
  std::shared_ptr<Entry> Find(const std::string& id) const;
  void Watch();
  // Runs `job` on a thread of its own (reaped when done, joined at Shutdown); dropped after
  // Shutdown.
  void RunOffIo(std::function<void()> job);

  const BroadcastsConfig config_;
  const stream::LiveServices services_;
  std::shared_ptr<metrics::Registry> registry_;
  metrics::Gauge& active_gauge_;
  metrics::Family<metrics::Counter>& frames_;
  metrics::Counter& reconnects_;
  metrics::Counter& bytes_;
  metrics::Counter& started_;
  metrics::Counter& failed_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;  // GUARDED_BY(mu_)
  int starting_ = 0;                                       // GUARDED_BY(mu_)
  struct Job {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Job> jobs_;  // GUARDED_BY(mu_)
  bool shutdown_ = false;  // GUARDED_BY(mu_)
  std::thread watcher_;
};

}  // namespace voxgate::app
