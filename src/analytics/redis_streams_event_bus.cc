#include "analytics/redis_streams_event_bus.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>

namespace voxgate::analytics {

Status RedisEventBusConfig::Validate() const {
  if (stream_key.empty()) return InvalidArgumentError("events.stream_key must not be empty");
  if (maxlen < 1) return InvalidArgumentError("events.maxlen must be >= 1");
  if (node_id.empty()) return InvalidArgumentError("events.node_id must not be empty");
  if (group.empty()) return InvalidArgumentError("events.group must not be empty");
  if (block_ms < 1 || block_ms > 60000) {
    return InvalidArgumentError("events.block_ms must be in [1, 60000]");
  }
  if (queue_capacity < 1 || queue_capacity > 10000000) {
    return InvalidArgumentError("events.queue_capacity must be in [1, 10000000]");
  }
  if (batch_size < 1 || batch_size > 10000) {
    return InvalidArgumentError("events.batch_size must be in [1, 10000]");
  }
  if (backoff_min_ms < 1 || backoff_max_ms < backoff_min_ms) {
    return InvalidArgumentError("events: need 1 <= backoff_min_ms <= backoff_max_ms");
  }
  return Status::Ok();
}

std::string RedisEventBusConfig::ToString() const {
  return fmt::format(
      "{{stream_key={}, maxlen~{}, node_id={}, group={}, block_ms={}, queue_capacity={}, "
      "batch_size={}, backoff_ms={}..{}}}",
      stream_key, maxlen, node_id, group, block_ms, queue_capacity, batch_size, backoff_min_ms,
      backoff_max_ms);
}

Status RedisEventBusConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("stream_key", &stream_key));
  VOXGATE_RETURN_IF_ERROR(node.Get("maxlen", &maxlen));
  VOXGATE_RETURN_IF_ERROR(node.Get("node_id", &node_id));
  VOXGATE_RETURN_IF_ERROR(node.Get("group", &group));
  VOXGATE_RETURN_IF_ERROR(node.Get("block_ms", &block_ms));
  VOXGATE_RETURN_IF_ERROR(node.Get("queue_capacity", &queue_capacity));
  VOXGATE_RETURN_IF_ERROR(node.Get("batch_size", &batch_size));
  VOXGATE_RETURN_IF_ERROR(node.Get("backoff_min_ms", &backoff_min_ms));
  return node.Get("backoff_max_ms", &backoff_max_ms);
}

nlohmann::json StreamEvent::ToJson() const {
  nlohmann::json j = event.ToJson();
  j["id"] = id;
  j["node_id"] = node_id;
  return j;
}

// Publish through the parent, subscribe to its local-only bus.
class RedisStreamsEventBus::LocalView final : public EventBus {
 public:
  explicit LocalView(std::shared_ptr<RedisStreamsEventBus> bus) : bus_(std::move(bus)) {}
  void Publish(const Event& event) override { bus_->Publish(event); }
  std::shared_ptr<Subscription> Subscribe(std::string type_prefix, size_t capacity) override {
    return bus_->local_.Subscribe(std::move(type_prefix), capacity);
  }

 private:
  const std::shared_ptr<RedisStreamsEventBus> bus_;
};

Result<std::shared_ptr<RedisStreamsEventBus>> RedisStreamsEventBus::Create(
    const RedisEventBusConfig& config, std::shared_ptr<RedisClient> client,
    std::shared_ptr<metrics::Registry> registry) {
  VOXGATE_RETURN_IF_ERROR(config.Validate().WithContext("events"));
  if (!client) return InvalidArgumentError("events: no Redis client");
  // A blocking XREAD holds its connection for up to block_ms: it gets a client of its own, whose
  // command timeout outlasts the block.
  RedisClientOptions reader_options = client->options();
  reader_options.pool_size = 1;
  reader_options.command_timeout_ms =
      std::max(reader_options.command_timeout_ms, config.block_ms + 1000);
  VOXGATE_ASSIGN_OR_RETURN(std::unique_ptr<RedisClient> reader,
                           RedisClient::Create(reader_options));
  std::shared_ptr<RedisStreamsEventBus> bus(
      new RedisStreamsEventBus(config, std::move(client), std::move(reader), std::move(registry)));
  bus->writer_ = std::thread([b = bus.get()] { b->WriterLoop(); });
  bus->reader_ = std::thread([b = bus.get()] { b->ReaderLoop(); });
  return bus;
}

RedisStreamsEventBus::RedisStreamsEventBus(const RedisEventBusConfig& config,
                                           std::shared_ptr<RedisClient> client,
                                           std::unique_ptr<RedisClient> reader_client,
                                           std::shared_ptr<metrics::Registry> registry)
    : config_(config),
      client_(std::move(client)),
      reader_client_(std::move(reader_client)),
      registry_(std::move(registry)) {
  metrics::Registry& r = registry_ ? *registry_ : metrics::Registry::Default();
  published_metric_ =
      &r.GetCounter("voxgate_events_published_total", "Events published on this node");
  dropped_metric_ = &r.GetCounter("voxgate_events_dropped_total",
                                  "Events dropped before reaching Redis (write queue full)");
  failed_metric_ = &r.GetCounter("voxgate_events_failed_total",
                                 "Events in a Redis write that failed (counted per attempt)");
  received_remote_metric_ = &r.GetCounter("voxgate_events_received_remote_total",
                                          "Events of other nodes read from the Redis stream");
}

RedisStreamsEventBus::~RedisStreamsEventBus() { Stop(); }

void RedisStreamsEventBus::Publish(const Event& event) {
  published_.fetch_add(1, std::memory_order_relaxed);
  published_metric_->Increment();
  all_.Publish(event);
  local_.Publish(event);
  bool dropped = false;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;  // local delivery only once stopped
    if (queue_.size() >= static_cast<size_t>(config_.queue_capacity)) {
      queue_.pop_front();
      dropped = true;
    }
    queue_.push_back(event);
  }
  if (dropped) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    dropped_metric_->Increment();
  }
  cv_.notify_one();
}

std::shared_ptr<Subscription> RedisStreamsEventBus::Subscribe(std::string type_prefix,
                                                              size_t capacity) {
  return all_.Subscribe(std::move(type_prefix), capacity);
}

std::shared_ptr<EventBus> RedisStreamsEventBus::LocalOnly() {
  return std::make_shared<LocalView>(shared_from_this());
}

size_t RedisStreamsEventBus::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void RedisStreamsEventBus::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  cv_.notify_all();
  stop_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (reader_.joinable()) reader_.join();
}

bool RedisStreamsEventBus::SleepUnlessStopped(int ms) {
  std::unique_lock lock(mu_);
  stop_cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_; });
  return !stopping_;
}

std::vector<std::string> RedisStreamsEventBus::XAddArgs(const RedisEventBusConfig& config,
                                                        const std::string& node_id,
                                                        const Event& event) {
  return {"XADD", config.stream_key, "MAXLEN", "~", std::to_string(config.maxlen), "*", "node",
          node_id, "type", event.type, "session", event.session_id, "time_ms",
          std::to_string(event.time_ms), "data",
          // Non-UTF-8 strings in data must not throw out of the writer thread.
          event.data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

void RedisStreamsEventBus::WriterLoop() {
  int backoff_ms = config_.backoff_min_ms;
  bool outage_logged = false;
  std::vector<Event> batch;
  std::vector<std::vector<std::string>> commands;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, all written
      const size_t n = std::min(queue_.size(), static_cast<size_t>(config_.batch_size));
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    }
    commands.clear();
    for (const Event& e : batch) commands.push_back(XAddArgs(config_, config_.node_id, e));
    Result<std::vector<RedisReply>> replies = client_->Pipeline(commands);
    Status error = replies.status();
    if (replies.ok()) {
      // Error replies: a transient one (LOADING after a restart, BUSY, ...) is retried like a
      // lost connection; any other (WRONGTYPE: the key is not a stream) would fail again, so the
      // event is dropped.
      std::vector<Event> retry;
      uint64_t refused = 0;
      for (size_t i = 0; i < replies->size() && i < batch.size(); ++i) {
        const RedisReply& r = (*replies)[i];
        if (!r.is_error()) continue;
        Status s = RedisErrorStatus(r.str);
        if (s.code() == StatusCode::kUnavailable) {
          retry.push_back(std::move(batch[i]));
          error = s;
        } else {
          ++refused;
          if (refused == 1) spdlog::warn("events: Redis refused XADD: {}", s.ToString());
        }
      }
      const uint64_t ok = batch.size() - retry.size() - refused;
      written_.fetch_add(ok);
      if (refused > 0) {
        failed_.fetch_add(refused);
        failed_metric_->Increment(static_cast<double>(refused));
        dropped_.fetch_add(refused);
        dropped_metric_->Increment(static_cast<double>(refused));
      }
      if (retry.empty()) {
        if (outage_logged) spdlog::info("events: writing to Redis again");
        outage_logged = false;
        backoff_ms = config_.backoff_min_ms;
        continue;
      }
      batch = std::move(retry);
    }
    failed_.fetch_add(batch.size());
    failed_metric_->Increment(static_cast<double>(batch.size()));
    if (!outage_logged) {
      spdlog::warn("events: cannot write to Redis ({}); buffering up to {} events",
                   error.ToString(), config_.queue_capacity);
      outage_logged = true;
    }
    // Put the batch back in front of what came meanwhile; what no longer fits is the oldest.
    uint64_t lost = 0;
    bool stopping = false;
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
      if (!stopping) {
        for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
          if (queue_.size() >= static_cast<size_t>(config_.queue_capacity)) {
            ++lost;
            continue;
          }
          queue_.push_front(std::move(*it));
        }
      } else {
        // Stopping and Redis is not answering: give up on what is left.
        lost = batch.size() + queue_.size();
        queue_.clear();
      }
    }
    if (lost > 0) {
      dropped_.fetch_add(lost);
      dropped_metric_->Increment(static_cast<double>(lost));
    }
    if (stopping) return;
    SleepUnlessStopped(backoff_ms);
    backoff_ms = std::min(backoff_ms * 2, config_.backoff_max_ms);
  }
}

bool RedisStreamsEventBus::IdLess(const std::string& a, const std::string& b) {
  auto parse = [](const std::string& id) {
    uint64_t ms = 0;
    uint64_t seq = 0;
    const char* end = id.data() + id.size();
    auto [p, ec] = std::from_chars(id.data(), end, ms);
    if (ec == std::errc() && p < end && *p == '-') std::from_chars(p + 1, end, seq);
    return std::pair(ms, seq);
  };
  return parse(a) < parse(b);
}

void RedisStreamsEventBus::ReaderLoop() {
  std::string last_id;  // empty: not yet known
  int backoff_ms = config_.backoff_min_ms;
  const std::string count = std::to_string(config_.batch_size);
  const std::string block = std::to_string(config_.block_ms);
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    Status error;
    if (last_id.empty()) {
      Result<std::string> id = LastId(*reader_client_, config_.stream_key);
      if (id.ok()) {
        last_id = *id;
        reading_.store(true);
        continue;
      }
      error = id.status();
    } else {
      Result<RedisReply> reply = reader_client_->Command(
          {"XREAD", "COUNT", count, "BLOCK", block, "STREAMS", config_.stream_key, last_id});
      if (reply.ok()) {
        backoff_ms = config_.backoff_min_ms;
        std::vector<std::string> malformed;
        for (StreamEvent& e : ParseEntries(*reply, &malformed)) {
          last_id = e.id;
          if (e.node_id == config_.node_id) continue;  // delivered when published
          received_remote_.fetch_add(1, std::memory_order_relaxed);
          received_remote_metric_->Increment();
          all_.Publish(e.event);
        }
        if (!malformed.empty()) {
          last_id = std::max(last_id, malformed.back(), IdLess);
          spdlog::warn("events: skipped {} malformed entries of {}", malformed.size(),
                       config_.stream_key);
        }
        continue;
      }
      error = reply.status();
    }
    spdlog::debug("events: reading {}: {}", config_.stream_key, error.ToString());
    if (!SleepUnlessStopped(backoff_ms)) return;
    backoff_ms = std::min(backoff_ms * 2, config_.backoff_max_ms);
  }
}

Result<std::string> RedisStreamsEventBus::LastId(RedisClient& client,
                                                 const std::string& stream_key) {
  VOXGATE_ASSIGN_OR_RETURN(RedisReply reply,
                           client.Command({"XREVRANGE", stream_key, "+", "-", "COUNT", "1"}));
  if (reply.is_array() && !reply.elements.empty() && reply.elements[0].is_array() &&
      !reply.elements[0].elements.empty() && reply.elements[0].elements[0].is_string()) {
    return reply.elements[0].elements[0].str;
  }
  return std::string("0-0");
}

namespace {

// "<ms>-<seq>", both decimal: what Redis gives every stream entry. Anything else is not an entry
// (an empty id from a malformed reply would reset the reader's cursor: found by
// redis_entries_fuzz).
bool IsStreamId(const std::string& id) {
  const size_t dash = id.find('-');
  auto digits = [](std::string_view s) {
    return !s.empty() && s.size() <= 20 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return dash != std::string::npos && digits(std::string_view(id).substr(0, dash)) &&
         digits(std::string_view(id).substr(dash + 1));
}

// [id, [field, value, ...]]: an entry (fields nil for an entry deleted since it was delivered).
bool IsEntry(const RedisReply& r) {
  if (!r.is_array() || r.elements.size() != 2 || !r.elements[0].is_string() ||
      !IsStreamId(r.elements[0].str)) {
    return false;
  }
  const RedisReply& fields = r.elements[1];
  if (fields.is_nil()) return true;
  // Redis has no entry without fields, so [name, []] is an empty XREAD stream, not an entry.
  if (!fields.is_array() || fields.elements.empty()) return false;
  return std::all_of(fields.elements.begin(), fields.elements.end(),
                     [](const RedisReply& f) { return f.is_string(); });
}

bool DecodeEntry(const RedisReply& r, StreamEvent* out) {
  out->id = r.elements[0].str;
  const RedisReply& fields = r.elements[1];
  if (!fields.is_array() || fields.elements.size() % 2 != 0) return false;
  bool has_type = false;
  for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    const std::string& key = fields.elements[i].str;
    const std::string& value = fields.elements[i + 1].str;
    if (key == "node") {
      out->node_id = value;
    } else if (key == "type") {
      out->event.type = value;
      has_type = !value.empty();
    } else if (key == "session") {
      out->event.session_id = value;
    } else if (key == "time_ms") {
      int64_t t = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), t);
      if (ec != std::errc() || p != value.data() + value.size()) return false;
      out->event.time_ms = t;
    } else if (key == "data") {
      nlohmann::json data = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
      if (data.is_discarded()) return false;
      out->event.data = std::move(data);
    }
  }
  return has_type;
}

void CollectEntries(const RedisReply& reply, int depth, std::vector<StreamEvent>* out,
                    std::vector<std::string>* malformed) {
  if (!reply.is_array() || depth > 3) return;
  for (const RedisReply& r : reply.elements) {
    if (IsEntry(r)) {
      StreamEvent e;
      if (DecodeEntry(r, &e)) {
        out->push_back(std::move(e));
      } else if (malformed) {
        malformed->push_back(r.elements[0].str);
      }
    } else if (r.is_array() && r.elements.size() == 2 && r.elements[0].is_string()) {
      // XREAD: [stream name, [entries]].
      CollectEntries(r.elements[1], depth + 1, out, malformed);
    }
  }
}

}  // namespace

std::vector<StreamEvent> RedisStreamsEventBus::ParseEntries(const RedisReply& reply,
                                                            std::vector<std::string>* malformed) {
  std::vector<StreamEvent> out;
  CollectEntries(reply, 0, &out, malformed);
  return out;
}

}  // namespace voxgate::analytics
