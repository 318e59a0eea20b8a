#include "store/tiered_store.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "store/postgres_store.h"
#include "store/record_validation.h"
#include "store/redis_store.h"
#include "store/sqlite_store.h"

namespace voxgate::store {

namespace {

// After a failed Redis command, skip Redis for this long: a down Redis must not add a connect
// attempt to every read.
constexpr int64_t kRedisRetryPauseMs = 500;

// KEYS[1]: cache hash. ARGV: gen seen before the durable read, sealed record, ttl (0: none).
// Stores the record only if no write bumped gen since.
constexpr const char* kFillScript = R"lua(
local g = redis.call('HGET', KEYS[1], 'gen') or '0'
if g ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rec', ARGV[2])
if ARGV[3] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1
)lua";

// KEYS[1]: cache hash. ARGV[1]: ttl. Drops the record and bumps gen (fills in flight fail).
constexpr const char* kInvalidateScript = R"lua(
redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HDEL', KEYS[1], 'rec')
if ARGV[1] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 1
)lua";

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Messages: "U <node> <user_id>" (a user changed) or "E <node> <epoch>" (cache epoch bumped).
std::string Message(char kind, const std::string& node, std::string_view body) {
  std::string m;
  m.push_back(kind);
  m += ' ';
  m += node;
  m += ' ';
  m += body;
  return m;
}

}  // namespace

Result<std::unique_ptr<TieredStore>> TieredStore::Open(
    const StoreConfig& config, std::shared_ptr<const EmbeddingCipher> cipher) {
  VOXGATE_RETURN_IF_ERROR(config.tiered.Validate());
  std::unique_ptr<VoiceprintStore> durable;
  if (config.tiered.durable == "sqlite") {
    auto s = SqliteStore::Open(config, cipher);
    if (!s.ok()) return s.status().WithContext("tiered store: durable tier (sqlite)");
    durable = std::move(s).value();
  } else if (config.tiered.durable == "postgres") {
    auto s = PostgresStore::Open(config, cipher);
    if (!s.ok()) return s.status().WithContext("tiered store: durable tier (postgres)");
    durable = std::move(s).value();
  } else {
    return InvalidArgumentError("store.tiered.durable must be \"postgres\" or \"sqlite\"");
  }
  return Open(config, std::move(cipher), std::move(durable));
}

Result<std::unique_ptr<TieredStore>> TieredStore::Open(
    const StoreConfig& config, std::shared_ptr<const EmbeddingCipher> cipher,
    std::unique_ptr<VoiceprintStore> durable) {
  VOXGATE_RETURN_IF_ERROR(config.redis.Validate());
  VOXGATE_RETURN_IF_ERROR(config.tiered.Validate());
  if (cipher == nullptr || durable == nullptr) {
    return InvalidArgumentError("TieredStore needs an EmbeddingCipher and a durable tier");
  }
  RedisClientOptions o;
  o.url = config.redis.ResolvedUrl();
  o.pool_size = config.redis.pool_size;
  o.connect_timeout_ms = config.redis.connect_timeout_ms;
  o.command_timeout_ms = config.redis.command_timeout_ms;
  VOXGATE_ASSIGN_OR_RETURN(std::unique_ptr<RedisClient> redis, RedisClient::Create(o));
  std::unique_ptr<TieredStore> store(
      new TieredStore(config, std::move(cipher), std::move(durable), std::move(redis)));
  auto epoch = store->redis_->Command({"GET", store->prefix_ + "cache:epoch"});
  if (epoch.ok()) {
    std::lock_guard lock(store->epoch_mu_);
    store->epoch_ = epoch->is_nil() ? "0" : epoch->str;
  } else {
    spdlog::warn("tiered store: redis unavailable at start, serving from the durable tier: {}",
                 epoch.status().ToString());
    store->RedisFailed(epoch.status());
  }
  VOXGATE_RETURN_IF_ERROR(store->StartSubscriber());
  return store;
}

TieredStore::TieredStore(StoreConfig config, std::shared_ptr<const EmbeddingCipher> cipher,
                         std::unique_ptr<VoiceprintStore> durable,
                         std::unique_ptr<RedisClient> redis)
    : config_(std::move(config)),
      prefix_(config_.redis.key_prefix),
      channel_(prefix_ + "cache:invalidate"),
      node_id_(RandomId()),
      cipher_(std::move(cipher)),
      durable_(std::move(durable)),
      redis_(std::move(redis)) {}

TieredStore::~TieredStore() {
  if (subscriber_) subscriber_->Stop();
}

Status TieredStore::StartSubscriber() {
  RedisSubscriberOptions so;
  so.connection = redis_->options();
  so.channels = {channel_};
  so.max_backoff_ms = 1000;
  VOXGATE_ASSIGN_OR_RETURN(subscriber_, RedisSubscriber::Create(
                                            so, [this](const RedisMessage& m) { OnMessage(m); },
                                            [this] { OnSubscribed(); }));
  subscriber_->Start();
  return Status::Ok();
}

bool TieredStore::subscribed() const { return subscriber_ && subscriber_->connected(); }

TieredStore::Counters TieredStore::counters() const {
  Counters c;
  c.memory_hits = memory_hits_.load();
  c.memory_misses = memory_misses_.load();
  c.redis_hits = redis_hits_.load();
  c.redis_misses = redis_misses_.load();
  c.redis_errors = redis_errors_.load();
  c.degraded_reads = degraded_reads_.load();
  c.durable_reads = durable_reads_.load();
  c.invalidations_sent = invalidations_sent_.load();
  c.invalidations_received = invalidations_received_.load();
  c.epoch_bumps = epoch_bumps_.load();
  return c;
}

// --- memory tier -----------------------------------------------------------------------------

bool TieredStore::MemoryGet(std::string_view user_id, VoiceprintRecord* out) {
  if (config_.tiered.memory_capacity <= 0 || !subscribed()) return false;
  std::lock_guard lock(mem_mu_);
  auto it = index_.find(std::string(user_id));
  if (it == index_.end()) return false;
  if (std::chrono::steady_clock::now() >= it->second->expires_at) {
    lru_.erase(it->second);
    index_.erase(it);
    return false;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  *out = it->second->record;
  return true;
}

void TieredStore::MemoryPut(const VoiceprintRecord& record, uint64_t seen_generation) {
  if (config_.tiered.memory_capacity <= 0 || !subscribed()) return;
  std::lock_guard lock(mem_mu_);
  // Checked under the lock that MemoryErase/MemoryClear take after bumping the generation: a
  // fill can never land after an invalidation it raced with.
  if (mem_generation_.load(std::memory_order_acquire) != seen_generation) return;
  auto it = index_.find(record.user_id);
  if (it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front(
      {record.user_id, record,
       std::chrono::steady_clock::now() + std::chrono::seconds(config_.tiered.memory_ttl_s)});
  index_[record.user_id] = lru_.begin();
  while (static_cast<int>(lru_.size()) > config_.tiered.memory_capacity) {
    index_.erase(lru_.back().user_id);
    lru_.pop_back();
  }
}

void TieredStore::MemoryErase(std::string_view user_id) {
  std::lock_guard lock(mem_mu_);
  mem_generation_.fetch_add(1, std::memory_order_acq_rel);
  auto it = index_.find(std::string(user_id));
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

void TieredStore::MemoryClear() {
  std::lock_guard lock(mem_mu_);
  mem_generation_.fetch_add(1, std::memory_order_acq_rel);
  lru_.clear();
  index_.clear();
}

// --- Redis tier ------------------------------------------------------------------------------

bool TieredStore::RedisUsable() const {
  return SteadyMs() >= redis_retry_at_ms_.load(std::memory_order_acquire);
}

void TieredStore::RedisFailed(const Status& status) {
  redis_errors_.fetch_add(1, std::memory_order_relaxed);
  // Only a lost connection can hide invalidations; a script error is a bug, not an outage.
  if (status.code() == StatusCode::kUnavailable) {
    redis_retry_at_ms_.store(SteadyMs() + kRedisRetryPauseMs, std::memory_order_release);
    epoch_owed_.store(true, std::memory_order_release);
  }
}

Result<std::string> TieredStore::CacheKey(std::string_view user_id) {
  if (epoch_owed_.load(std::memory_order_acquire)) {
    std::lock_guard lock(epoch_mu_);
    if (epoch_owed_.load(std::memory_order_acquire)) {
      auto bumped = redis_->Command({"INCR", prefix_ + "cache:epoch"});
      if (!bumped.ok()) return bumped.status();
      epoch_ = std::to_string(bumped->integer);
      epoch_owed_.store(false, std::memory_order_release);
      epoch_bumps_.fetch_add(1, std::memory_order_relaxed);
      MemoryClear();
      // Best effort: a node that misses this learns the epoch when its subscriber reconnects.
      auto published = redis_->Command({"PUBLISH", channel_, Message('E', node_id_, epoch_)});
      if (!published.ok()) return published.status();
    }
  }
  std::lock_guard lock(epoch_mu_);
  return prefix_ + "cache:" + epoch_ + ":vp:" + std::string(user_id);
}

void TieredStore::Invalidate(std::string_view user_id) {
  MemoryErase(user_id);
  if (!RedisUsable()) {
    epoch_owed_.store(true, std::memory_order_release);
    return;
  }
  auto key = CacheKey(user_id);
  if (!key.ok()) {
    RedisFailed(key.status());
    epoch_owed_.store(true, std::memory_order_release);
    return;
  }
  auto replies = redis_->Pipeline(
      {{"EVAL", kInvalidateScript, "1", *key, std::to_string(config_.redis.cache_ttl_s)},
       {"PUBLISH", channel_, Message('U', node_id_, user_id)}});
  if (!replies.ok()) {
    RedisFailed(replies.status());
    epoch_owed_.store(true, std::memory_order_release);
    return;
  }
  for (const RedisReply& r : *replies) {
    if (r.is_error()) {
      RedisFailed(RedisErrorStatus(r.str));
      epoch_owed_.store(true, std::memory_order_release);
      return;
    }
  }
  invalidations_sent_.fetch_add(1, std::memory_order_relaxed);
}

void TieredStore::OnMessage(const RedisMessage& message) {
  const std::string& p = message.payload;
  if (p.size() < 4 || p[1] != ' ') return;
  const size_t space = p.find(' ', 2);
  if (space == std::string::npos) return;
  const std::string node = p.substr(2, space - 2);
  const std::string body = p.substr(space + 1);
  if (p[0] == 'E') {
    {
      std::lock_guard lock(epoch_mu_);
      // Epochs only grow; an old announcement arriving late changes nothing.
      if (body.size() > epoch_.size() || (body.size() == epoch_.size() && body > epoch_)) {
        epoch_ = body;
      }
    }
    MemoryClear();
    // Another node bumped the epoch because it could not reach Redis for a while: its
    // invalidations of that time never came, so the owner must reload everything.
    if (node != node_id_) NotifyListener("");
    return;
  }
  if (p[0] != 'U' || node == node_id_) return;
  invalidations_received_.fetch_add(1, std::memory_order_relaxed);
  MemoryErase(body);
  NotifyListener(body);
}

void TieredStore::OnSubscribed() {
  // Messages published while we were not subscribed are lost: forget every in-process copy,
  // and (after a reconnect) start a new Redis cache epoch and have the owner reload.
  MemoryClear();
  if (subscriber_ && subscriber_->subscriptions() > 1) {
    epoch_owed_.store(true, std::memory_order_release);
    NotifyListener("");
  }
}

void TieredStore::NotifyListener(const std::string& user_id) {
  std::lock_guard lock(listener_mu_);
  if (listener_) listener_(user_id);
}

void TieredStore::SetChangeListener(std::function<void(const std::string& user_id)> listener) {
  std::lock_guard lock(listener_mu_);
  listener_ = std::move(listener);
}

// --- reads -----------------------------------------------------------------------------------

Result<VoiceprintRecord> TieredStore::Get(std::string_view user_id) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  VoiceprintRecord record;
  if (MemoryGet(user_id, &record)) {
    memory_hits_.fetch_add(1, std::memory_order_relaxed);
    return record;
  }
  memory_misses_.fetch_add(1, std::memory_order_relaxed);
  const uint64_t generation = mem_generation_.load(std::memory_order_acquire);

  std::string cache_key;
  std::string seen_gen;  // empty: Redis not usable for this read
  if (RedisUsable()) {
    auto key = CacheKey(user_id);
    Result<RedisReply> cached = key.ok() ? redis_->Command({"HMGET", *key, "gen", "rec"})
                                         : Result<RedisReply>(key.status());
    if (!cached.ok()) {
      RedisFailed(cached.status());
    } else if (cached->elements.size() == 2) {
      cache_key = *key;
      seen_gen = cached->elements[0].is_nil() ? "0" : cached->elements[0].str;
      if (!cached->elements[1].is_nil()) {
        auto opened = RedisStore::OpenRecord(cached->elements[1].str, *cipher_, true);
        if (opened.ok() && opened->user_id == user_id) {
          redis_hits_.fetch_add(1, std::memory_order_relaxed);
          MemoryPut(*opened, generation);
          return std::move(opened).value();
        }
        // Undecodable (another key, a bug): ignore it; the fill below overwrites it.
        spdlog::warn("tiered store: dropping an unreadable cache entry for {}: {}", user_id,
                     opened.ok() ? "wrong user" : opened.status().ToString());
      }
      redis_misses_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (seen_gen.empty()) degraded_reads_.fetch_add(1, std::memory_order_relaxed);

  durable_reads_.fetch_add(1, std::memory_order_relaxed);
  VOXGATE_ASSIGN_OR_RETURN(record, durable_->Get(user_id));
  if (!seen_gen.empty()) {
    auto sealed = RedisStore::SealRecord(record, *cipher_);
    if (sealed.ok()) {
      auto filled = redis_->Command({"EVAL", kFillScript, "1", cache_key, seen_gen, *sealed,
                                     std::to_string(config_.redis.cache_ttl_s)});
      if (!filled.ok()) RedisFailed(filled.status());
    }
  }
  MemoryPut(record, generation);
  return record;
}

Result<ListPage> TieredStore::List(const ListQuery& query) { return durable_->List(query); }

Result<std::vector<VoiceprintRecord>> TieredStore::LoadActive() { return durable_->LoadActive(); }

Result<int64_t> TieredStore::AppendAudit(const AuditEvent& event) {
  return durable_->AppendAudit(event);
}

Result<AuditPage> TieredStore::ReadAudit(const AuditQuery& query) {
  return durable_->ReadAudit(query);
}

// --- writes ----------------------------------------------------------------------------------

template <typename T>
T TieredStore::AfterWrite(std::string_view user_id, T result) {
  // Invalidate after every attempt that may have reached the durable tier, successful or not: a
  // lost connection during a commit leaves its outcome unknown, and a spare invalidation only
  // costs a cache miss. Refusals decided before any change (bad input, unknown user, conflict)
  // changed nothing.
  const StatusCode code = result.ok() ? StatusCode::kOk : result.status().code();
  if (code == StatusCode::kInvalidArgument || code == StatusCode::kNotFound ||
      code == StatusCode::kAlreadyExists) {
    return result;
  }
  Invalidate(user_id);
  return result;
}

Result<VoiceprintRecord> TieredStore::CreateVoiceprint(VoiceprintRecord record) {
  const std::string user_id = record.user_id;
  return AfterWrite(user_id, durable_->CreateVoiceprint(std::move(record)));
}

Result<int64_t> TieredStore::AddSamples(std::string_view user_id,
                                        std::vector<VoiceprintSample> samples) {
  return AfterWrite(user_id, durable_->AddSamples(user_id, std::move(samples)));
}

Result<int64_t> TieredStore::ReplaceSamples(std::string_view user_id,
                                            std::vector<VoiceprintSample> samples) {
  return AfterWrite(user_id, durable_->ReplaceSamples(user_id, std::move(samples)));
}

Result<int64_t> TieredStore::SetStatus(std::string_view user_id, UserStatus status) {
  return AfterWrite(user_id, durable_->SetStatus(user_id, status));
}

Result<int64_t> TieredStore::UpdateProfile(std::string_view user_id, const ProfileUpdate& update) {
  return AfterWrite(user_id, durable_->UpdateProfile(user_id, update));
}

Status TieredStore::Delete(std::string_view user_id) {
  Status s = durable_->Delete(user_id);
  if (s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound) return s;
  Invalidate(user_id);
  return s;
}

// --- stats -----------------------------------------------------------------------------------

Result<StoreStats> TieredStore::Stats() {
  const Counters c = counters();
  StoreStats memory;
  memory.backend = "memory";
  memory.healthy = true;
  {
    std::lock_guard lock(mem_mu_);
    memory.users = static_cast<int64_t>(lru_.size());
  }
  memory.encryption = "none (process memory)";
  memory.details["capacity"] = std::to_string(config_.tiered.memory_capacity);
  memory.details["ttl_s"] = std::to_string(config_.tiered.memory_ttl_s);
  memory.details["hits"] = std::to_string(c.memory_hits);
  memory.details["misses"] = std::to_string(c.memory_misses);
  memory.details["in_use"] = subscribed() ? "yes" : "no (invalidation channel down)";

  StoreStats redis;
  redis.backend = "redis";
  redis.encryption = "aes-256-gcm";
  redis.key_fingerprint = cipher_->key_fingerprint();
  auto info = redis_->Command({"INFO", "memory"});
  redis.healthy = info.ok();
  if (info.ok()) {
    const std::string needle = "used_memory:";
    const size_t pos = info->str.find(needle);
    if (pos != std::string::npos) {
      const size_t b = pos + needle.size();
      redis.details["used_memory"] = info->str.substr(b, info->str.find_first_of("\r\n", b) - b);
    }
  } else {
    redis.details["error"] = info.status().ToString();
  }
  redis.details["url"] = redis_->redacted_url();
  redis.details["hits"] = std::to_string(c.redis_hits);
  redis.details["misses"] = std::to_string(c.redis_misses);
  redis.details["errors"] = std::to_string(c.redis_errors);
  redis.details["degraded_reads"] = std::to_string(c.degraded_reads);
  redis.details["invalidations_sent"] = std::to_string(c.invalidations_sent);
  redis.details["invalidations_received"] = std::to_string(c.invalidations_received);
  redis.details["epoch_bumps"] = std::to_string(c.epoch_bumps);
  redis.details["subscribed"] = subscribed() ? "yes" : "no";
  {
    std::lock_guard lock(epoch_mu_);
    redis.details["epoch"] = epoch_;
  }
  redis.details["cache_ttl_s"] = std::to_string(config_.redis.cache_ttl_s);

  StoreStats durable;
  auto d = durable_->Stats();
  if (d.ok()) {
    durable = std::move(d).value();
  } else {
    durable.healthy = false;
    durable.backend = config_.tiered.durable;
    durable.details["error"] = d.status().ToString();
  }
  durable.details["reads"] = std::to_string(c.durable_reads);

  StoreStats out = durable;  // the counts are the durable tier's: it holds every record
  out.backend = "tiered";
  out.tiers.clear();
  out.details.clear();
  out.details["durable"] = durable.backend;
  out.details["degraded"] = redis.healthy && subscribed() ? "no" : "yes";
  out.tiers = {std::move(memory), std::move(redis), std::move(durable)};
  return out;
}

Status TieredStore::Ping() { return durable_->Ping(); }

}  // namespace voxgate::store
