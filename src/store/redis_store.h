// RedisStore: a VoiceprintStore kept entirely in Redis (backend "redis"), and the record codec
// the tiered store's Redis cache shares with it.
//
// Layout (every key starts with config.redis.key_prefix, written P here):
//   P vp:<user_id>            hash {version, record}: the record in a binary codec (below)
//   P vp:index                zset of user ids scored by created_at_ms (List order: created
//                             time, then user id bytewise, as in SQLite)
//   P vp:status:<status>      the same, one zset per status (filtered List, LoadActive)
//   P vp:samples              number of stored samples (Stats)
//   P audit:seq / audit:events (hash id -> event) / audit:all, audit:user:<id>,
//   audit:action:<action>     zsets of event ids scored by id (newest-first pages, before_id)
//   P meta:key_check          a value sealed with the encryption key at first open
//
// Atomicity: every mutation reads the record, computes the new one in C++ (validation and
// encryption reuse record_validation.h and embedding_cipher.h, as SqliteStore does) and commits
// it with one Lua script that checks the version it read is still current and updates the
// record, the index zsets and the sample count together (compare-and-set; a lost race is retried
// with a fresh read). Redis runs a script alone, so readers never see half a change.
//
// Durability is Redis's: a write is acknowledged once Redis executed it, so "no acknowledged
// write is lost" needs appendonly yes with appendfsync always on the server (the tests' server
// runs so). With the Redis defaults (no AOF, or fsync every second) a crash of Redis loses the
// last writes; use the tiered store with a durable tier for data that must survive that.
//
// Embeddings are stored only as AES-256-GCM blobs bound to (user_id, sample_id).
//
// Thread-safe: all methods may be called from many threads (RedisClient pools connections).
// Redis down: every call fails with kUnavailable, quickly; the store recovers by itself.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis_client.h"
#include "store/embedding_cipher.h"
#include "store/voiceprint_store.h"

namespace voxgate::store {

class RedisStore final : public VoiceprintStore {
 public:
  /// Connects to config.redis's URL ($VOXGATE_REDIS_URL first) and checks (or, on an empty
  /// database, records) that `cipher` holds the key the data was written with. kUnavailable
  /// when Redis cannot be reached; kDataLoss for a wrong key. `config.backend` is not consulted.
  static Result<std::unique_ptr<RedisStore>> Open(const StoreConfig& config,
                                                  std::shared_ptr<const EmbeddingCipher> cipher);
  ~RedisStore() override;

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
  Result<StoreStats> Stats() override;
  Status Ping() override;

  /// The record codec: a versioned, length-prefixed binary form of a record whose embeddings
  /// are sealed with `cipher` (so a value read from Redis holds no plaintext embedding).
  static Result<std::string> SealRecord(const VoiceprintRecord& record,
                                        const EmbeddingCipher& cipher);
  /// Inverse of SealRecord; `with_embeddings` false skips decryption (samples keep their dim).
  /// kDataLoss for a malformed value or a blob that does not decrypt; never aborts.
  static Result<VoiceprintRecord> OpenRecord(std::string_view value, const EmbeddingCipher& cipher,
                                             bool with_embeddings);

  /// "<prefix>vp:<user_id>": the key of a user's record (tests inspect the raw value).
  std::string RecordKey(std::string_view user_id) const;
  RedisClient& client() { return *client_; }

 private:
  struct Stored;  // a record as kept: metadata plus sealed sample blobs

  RedisStore(StoreConfig config, std::shared_ptr<const EmbeddingCipher> cipher,
             std::unique_ptr<RedisClient> client);

  Status CheckKey();
  // Reads the record and its version; kNotFound when absent.
  Result<Stored> Load(std::string_view user_id);
  // Commits `next` if the stored version is still `expected` (0: must not exist). Returns false
  // when another writer got there first.
  Result<bool> Commit(const Stored* previous, const Stored* next, int64_t expected,
                      std::string_view user_id);
  Result<int64_t> WriteSamples(std::string_view user_id, std::vector<VoiceprintSample> samples,
                               bool replace);
  // Read-modify-write with retries: `change` edits the record and returns false for "nothing to
  // do" (the version is returned unchanged).
  template <typename Change>
  Result<int64_t> Mutate(std::string_view user_id, Change change);
  Result<std::vector<VoiceprintRecord>> FetchRecords(const std::vector<std::string>& ids,
                                                     bool with_embeddings);

  std::string Key(std::string_view suffix) const { return prefix_ + std::string(suffix); }
  std::string StatusKey(UserStatus status) const;

  const StoreConfig config_;
  const std::string prefix_;
  const std::shared_ptr<const EmbeddingCipher> cipher_;
  const std::unique_ptr<RedisClient> client_;
};

}  // namespace voxgate::store
