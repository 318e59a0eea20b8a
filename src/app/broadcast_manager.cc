#include "app/broadcast_manager.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <random>

#include "analytics/event_bus.h"
#include "api/websocket.h"
#include "common/config_node.h"

namespace voxgate::app {

using json = nlohmann::json;

namespace {

constexpr size_t kMaxSources = 16;

std::string NewBroadcastId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("bc-{:016x}", rng());
}

double NowS() { return stream::VoiceSession::NowS(); }

std::string IsoNow() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Typed optional fields of a request object: absent or null leaves `out` alone; the wrong type is
// a clear 400 naming the field.
Status GetString(const json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return InvalidArgumentError(fmt::format("\"{}\" must be a string", key));
  *out = it->get<std::string>();
  return Status::Ok();
}

Status GetInt(const json& j, const char* key, int* out, int lo, int hi) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_number_integer()) {
    return InvalidArgumentError(fmt::format("\"{}\" must be an integer", key));
  }
  const int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) {
    return InvalidArgumentError(fmt::format("\"{}\" must be {}..{}, got {}", key, lo, hi, v));
  }
  *out = static_cast<int>(v);
  return Status::Ok();
}

Status GetDouble(const json& j, const char* key, double* out, double lo, double hi) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_number()) return InvalidArgumentError(fmt::format("\"{}\" must be a number", key));
  const double v = it->get<double>();
  if (!(v >= lo && v <= hi)) {
    return InvalidArgumentError(fmt::format("\"{}\" must be {}..{}, got {}", key, lo, hi, v));
  }
  *out = v;
  return Status::Ok();
}

Result<json> ParseObject(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgumentError("body must be a JSON object");
  return j;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Config

Status BroadcastsConfig::Validate() const {
  if (max_active < 0 || max_active > 64) {
    return InvalidArgumentError(fmt::format("max_active must be 0..64, got {}", max_active));
  }
  if (auto p = stream::BroadcastConfig::FromPreset(default_preset); !p.ok()) {
    return p.status().WithContext("default_preset");
  }
  if (key_env_prefix.size() < 4) {
    return InvalidArgumentError("key_env_prefix must be at least 4 characters");
  }
  if (!(keep_ended_s >= 0)) return InvalidArgumentError("keep_ended_s must be >= 0");
  if (max_say_bytes == 0) return InvalidArgumentError("max_say_bytes must be > 0");
  return Status::Ok();
}

std::string BroadcastsConfig::ToString() const {
  return fmt::format(
      "{{enabled={}, max_active={}, default_preset={}, key_env_prefix={}, keep_ended_s={}, "
      "max_say_bytes={}, voice={}}}",
      enabled, max_active, default_preset, key_env_prefix, keep_ended_s, max_say_bytes, voice);
}

Status BroadcastsConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("enabled", &enabled));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_active", &max_active));
  VOXGATE_RETURN_IF_ERROR(node.Get("default_preset", &default_preset));
  VOXGATE_RETURN_IF_ERROR(node.Get("key_env_prefix", &key_env_prefix));
  VOXGATE_RETURN_IF_ERROR(node.Get("keep_ended_s", &keep_ended_s));
  int say = static_cast<int>(max_say_bytes);
  VOXGATE_RETURN_IF_ERROR(node.Get("max_say_bytes", &say));
  if (say <= 0) return InvalidArgumentError("broadcasts.max_say_bytes must be > 0");
  max_say_bytes = static_cast<size_t>(say);
  VOXGATE_RETURN_IF_ERROR(node.Get("voice", &voice));
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// One broadcast

struct BroadcastManager::Entry {
  std::string id;
  std::string created_at;
  std::string source_type;  // presenter | session | mix
  std::vector<std::string> session_ids;
  stream::BroadcastSessionConfig config;
  std::unique_ptr<stream::BroadcastSession> session;
  // Session sources: the tapped sessions and their inputs (index-aligned).
  std::vector<std::weak_ptr<stream::VoiceSession>> sources;
  std::vector<int> taps;
  std::vector<std::shared_ptr<stream::LiveAudioInput>> inputs;
  std::shared_ptr<analytics::Subscription> decisions;  // session.decision, for the card's name
  std::atomic<bool> ended{false};                      // stopped and finalised
  std::atomic<bool> stopping{false};                   // the watcher has asked for a stop
  double ended_at_s = 0;                               // watcher thread / under the manager's mu_
  std::mutex stop_mu;                                  // one Stop at a time
  stream::BroadcastStats last;  // counters already added to the metrics (watcher thread)
  // GET .../preview: the last PNG made, re-made at most once a second.
  std::mutex preview_mu;
  std::string preview_png;                           // GUARDED_BY(preview_mu)
  std::chrono::steady_clock::time_point preview_at;  // GUARDED_BY(preview_mu)

  void Untap() {
    for (size_t i = 0; i < sources.size(); ++i) {
      if (auto s = sources[i].lock()) s->RemoveAudioTap(taps[i]);
      inputs[i]->Close();
    }
    if (decisions) decisions->Cancel();
  }

  json ToJson() const {
    const stream::BroadcastStats st = session->stats();
    const double t = st.stream_time_s;
    json j = {{"id", id},
              {"state", st.state},
              {"url", stream::RedactUrl(config.output.url)},
              {"preset", config.output.preset},
              {"width", config.output.width},
              {"height", config.output.height},
              {"fps", config.output.fps},
              {"video_bitrate_kbps", config.output.video_bitrate_kbps},
              {"source", source_type},
              {"video", config.video_source},
              {"presenter_name", session->presenter_name()},
              {"created_at", created_at},
              {"stream_time_s", t},
              {"bitrate_kbps", t > 0 ? double(st.bytes_sent) * 8 / 1000 / t : 0.0},
              {"actual_fps", t > 0 ? double(st.frames_sent) / t : 0.0},
              {"frames_sent", st.frames_sent},
              {"frames_dropped", st.frames_dropped},
              {"frames_repeated", st.frames_repeated},
              {"queue_drops", st.queue_drops},
              {"av_drift_ms", st.drift_ms},
              {"written_av_drift_ms", st.written_drift_ms},
              {"reconnects", st.reconnects},
              {"bytes_sent", st.bytes_sent},
              {"live_inputs", st.live_inputs},
              {"live_underruns", st.live_underruns},
              {"external_frames", st.external_frames}};
    if (!session_ids.empty()) j["session_ids"] = session_ids;
    if (!st.error.empty()) j["error"] = st.error;  // redacted by the session
    return j;
  }
};

// ---------------------------------------------------------------------------------------------

BroadcastManager::BroadcastManager(BroadcastsConfig config, stream::LiveServices services,
                                   std::shared_ptr<metrics::Registry> registry)
    : config_(std::move(config)),
      services_(std::move(services)),
      registry_(registry ? std::move(registry) : std::make_shared<metrics::Registry>()),
      active_gauge_(registry_->GetGauge("voxgate_broadcasts_active", "Live broadcasts running.")),
      frames_(registry_->CounterFamily("voxgate_broadcast_frames_total",
                                       "Video slots of all broadcasts by what filled them.",
                                       {"result"})),
      reconnects_(registry_->GetCounter("voxgate_broadcast_reconnects_total",
                                        "Reconnections of broadcasts after a broken connection.")),
      bytes_(registry_->GetCounter("voxgate_broadcast_bytes_sent_total",
                                   "Bytes sent by all broadcasts (FLV).")),
      started_(registry_->GetCounter("voxgate_broadcasts_started_total", "Broadcasts started.")),
      failed_(registry_->GetCounter("voxgate_broadcasts_failed_total",
                                    "Broadcasts that could not start or ended failed.")) {
  // Every known label value exists from the start at 0, so rates and alerts see a series.
  for (const char* result : {"sent", "dropped", "repeated"}) frames_.WithLabels({result});
  watcher_ = std::thread([this] { Watch(); });
}

BroadcastManager::~BroadcastManager() { Shutdown(); }

std::shared_ptr<BroadcastManager::Entry> BroadcastManager::Find(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second;
}

Result<json> BroadcastManager::Create(const json& request) {
  if (!request.is_object()) return InvalidArgumentError("body must be a JSON object");
  std::string url, key_env, preset = config_.default_preset, video = "presenter", say;
  VOXGATE_RETURN_IF_ERROR(GetString(request, "url", &url));
  VOXGATE_RETURN_IF_ERROR(GetString(request, "stream_key_env", &key_env));
  VOXGATE_RETURN_IF_ERROR(GetString(request, "preset", &preset));
  VOXGATE_RETURN_IF_ERROR(GetString(request, "video", &video));
  VOXGATE_RETURN_IF_ERROR(GetString(request, "say", &say));
  if (url.empty()) return InvalidArgumentError("\"url\" is required (rtmp://host/app/key)");
  // Only network outputs over the API: a file: URL would write anywhere on the server.
  if (url.rfind("rtmp://", 0) != 0 && url.rfind("rtmps://", 0) != 0) {
    return InvalidArgumentError("\"url\" must be rtmp:// or rtmps://, got " +
                                stream::RedactUrl(url));
  }
  if (!key_env.empty() && key_env.rfind(config_.key_env_prefix, 0) != 0) {
    return InvalidArgumentError(fmt::format(
        "\"stream_key_env\" must name a variable starting with {}", config_.key_env_prefix));
  }
  VOXGATE_ASSIGN_OR_RETURN(stream::BroadcastConfig out,
                           stream::BroadcastConfig::FromPreset(preset));
  out.url = url;
  out.stream_key_env = key_env;
  json options = json::object();
  if (auto it = request.find("options"); it != request.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgumentError("\"options\" must be an object");
    options = *it;
  }
  stream::BroadcastSessionConfig c;
  VOXGATE_RETURN_IF_ERROR(GetInt(options, "width", &out.width, 16, 4096));
  VOXGATE_RETURN_IF_ERROR(GetInt(options, "height", &out.height, 16, 4096));
  VOXGATE_RETURN_IF_ERROR(GetInt(options, "fps", &out.fps, 1, 60));
  VOXGATE_RETURN_IF_ERROR(
      GetInt(options, "video_bitrate_kbps", &out.video_bitrate_kbps, 50, 50000));
  VOXGATE_RETURN_IF_ERROR(GetInt(options, "audio_bitrate_kbps", &out.audio_bitrate_kbps, 16, 512));
  VOXGATE_RETURN_IF_ERROR(GetInt(options, "gop_frames", &out.gop_frames, 1, 1000));
  VOXGATE_RETURN_IF_ERROR(GetInt(options, "reconnect_attempts", &out.reconnect_attempts, -1, 1000));
  VOXGATE_RETURN_IF_ERROR(GetDouble(options, "connect_timeout_s", &out.connect_timeout_s, 0.1, 60));
  VOXGATE_RETURN_IF_ERROR(GetDouble(options, "max_duration_s", &c.max_duration_s, 0, 7 * 86400));
  VOXGATE_RETURN_IF_ERROR(GetString(options, "x264_preset", &out.x264_preset));
  c.output = out;
  c.video_source = video;
  c.max_say_bytes = config_.max_say_bytes;
  c.synth.voice = config_.voice;
  VOXGATE_RETURN_IF_ERROR(GetString(options, "voice", &c.synth.voice));
  VOXGATE_RETURN_IF_ERROR(GetString(request, "name", &c.presenter_name));
  c.audio_rate_hz = dsp::LivePipeline::kRateHz;  // sessions' cleaned audio needs no resampling

  auto entry = std::make_shared<Entry>();
  entry->id = NewBroadcastId();
  entry->created_at = IsoNow();
  entry->source_type = "presenter";
  json source = json::object();
  if (auto it = request.find("source"); it != request.end() && !it->is_null()) {
    if (it->is_string()) {
      source = {{"type", *it}};
    } else if (it->is_object()) {
      source = *it;
    } else {
      return InvalidArgumentError("\"source\" must be an object {\"type\": ...}");
    }
  }
  VOXGATE_RETURN_IF_ERROR(GetString(source, "type", &entry->source_type));
  if (entry->source_type == "session") {
    std::string sid;
    VOXGATE_RETURN_IF_ERROR(GetString(source, "session_id", &sid));
    if (sid.empty()) return InvalidArgumentError("source \"session\" needs \"session_id\"");
    entry->session_ids.push_back(sid);
  } else if (entry->source_type == "mix") {
    auto it = source.find("session_ids");
    if (it == source.end() || !it->is_array() || it->empty() || it->size() > kMaxSources) {
      return InvalidArgumentError(
          fmt::format("source \"mix\" needs \"session_ids\": 1..{} ids", kMaxSources));
    }
    for (const json& v : *it) {
      if (!v.is_string()) return InvalidArgumentError("\"session_ids\" must hold strings");
      entry->session_ids.push_back(v.get<std::string>());
    }
  } else if (entry->source_type != "presenter") {
    return InvalidArgumentError("source type must be presenter, session or mix, got \"" +
                                entry->source_type + "\"");
  }
  // The sessions must be live now (they are tapped once the broadcast runs).
  std::vector<std::shared_ptr<stream::VoiceSession>> sessions;
  for (const std::string& sid : entry->session_ids) {
    auto view = services_.registry ? services_.registry->Find(sid) : nullptr;
    auto vs = std::dynamic_pointer_cast<stream::VoiceSession>(view);
    if (!vs || vs->finished()) return NotFoundError(fmt::format("no live session '{}'", sid));
    sessions.push_back(std::move(vs));
  }
  c.stop_when_idle = false;
  entry->config = c;
  VOXGATE_RETURN_IF_ERROR(c.Validate());
  if (say.size() > c.max_say_bytes) {
    return TooLargeError(fmt::format("\"say\" is over the limit of {} bytes", c.max_say_bytes));
  }
  {
    std::lock_guard lock(mu_);
    if (shutdown_) return UnavailableError("the server is shutting down");
    int active = starting_;
    for (const auto& [id, e] : entries_) active += e->ended.load() ? 0 : 1;
    if (active >= config_.max_active) {
      return Status(
          StatusCode::kResourceExhausted,
          fmt::format("{} broadcasts are running, the limit is {}", active, config_.max_active));
    }
    ++starting_;
  }
  auto started = stream::BroadcastSession::Start(c);  // connects: may take the attempts' time
  {
    std::lock_guard lock(mu_);
    --starting_;
  }
  if (!started.ok()) {
    failed_.Increment();
    return started.status().WithContext("starting the broadcast");
  }
  started_.Increment();
  entry->session = std::move(*started);
  if (!say.empty()) {
    if (auto s = entry->session->Say(say); !s.ok()) {
      entry->session->Stop();
      return s.status().WithContext("\"say\"");
    }
  }
  if (!sessions.empty()) {
    if (services_.bus) entry->decisions = services_.bus->Subscribe("session.decision", 64);
    for (const auto& vs : sessions) {
      auto input = entry->session->AddLiveInput(vs->id());
      entry->inputs.push_back(input);
      entry->sources.push_back(vs);
      entry->taps.push_back(
          vs->AddAudioTap([input](std::span<const float> samples, bool) { input->Push(samples); }));
    }
  }
  json j = entry->ToJson();
  spdlog::info("broadcast {} started: {} ({}), source {}", entry->id,
               stream::RedactUrl(c.output.url), c.output.preset, entry->source_type);
  {
    std::lock_guard lock(mu_);
    entries_[entry->id] = entry;
  }
  return j;
}

Result<json> BroadcastManager::Say(const std::string& id, const json& request) {
  auto e = Find(id);
  if (!e) return NotFoundError(fmt::format("no broadcast '{}'", id));
  if (!request.is_object() || !request.contains("text") || !request["text"].is_string()) {
    return InvalidArgumentError("body must be JSON {\"text\": \"...\"}");
  }
  const std::string& text = request["text"].get_ref<const std::string&>();
  if (text.empty()) return InvalidArgumentError("\"text\" must not be empty");
  VOXGATE_ASSIGN_OR_RETURN(double start_s, e->session->Say(text));
  return json{{"id", id}, {"starts_at_s", start_s}};
}

Result<json> BroadcastManager::Get(const std::string& id) const {
  auto e = Find(id);
  if (!e) return NotFoundError(fmt::format("no broadcast '{}'", id));
  return e->ToJson();
}

json BroadcastManager::List() const {
  std::vector<std::shared_ptr<Entry>> all;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, e] : entries_) all.push_back(e);
  }
  json list = json::array();
  for (const auto& e : all) list.push_back(e->ToJson());
  return list;
}

Result<json> BroadcastManager::Stop(const std::string& id) {
  auto e = Find(id);
  if (!e) return NotFoundError(fmt::format("no broadcast '{}'", id));
  std::lock_guard stop_lock(e->stop_mu);
  if (!e->ended.load()) {
    e->Untap();
    const Status s = e->session->Stop();  // flushes the encoders and closes the FLV stream
    if (!s.ok()) spdlog::warn("broadcast {} ended with: {}", id, s.ToString());
    std::lock_guard lock(mu_);
    e->ended_at_s = NowS();
    e->ended.store(true);
  }
  return e->ToJson();
}

Status BroadcastManager::PushVideo(const std::string& id, std::span<const uint8_t> bgra) {
  auto e = Find(id);
  if (!e) return NotFoundError(fmt::format("no broadcast '{}'", id));
  return e->session->PushVideoFrame(bgra);
}

void BroadcastManager::Watch() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (shutdown_) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::vector<std::shared_ptr<Entry>> all;
    {
      std::lock_guard lock(mu_);
      if (shutdown_) return;
      const double now = NowS();
      for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->second->ended.load() && now - it->second->ended_at_s > config_.keep_ended_s) {
          it = entries_.erase(it);
        } else {
          all.push_back(it->second);
          ++it;
        }
      }
    }
    int active = 0;
    for (const auto& e : all) {
      // The card shows whom live identification names in the broadcast's sessions.
      analytics::Event ev;
      while (e->decisions && e->decisions->Poll(&ev)) {
        if (std::find(e->session_ids.begin(), e->session_ids.end(), ev.session_id) ==
            e->session_ids.end()) {
          continue;
        }
        const json& d = ev.data;
        const std::string decision = d.value("decision", "");
        if (decision == "verified" || decision == "identified") {
          std::string who = d.value("name", "");
          if (who.empty()) who = d.value("user_id", "");
          if (!who.empty()) e->session->SetPresenterName(who);
        } else if (decision == "rejected" || decision == "unknown") {
          e->session->SetPresenterName("Unknown speaker");
        }
      }
      // A session-sourced broadcast ends once all its sessions have ended and played out.
      bool sources_done = !e->inputs.empty();
      for (size_t i = 0; i < e->inputs.size(); ++i) {
        auto s = e->sources[i].lock();
        if (!s || s->finished()) e->inputs[i]->Close();
        sources_done = sources_done && e->inputs[i]->drained();
      }
      if (!e->ended.load() && (sources_done || e->session->Finished()) &&
          !e->stopping.exchange(true)) {
        // Nobody waits for the final figures: Stop logs a failure and keeps it in the entry.
        RunOffIo([this, id = e->id] { (void)Stop(id); });
      }
      // Metrics: counters advance by what each broadcast did since the last look.
      const stream::BroadcastStats st = e->session->stats();
      frames_.WithLabels({"sent"}).Increment(double(st.frames_sent - e->last.frames_sent));
      frames_.WithLabels({"dropped"}).Increment(double(st.frames_dropped - e->last.frames_dropped));
      frames_.WithLabels({"repeated"})
          .Increment(double(st.frames_repeated - e->last.frames_repeated));
      reconnects_.Increment(double(st.reconnects - e->last.reconnects));
      bytes_.Increment(double(st.bytes_sent - e->last.bytes_sent));
      if (st.state == "failed" && e->last.state != "failed") failed_.Increment();
      e->last = st;
      active += e->ended.load() ? 0 : 1;
    }
    active_gauge_.Set(active);
  }
}

void BroadcastManager::RunOffIo(std::function<void()> job) {
  std::lock_guard lock(mu_);
  if (shutdown_) return;
  // Reap the jobs that have finished, so the list stays as long as what is running.
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
  auto done = std::make_shared<std::atomic<bool>>(false);
  jobs_.push_back({std::thread([job = std::move(job), done] {
                     job();
                     done->store(true);
                   }),
                   done});
}

void BroadcastManager::Shutdown() {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    if (shutdown_) return;
    shutdown_ = true;
    for (const auto& [id, e] : entries_) ids.push_back(id);
  }
  if (watcher_.joinable()) watcher_.join();
  std::vector<Job> jobs;
  {
    std::lock_guard lock(mu_);
    jobs.swap(jobs_);
  }
  for (auto& j : jobs) j.thread.join();
  for (const auto& id : ids) (void)Stop(id);  // shutting down: the figures are logged
  active_gauge_.Set(0);
}

// ---------------------------------------------------------------------------------------------
// Routes

namespace {

// video: "external" pictures over a WebSocket, one binary message per BGRA picture.
class VideoSocket : public api::WebSocketHandler {
 public:
  VideoSocket(BroadcastManager* manager, std::string id,
              std::shared_ptr<api::WebSocketConnection> connection)
      : manager_(manager), id_(std::move(id)), connection_(std::move(connection)) {}
  void OnText(std::string_view) override {}
  bool OnBinary(std::span<const uint8_t> data) override {
    const Status s = manager_->PushVideo(id_, data);
    if (!s.ok() && !warned_) {
      warned_ = true;  // once: a wrong size repeats for every picture
      connection_->SendText(json{{"type", "error"}, {"message", s.message()}}.dump());
    }
    return true;
  }
  void OnClose() override {}

 private:
  BroadcastManager* manager_;
  std::string id_;
  std::shared_ptr<api::WebSocketConnection> connection_;
  bool warned_ = false;
};

}  // namespace

Status BroadcastManager::AddRoutes(api::HttpServer& server) {
  const std::string base = "/api/v1/broadcasts";
  // Starting and stopping block (connect, flush): they run off the I/O threads.
  VOXGATE_RETURN_IF_ERROR(
      server.Route(api::Method::kPost, base, api::Access::kAdmin,
                   [this](const api::Request& request, api::Responder r) {
                     auto body = ParseObject(request.body());
                     if (!body.ok()) {
                       r.SendError(body.status());
                       return;
                     }
                     RunOffIo([this, body = std::move(*body), r] {
                       auto j = Create(body);
                       if (!j.ok()) {
                         r.SendError(j.status());
                         return;
                       }
                       r.SendJson(201, {{"success", true}, {"broadcast", std::move(*j)}});
                     });
                   }));
  VOXGATE_RETURN_IF_ERROR(server.Route(
      api::Method::kGet, base, api::Access::kAdmin, [this](const api::Request&, api::Responder r) {
        r.SendJson(200, {{"success", true}, {"broadcasts", List()}});
      }));
  VOXGATE_RETURN_IF_ERROR(
      server.Route(api::Method::kGet, base + "/{id}", api::Access::kAdmin,
                   [this](const api::Request& request, api::Responder r) {
                     auto j = Get(std::string(request.PathParam("id")));
                     if (!j.ok()) {
                       r.SendError(j.status());
                       return;
                     }
                     r.SendJson(200, {{"success", true}, {"broadcast", std::move(*j)}});
                   }));
  VOXGATE_RETURN_IF_ERROR(server.Route(
      api::Method::kPost, base + "/{id}/say", api::Access::kAdmin,
      [this](const api::Request& request, api::Responder r) {
        auto body = ParseObject(request.body());
        if (!body.ok()) {
          r.SendError(body.status());
          return;
        }
        // espeak-ng takes a while for long text: off the I/O thread too.
        RunOffIo([this, id = std::string(request.PathParam("id")), body = std::move(*body), r] {
          auto j = Say(id, body);
          if (!j.ok()) {
            r.SendError(j.status());
            return;
          }
          r.SendJson(200, {{"success", true}, {"say", std::move(*j)}});
        });
      }));
  VOXGATE_RETURN_IF_ERROR(
      server.Route(api::Method::kDelete, base + "/{id}", api::Access::kAdmin,
                   [this](const api::Request& request, api::Responder r) {
                     const std::string id(request.PathParam("id"));
                     if (!Find(id)) {
                       r.SendError(NotFoundError(fmt::format("no broadcast '{}'", id)));
                       return;
                     }
                     RunOffIo([this, id, r] {
                       auto j = Stop(id);
                       if (!j.ok()) {
                         r.SendError(j.status());
                         return;
                       }
                       r.SendJson(200, {{"success", true}, {"broadcast", std::move(*j)}});
                     });
                   }));
  // A preview of the picture being pushed, for the console: a PNG at most 640 pixels wide, made
  // at most once a second per broadcast however many ask (encoding runs off the I/O threads).
  VOXGATE_RETURN_IF_ERROR(server.Route(
      api::Method::kGet, base + "/{id}/preview", api::Access::kAdmin,
      [this](const api::Request& request, api::Responder r) {
        const std::string id(request.PathParam("id"));
        auto e = Find(id);
        if (!e) {
          r.SendError(NotFoundError(fmt::format("no broadcast '{}'", id)));
          return;
        }
        auto send = [r](std::string png) {
          api::Response res;
          res.content_type = "image/png";
          res.body = std::move(png);
          res.WithHeader("Cache-Control", "no-store");
          r.Send(std::move(res));
        };
        {
          std::lock_guard lock(e->preview_mu);
          if (!e->preview_png.empty() &&
              std::chrono::steady_clock::now() - e->preview_at < std::chrono::seconds(1)) {
            send(e->preview_png);
            return;
          }
        }
        RunOffIo([e, r, send] {
          std::lock_guard lock(e->preview_mu);  // one encoder per broadcast; others wait and reuse
          if (e->preview_png.empty() ||
              std::chrono::steady_clock::now() - e->preview_at >= std::chrono::seconds(1)) {
            auto png = e->session->PreviewPng(640, 2000);
            if (!png.ok()) {
              r.SendError(png.status());
              return;
            }
            e->preview_png = std::move(*png);
            e->preview_at = std::chrono::steady_clock::now();
          }
          send(e->preview_png);
        });
      }));
  api::WebSocketOptions ws;
  ws.max_message_bytes = size_t(4096) * 4096 * 4;  // the largest picture a broadcast may have
  ws.max_queued_out_bytes = 64 * 1024;
  VOXGATE_RETURN_IF_ERROR(server.WebSocketRoute(
      base + "/{id}/video", api::Access::kAdmin,
      [this](const api::Request& request, std::shared_ptr<api::WebSocketConnection> c)
          -> Result<std::shared_ptr<api::WebSocketHandler>> {
        const std::string id(request.PathParam("id"));
        auto e = Find(id);
        if (!e) return NotFoundError(fmt::format("no broadcast '{}'", id));
        if (e->config.video_source != "external") {
          return Status(StatusCode::kUnusable,
                        "broadcast '" + id + "' draws its own pictures (video \"presenter\")");
        }
        return std::shared_ptr<api::WebSocketHandler>(
            std::make_shared<VideoSocket>(this, id, std::move(c)));
      },
      ws));
  return Status::Ok();
}

}  // namespace voxgate::app
