// LiveStack: everything live sessions share in `voxgate serve` — media workers, the live inference
// pool, the VAD model, the event bus, the session registry — and the routes that expose them:
// the WebSocket stream (GET /api/v1/stream) and the sessions API (GET /api/v1/sessions[/{id}]).
#pragma once

#include <memory>

#include "analytics/event_bus.h"
#include "analytics/session_registry.h"
#include "api/http_server.h"
#include "api/inference_pool.h"
#include "api/voiceprint_service.h"
#include "stream/voice_session.h"

namespace voxgate::app {

struct LiveConfig {
  stream::VoiceSessionConfig session;
  api::InferencePoolConfig inference{2, 64, 1};  // live embeddings, apart from REST requests
  int media_threads = 0;                         // 0: one per core
  std::string recordings_dir;                    // empty: <data_dir>/recordings

  Status Validate() const;
  std::string ToString() const;
  /// The "live" section: media_threads, recordings_dir, inference.*, and the session's keys.
  Status Load(const ConfigNode& node);
};

class LiveStack {
 public:
  /// `bus`: the event bus sessions publish on; null: a new InProcessEventBus (one box).
  static Result<std::unique_ptr<LiveStack>> Create(
      const LiveConfig& config, const std::string& data_dir,
      std::shared_ptr<api::VoiceprintService> service, std::shared_ptr<metrics::Registry> registry,
      std::shared_ptr<analytics::EventBus> bus = nullptr);
  ~LiveStack();

  /// GET /api/v1/stream (WebSocket), GET /api/v1/sessions, GET /api/v1/sessions/{id}.
  Status AddRoutes(api::HttpServer& server);
  /// Ends every live session; stops the workers and the pool.
  void Shutdown();

  const stream::LiveServices& services() const { return services_; }

 private:
  LiveStack() = default;
  stream::LiveServices services_;
  std::shared_ptr<api::InferencePool> pool_;
};

}  // namespace voxgate::app
