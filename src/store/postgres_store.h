// PostgresStore: the durable VoiceprintStore tier of a cluster, on PostgreSQL through libpq.
//
// Durability and atomicity: every mutation is one PostgreSQL transaction (BEGIN ... COMMIT, or a
// single statement), acknowledged only after COMMIT returns, so with the server's defaults
// (fsync=on, synchronous_commit=on) an acknowledged write survives a server crash. Version bumps
// lock the row first (SELECT ... FOR UPDATE), so concurrent writers on many nodes never lose an
// increment. When the connection breaks during COMMIT the outcome is unknown to us (the server
// may or may not have committed); the call returns kUnavailable and the caller retries, which
// the API does idempotently (create -> kAlreadyExists, status/profile -> same version).
//
// Connections and threads: a pool of config.postgres.pool_size libpq connections; a call leases
// one for its duration (waiting when all are busy). A connection found broken (server restart,
// network cut) is re-established on its next lease, so the same store object recovers by itself
// once the server is back; while it is down every call fails with kUnavailable, quickly (libpq
// connect_timeout bounds a connect, statement_timeout a statement). All methods are thread-safe.
//
// Integrity: schema versioned in a schema_version table and migrated at open under an advisory
// lock (many nodes may open at once); a newer schema is refused (kUnsupported). A key-check value
// sealed at creation detects a wrong encryption key at open (kDataLoss). Only AES-256-GCM
// ciphertext bound to (user_id, sample_id) reaches the server (embedding_cipher.h). The audit
// log refuses UPDATE, DELETE and TRUNCATE by trigger. Every value is bound as a parameter
// (PQexecParams; text and BYTEA in binary form, so ids are stored byte-exact). user_id compares
// and sorts bytewise (COLLATE "C"), as in SQLite.
//
// Privacy: a deleted row's bytes stay in the table file until (auto)vacuum reuses them, and in
// the WAL until it is recycled; they are ciphertext, unreadable without the key. A backup of the
// database holds only ciphertext.
//
// Secrets: the URL may hold a password; it is never printed: messages carry the URL redacted
// (RedactDbUrl) and any libpq message is scrubbed of the password.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/embedding_cipher.h"
#include "store/voiceprint_store.h"

struct pg_conn;

namespace voxgate::store {

class PostgresStore final : public VoiceprintStore {
 public:
  /// Connects to config.postgres's URL ($VOXGATE_POSTGRES_URL first), creates or migrates the
  /// schema and checks that `cipher` holds the key the data was written with. kUnavailable
  /// when the server cannot be reached; kUnsupported for a newer schema or a non-UTF8 database;
  /// kDataLoss for a wrong key. `config.backend` is not consulted.
  static Result<std::unique_ptr<PostgresStore>> Open(const StoreConfig& config,
                                                     std::shared_ptr<const EmbeddingCipher> cipher);
  ~PostgresStore() override;

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

  /// The last schema version this build knows.
  static int LatestSchemaVersion();

 private:
  class Lease;

  PostgresStore(StoreConfig config, std::shared_ptr<const EmbeddingCipher> cipher);

  Result<Lease> Acquire();
  Result<pg_conn*> Connect() const;
  /// Makes a message safe to return: the URL's password replaced by ***.
  std::string Scrub(std::string message) const;
  Result<int64_t> WriteSamples(std::string_view user_id, std::vector<VoiceprintSample> samples,
                               bool replace);
  Status DecryptSamples(VoiceprintRecord& record, const std::vector<std::string>& blobs) const;

  const StoreConfig config_;
  const std::string url_;             // resolved; holds the password: never print, see Scrub
  const std::string redacted_url_;    // safe to print
  std::vector<std::string> secrets_;  // the password as written in the URL and decoded
  const std::shared_ptr<const EmbeddingCipher> cipher_;

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<pg_conn*> conns_;  // slot i is touched only by the holder of its lease
  std::vector<int> free_;        // GUARDED_BY(pool_mu_): slots not leased
};

}  // namespace voxgate::store
