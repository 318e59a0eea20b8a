// TieredStore (backend "tiered"): an in-process LRU cache -> a Redis cache shared by every node
// -> a durable VoiceprintStore (PostgreSQL, or SQLite on one box). The durable tier is the
// truth; both caches only ever hold copies of what it acknowledged.
//
// Writes go to the durable tier first; only after it answered does the node drop its own
// in-process copy, invalidate the Redis copy and publish the user id on the invalidation channel
// (<prefix>cache:invalidate), so every node drops its in-process copy at once and tells its
// change listener (see VoiceprintStore::SetChangeListener). A durable tier that is down fails the
// write with kUnavailable and nothing else is touched.
//
// Reads: memory (fresh for tiered.memory_ttl_s) -> Redis (cache_ttl_s) -> durable, filling the
// tiers above on the way back. Fills cannot resurrect an old value: every Redis cache entry is a
// hash {gen, rec} whose gen a write bumps; a fill stores its value only if gen is still the one
// seen before reading the durable tier (one Lua script); in-process fills are likewise dropped
// when any invalidation arrived meanwhile. List, LoadActive and the audit log go to the durable
// tier directly.
//
// Redis down: reads are served by the durable tier (counted as degraded reads) and writes still
// succeed; Redis is retried after a short pause. Because invalidations may have been missed
// while Redis was unreachable (or its subscriber reconnected), a node that saw Redis fail bumps
// the cache epoch (<prefix>cache:epoch, part of every cache key) before using the Redis cache
// again and announces it, so every node starts over with an empty Redis cache, and drops its
// in-process cache; the memory tier is not used while the subscriber is disconnected. Limit: a
// node cut off from Redis alone (a partition, Redis still up for the others) writes to the
// durable tier; the others may serve the old cached record until that node reaches Redis again
// or the entry's cache_ttl_s ends.
//
// Embeddings are sealed (embedding_cipher.h) in the Redis cache as in every tier; the in-process
// cache holds plain records (process memory, like the 1:N index).
//
// Thread-safe: every method may be called from many threads.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/redis_client.h"
#include "common/redis_subscriber.h"
#include "store/embedding_cipher.h"
#include "store/voiceprint_store.h"

namespace voxgate::store {

class TieredStore final : public VoiceprintStore {
 public:
  /// Opens the durable tier named by config.tiered.durable ("postgres" or "sqlite") and connects
  /// to Redis (config.redis). Redis being down at open is not an error (the store starts
  /// degraded); the durable tier being down is (its Open's status).
  static Result<std::unique_ptr<TieredStore>> Open(const StoreConfig& config,
                                                   std::shared_ptr<const EmbeddingCipher> cipher);
  /// The same over a durable tier the caller opened (tests, or a backend opened elsewhere).
  static Result<std::unique_ptr<TieredStore>> Open(const StoreConfig& config,
                                                   std::shared_ptr<const EmbeddingCipher> cipher,
                                                   std::unique_ptr<VoiceprintStore> durable);
  ~TieredStore() override;

  Result<VoiceprintRecord> CreateVoiceprint(VoiceprintRecord record) override;
  Result<int64_t> AddSamples(std::string_view user_id,
                             std::vector<VoiceprintSample> samples) override;
  Result<int64_t> ReplaceSamples(std::string_view user_id,
                                 std::vector<VoiceprintSample> samples) override;
  Result<VoiceprintRecord> Get(std::string_view user_id) override;
  Result<int64_t> SetStatus(std::string_view user_id, UserStatus status) override;
  Result<int64_t> UpdateProfile(std::string_view user_id, const ProfileUpdate& update) override;
  Status Delete(std::string_view user_id) override;
  Result<ListPage> List(const ListQuery& query) override;
  Result<std::vector<VoiceprintRecord>> LoadActive() override;
  Result<int64_t> AppendAudit(const AuditEvent& event) override;
  Result<AuditPage> ReadAudit(const AuditQuery& query) override;
  /// backend "tiered", the durable tier's counts, and `tiers`: memory, redis, durable, each with
  /// its health and hit/miss counts in `details`.
  Result<StoreStats> Stats() override;
  /// The durable tier's Ping: with Redis down the store still serves (degraded).
  Status Ping() override;
  /// Called (on the subscriber's thread) for users changed by other nodes, and with "" after the
  /// invalidation channel reconnected (messages may have been missed: reload everything).
  /// Setting a new listener (or none) waits for a call in progress to return.
  void SetChangeListener(std::function<void(const std::string& user_id)> listener) override;

  struct Counters {
    int64_t memory_hits = 0;
    int64_t memory_misses = 0;
    int64_t redis_hits = 0;
    int64_t redis_misses = 0;
    int64_t redis_errors = 0;    // Redis commands that failed (down, timeout)
    int64_t degraded_reads = 0;  // reads served by the durable tier because Redis was unusable
    int64_t durable_reads = 0;
    int64_t invalidations_sent = 0;
    int64_t invalidations_received = 0;  // from other nodes
    int64_t epoch_bumps = 0;
  };
  Counters counters() const;
  /// True while subscribed to the invalidation channel.
  bool subscribed() const;
  /// This node's random id (messages it published carry it and are ignored on return).
  const std::string& node_id() const { return node_id_; }

 private:
  struct MemoryEntry {
    std::string user_id;
    VoiceprintRecord record;
    std::chrono::steady_clock::time_point expires_at;
  };

  TieredStore(StoreConfig config, std::shared_ptr<const EmbeddingCipher> cipher,
              std::unique_ptr<VoiceprintStore> durable, std::unique_ptr<RedisClient> redis);
  Status StartSubscriber();

  // Memory tier.
  bool MemoryGet(std::string_view user_id, VoiceprintRecord* out);
  void MemoryPut(const VoiceprintRecord& record, uint64_t seen_generation);
  void MemoryErase(std::string_view user_id);
  void MemoryClear();

  // Redis tier.
  bool RedisUsable() const;
  void RedisFailed(const Status& status);
  Result<std::string> CacheKey(std::string_view user_id);  // bumps the epoch first if owed
  // After a durable write: drop every copy and tell the other nodes.
  void Invalidate(std::string_view user_id);
  void OnMessage(const RedisMessage& message);
  void OnSubscribed();
  void NotifyListener(const std::string& user_id);

  template <typename T>
  T AfterWrite(std::string_view user_id, T result);

  const StoreConfig config_;
  const std::string prefix_;
  const std::string channel_;
  const std::string node_id_;
  const std::shared_ptr<const EmbeddingCipher> cipher_;
  const std::unique_ptr<VoiceprintStore> durable_;
  const std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<RedisSubscriber> subscriber_;

  std::mutex mem_mu_;
  std::list<MemoryEntry> lru_;  // GUARDED_BY(mem_mu_): most recent first
  std::unordered_map<std::string, std::list<MemoryEntry>::iterator> index_;  // GUARDED_BY(mem_mu_)
  // Bumped by every invalidation: a fill that started before one is dropped.
  std::atomic<uint64_t> mem_generation_{0};

  std::mutex epoch_mu_;
  std::string epoch_ = "0";              // GUARDED_BY(epoch_mu_)
  std::atomic<bool> epoch_owed_{false};  // Redis failed since the epoch was last bumped
  std::atomic<int64_t> redis_retry_at_ms_{0};

  std::mutex listener_mu_;                            // held while the listener runs
  std::function<void(const std::string&)> listener_;  // GUARDED_BY(listener_mu_)

  std::atomic<int64_t> memory_hits_{0}, memory_misses_{0}, redis_hits_{0}, redis_misses_{0},
      redis_errors_{0}, degraded_reads_{0}, durable_reads_{0}, invalidations_sent_{0},
      invalidations_received_{0}, epoch_bumps_{0};
};

}  // namespace voxgate::store
