// VoiceprintStore: durable storage of enrolled voiceprints (records with per-sample embeddings)
// and of the append-only audit log. One interface, several backends: SQLite (embedded default,
// sqlite_store.h); Redis, PostgreSQL and a tiered store (memory -> Redis -> durable) plug in
// behind it for scale-out.
//
// Contract for every backend:
// - Thread-safe: every method may be called from many threads at once.
// - Never throws; every method returns Status or Result. Codes: kNotFound (unknown user),
//   kAlreadyExists (user or sample id taken), kInvalidArgument (bad input, see
//   record_validation.h), kUnavailable (backend down or busy; retrying may help), kDataLoss
//   (corrupt data or an embedding that fails to decrypt), kInternal (a bug).
// - Each mutation is atomic (all or nothing) and, once it returns OK, durable: no acknowledged
//   write is lost. Each change bumps the record's version by one (1 at creation).
// - Embeddings are stored only encrypted (AES-256-GCM, embedding_cipher.h) in every tier.
// - Delete removes the record and every sample, leaving no embedding bytes behind (SQLite:
//   secure_delete plus a WAL checkpoint). The audit log keeps its entries about the user
//   (they hold no biometric data).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/audit_event.h"
#include "store/store_config.h"
#include "store/store_stats.h"
#include "store/voiceprint_record.h"

namespace voxgate::store {

class VoiceprintStore {
 public:
  /// Opens the backend named by `config.backend`, loading the encryption key (see
  /// encryption_key.h) and creating/migrating the storage as needed. kInvalidArgument for a bad
  /// config or a missing key in prod; kUnsupported for a database from a newer version;
  /// kDataLoss when the key does not match the one the data was written with.
  static Result<std::unique_ptr<VoiceprintStore>> Create(const StoreConfig& config);

  virtual ~VoiceprintStore() = default;

  /// Stores a new user with its samples (zero or more), atomically. The store sets created_at,
  /// updated_at, version (1) and fills empty sample ids, model ids and sample times; the stored
  /// record is returned. kAlreadyExists when the user exists.
  virtual Result<VoiceprintRecord> CreateVoiceprint(VoiceprintRecord record) = 0;

  /// Appends samples to an existing user. Samples must come from the record's model (an
  /// empty sample model id means the record's) and have its embedding size. Returns the new
  /// version. kNotFound when the user does not exist.
  virtual Result<int64_t> AddSamples(std::string_view user_id,
                                     std::vector<VoiceprintSample> samples) = 0;

  /// Replaces all samples of a user (re-enrollment, e.g. after a model change) and sets the
  /// record's model id to theirs. At least one sample. Returns the new version.
  virtual Result<int64_t> ReplaceSamples(std::string_view user_id,
                                         std::vector<VoiceprintSample> samples) = 0;

  /// The record with all its samples and decrypted embeddings. kNotFound when absent.
  virtual Result<VoiceprintRecord> Get(std::string_view user_id) = 0;

  /// Sets the status; returns the version (unchanged when the status already was `status`).
  virtual Result<int64_t> SetStatus(std::string_view user_id, UserStatus status) = 0;

  /// Changes the name and/or metadata; returns the version (unchanged when nothing changed).
  virtual Result<int64_t> UpdateProfile(std::string_view user_id, const ProfileUpdate& update) = 0;

  /// Removes the user and every sample. kNotFound when absent.
  virtual Status Delete(std::string_view user_id) = 0;

  /// A page of users, oldest first; samples carry embeddings only when asked.
  virtual Result<ListPage> List(const ListQuery& query) = 0;

  /// Every active user with its decrypted samples, for building the 1:N index.
  virtual Result<std::vector<VoiceprintRecord>> LoadActive() = 0;

  /// Appends an event; the store sets `ts_ms` when 0 and assigns the id, which it returns. An
  /// empty detail means "{}". Entries are never updated or deleted.
  virtual Result<int64_t> AppendAudit(const AuditEvent& event) = 0;

  /// A page of the audit log, newest first.
  virtual Result<AuditPage> ReadAudit(const AuditQuery& query) = 0;

  /// Counts, sizes and health. Fails only when the backend cannot be asked at all.
  virtual Result<StoreStats> Stats() = 0;

  /// OK when the backend answers (readiness probe).
  virtual Status Ping() = 0;

  /// Registers a callback for users changed by ANOTHER process sharing the same storage (another
  /// cluster node), so what the caller derived from the records (the 1:N index) can follow:
  /// reload that user (or drop it when gone). An empty user_id means changes may have been missed
  /// (e.g. the tiered store's invalidation channel reconnected): reload everything. Runs on a
  /// store-internal thread and must not block for long; replacing the listener (or clearing it
  /// with nullptr, e.g. in the owner's destructor) waits for a call in progress. Backends that
  /// cannot see other writers keep this default, which never calls it.
  virtual void SetChangeListener(std::function<void(const std::string& user_id)> /*listener*/) {}
};

}  // namespace voxgate::store
