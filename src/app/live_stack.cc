#include "app/live_stack.h"

#include <fmt/format.h>

#include "analytics/in_process_event_bus.h"
#include "common/config_node.h"
#include "stream/stream_protocol.h"

namespace voxgate::app {

Status LiveConfig::Validate() const {
  VOXGATE_RETURN_IF_ERROR(session.Validate());
  VOXGATE_RETURN_IF_ERROR(inference.Validate());
  if (media_threads < 0 || media_threads > 256) {
    return InvalidArgumentError("live.media_threads must be 0..256");
  }
  return Status::Ok();
}

std::string LiveConfig::ToString() const {
  return fmt::format("LiveConfig({}, inference={}, media_threads={}, recordings_dir={})",
                     session.ToString(), inference.ToString(), media_threads, recordings_dir);
}

Status LiveConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("media_threads", &media_threads));
  VOXGATE_RETURN_IF_ERROR(node.Get("recordings_dir", &recordings_dir));
  VOXGATE_RETURN_IF_ERROR(inference.Load(node.Child("inference")));
  return session.Load(node);
}

namespace {

// Binds the server's WebSocket transport to the stream protocol.
class StreamSocket : public api::WebSocketHandler {
 public:
  StreamSocket(const stream::LiveServices& services, const api::Request& request,
               std::shared_ptr<api::WebSocketConnection> connection) {
    std::weak_ptr<api::WebSocketConnection> weak = connection;
    nlohmann::json info = {{"remote", request.remote_address()}};
    protocol_ = std::make_shared<stream::StreamProtocol>(
        services, request.principal().key_id, std::move(info),
        [weak](std::string text, bool essential) {
          auto c = weak.lock();
          return c && c->SendText(std::move(text), essential);
        },
        [weak](uint16_t code, std::string reason) {
          if (auto c = weak.lock()) c->Close(code, std::move(reason));
        });
  }
  void OnText(std::string_view message) override { protocol_->OnText(message); }
  bool OnBinary(std::span<const uint8_t> data) override { return protocol_->OnBinary(data); }
  void OnClose() override { protocol_->OnClose(); }

 private:
  std::shared_ptr<stream::StreamProtocol> protocol_;
};

}  // namespace

Result<std::unique_ptr<LiveStack>> LiveStack::Create(
    const LiveConfig& config, const std::string& data_dir,
    std::shared_ptr<api::VoiceprintService> service, std::shared_ptr<metrics::Registry> registry,
    std::shared_ptr<analytics::EventBus> bus) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  std::unique_ptr<LiveStack> stack(new LiveStack());
  stream::LiveServices& s = stack->services_;
  s.config = config.session;
  s.workers =
      std::make_shared<dsp::MediaWorkerPool>(dsp::MediaWorkerPoolConfig{config.media_threads, 10});
  dsp::VadConfig vad_config = config.session.pipeline.vad_config;
  vad_config.model_path = service->embedder()->config().vad.model_path;
  VOXGATE_ASSIGN_OR_RETURN(std::shared_ptr<dsp::SileroVad> vad, dsp::SileroVad::Create(vad_config));
  s.vad = std::move(vad);
  s.embedder = service->embedder();
  s.directory = service;
  stack->pool_ = std::make_shared<api::InferencePool>(config.inference, registry, "live");
  std::weak_ptr<api::InferencePool> weak_pool = stack->pool_;
  s.executor = [weak_pool](std::function<void()> job) {
    auto pool = weak_pool.lock();
    return pool && pool->TrySubmit(std::move(job));
  };
  s.bus = bus ? std::move(bus) : std::make_shared<analytics::InProcessEventBus>();
  s.registry = std::make_shared<analytics::SessionRegistry>(registry);
  s.registry->DeclareKinds({"websocket", "sip"});  // VoiceSessionOptions::kind
  s.qos_metrics = std::make_shared<analytics::QosMetrics>(registry, "live");
  s.recordings_dir =
      config.recordings_dir.empty() ? data_dir + "/recordings" : config.recordings_dir;
  return stack;
}

LiveStack::~LiveStack() { Shutdown(); }

void LiveStack::Shutdown() {
  if (!pool_) return;
  if (services_.registry) {
    for (const auto& j : services_.registry->List(stream::VoiceSession::NowS(), false)) {
      auto view = services_.registry->Find(j.value("id", ""));
      if (auto s = std::dynamic_pointer_cast<stream::VoiceSession>(view))
        s->Finish("server shutdown");
    }
  }
  pool_->Shutdown(std::chrono::seconds(10));
  pool_.reset();
  services_.workers.reset();
}

Status LiveStack::AddRoutes(api::HttpServer& server) {
  const stream::LiveServices services = services_;
  api::WebSocketOptions ws;
  ws.max_message_bytes = 256 * 1024;  // 1.3 s of 48 kHz stereo float: far above any real frame
  VOXGATE_RETURN_IF_ERROR(server.WebSocketRoute(
      "/api/v1/stream", api::Access::kClient,
      [services](const api::Request& request, std::shared_ptr<api::WebSocketConnection> c)
          -> Result<std::shared_ptr<api::WebSocketHandler>> {
        return std::shared_ptr<api::WebSocketHandler>(
            std::make_shared<StreamSocket>(services, request, std::move(c)));
      },
      ws));
  auto registry = services_.registry;
  VOXGATE_RETURN_IF_ERROR(server.Route(
      api::Method::kGet, "/api/v1/sessions", api::Access::kClient,
      [registry](const api::Request& request, api::Responder r) {
        const bool ended = request.Query("include_ended").value_or("") == "true";
        auto list = registry->List(stream::VoiceSession::NowS(), ended);
        r.SendJson(
            200,
            {{"success", true}, {"active", registry->active()}, {"sessions", std::move(list)}});
      }));
  VOXGATE_RETURN_IF_ERROR(
      server.Route(api::Method::kGet, "/api/v1/sessions/{id}", api::Access::kClient,
                   [registry](const api::Request& request, api::Responder r) {
                     const std::string id(request.PathParam("id"));
                     auto j = registry->Get(id, stream::VoiceSession::NowS());
                     if (!j) {
                       r.SendError(NotFoundError(fmt::format("no session '{}'", id)));
                       return;
                     }
                     r.SendJson(200, {{"success", true}, {"session", std::move(*j)}});
                   }));
  return Status::Ok();
}

}  // namespace voxgate::app
