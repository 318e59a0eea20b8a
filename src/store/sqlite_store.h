// SqliteStore: the embedded VoiceprintStore backend (one file, <data_dir>/voxgate.db).
//
// Durability: WAL journal with synchronous=FULL by default. In WAL mode a process crash
// (kill -9) never loses a committed transaction even with synchronous=NORMAL, because the
// commit is already in the OS page cache; but NORMAL skips the fsync of the WAL at commit, so
// power loss or an OS crash can drop the last acknowledged writes. The store promises that no
// acknowledged write is lost, so FULL is the default; enrollments and status changes are rare
// enough that one fsync per commit costs little. "normal" is a documented opt-in.
//
// Connections and threads: one writer connection behind a mutex serialises every mutation
// (SQLite allows one writer at a time anyway; taking our mutex first avoids spinning on
// SQLITE_BUSY), and a pool of read connections (config.sqlite.read_connections) serves Get,
// List, LoadActive, ReadAudit and Stats concurrently with the writer, each read in its own
// snapshot transaction. All methods are thread-safe. Other processes may open the same file;
// they are coordinated by SQLite's locks and busy_timeout_ms.
//
// Privacy: secure_delete=ON zeroes deleted rows in the file, and after a Delete or
// ReplaceSamples the WAL is checkpointed and truncated so no old page images keep the deleted
// (already encrypted) embeddings. The database file is created 0600 in a 0700 directory.
//
// Integrity: schema versioned with migrations (sqlite_schema.h); foreign keys enforced
// (samples cascade with their voiceprint); the audit log refuses UPDATE and DELETE by trigger
// and the code has no path that issues either; every statement binds its values. A key-check
// value sealed at creation detects a wrong encryption key at open (kDataLoss).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/embedding_cipher.h"
#include "store/sqlite_db.h"
#include "store/voiceprint_store.h"

namespace voxgate::store {

class SqliteStore final : public VoiceprintStore {
 public:
  /// Opens or creates the database under config.data_dir, migrates it, and checks that
  /// `cipher` holds the key the data was written with. `config.backend` is not consulted.
  static Result<std::unique_ptr<SqliteStore>> Open(const StoreConfig& config,
                                                   std::shared_ptr<const EmbeddingCipher> cipher);
  ~SqliteStore() override;

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

  /// The database file's path.
  const std::string& path() const { return path_; }

 private:
  class ReaderLease;
  struct EncryptedSample;

  SqliteStore(StoreConfig config, std::string path, std::shared_ptr<const EmbeddingCipher> cipher,
              std::unique_ptr<SqliteDb> writer, std::vector<std::unique_ptr<SqliteDb>> readers);

  ReaderLease AcquireReader();
  Result<std::vector<EncryptedSample>> EncryptSamples(std::string_view user_id,
                                                      const std::vector<VoiceprintSample>& samples);
  Status InsertSamples(std::string_view user_id, const std::vector<VoiceprintSample>& samples,
                       const std::vector<EncryptedSample>& sealed);  // needs write_mu_
  Result<int64_t> WriteSamples(std::string_view user_id, std::vector<VoiceprintSample> samples,
                               bool replace);
  Status DecryptSamples(VoiceprintRecord& record, std::vector<std::string>& blobs) const;
  void WipeWalLocked();  // needs write_mu_

  const StoreConfig config_;
  const std::string path_;
  const std::shared_ptr<const EmbeddingCipher> cipher_;

  std::mutex write_mu_;
  std::unique_ptr<SqliteDb> writer_;  // guarded by write_mu_
  bool wipe_pending_ = false;         // guarded by write_mu_: a WAL truncation is owed

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<SqliteDb>> readers_;  // owned; handed out through free_readers_
  std::vector<SqliteDb*> free_readers_;             // guarded by pool_mu_
};

}  // namespace voxgate::store
