#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "store/record_validation.h"
#include "store/sqlite_schema.h"

namespace voxgate::store {

namespace {

constexpr std::string_view kKeyCheckContext = "voxgate.db key check";
constexpr std::string_view kKeyCheckPlaintext = "voxgate key check v1";

// Columns 0..7 of every record query.
#define VOXGATE_RECORD_COLUMNS                                                              \
  "v.user_id, v.name, v.status, v.metadata, v.model_id, v.created_at_ms, v.updated_at_ms, " \
  "v.version"
// Columns 0..6 of every sample query (offset by the record columns in joins).
#define VOXGATE_SAMPLE_COLUMNS \
  "s.sample_id, s.model_id, s.speech_s, s.dim, s.created_at_ms, s.embedding_enc, s.narrowband"

Status ReadRecordColumns(const SqliteStatement& stmt, VoiceprintRecord& r) {
  r.user_id = stmt.ColumnText(0);
  r.name = stmt.ColumnText(1);
  auto status = ParseUserStatus(stmt.ColumnText(2));
  if (!status.ok()) return DataLossError("stored status of user " + r.user_id + " is invalid");
  r.status = *status;
  r.metadata = stmt.ColumnText(3);
  r.model_id = stmt.ColumnText(4);
  r.created_at_ms = stmt.ColumnInt(5);
  r.updated_at_ms = stmt.ColumnInt(6);
  r.version = stmt.ColumnInt(7);
  return Status::Ok();
}

VoiceprintSample ReadSampleColumns(const SqliteStatement& stmt, int first, std::string* blob) {
  VoiceprintSample s;
  s.sample_id = stmt.ColumnText(first);
  s.model_id = stmt.ColumnText(first + 1);
  s.speech_s = stmt.ColumnDouble(first + 2);
  s.dim = static_cast<size_t>(stmt.ColumnInt(first + 3));
  s.created_at_ms = stmt.ColumnInt(first + 4);
  if (blob) *blob = stmt.ColumnBlob(first + 5);
  s.narrowband = stmt.ColumnInt(first + 6) != 0;
  return s;
}

// Creates the data directory (mode 0700 for what we create) and the database file (0600), so
// SQLite, which gives -wal and -shm the database's mode, never makes them world-readable.
Status PrepareFiles(const std::string& data_dir, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(data_dir, ec)) {
    std::filesystem::create_directories(data_dir, ec);
    if (ec) return UnavailableError("creating data directory " + data_dir + ": " + ec.message());
    ::chmod(data_dir.c_str(), 0700);
  } else if (!std::filesystem::is_directory(data_dir, ec)) {
    return InvalidArgumentError("store.data_dir " + data_dir + " is not a directory");
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    return UnavailableError("creating " + path + ": " + std::generic_category().message(errno));
  }
  return Status::Ok();
}

int64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// Reads one value of the meta table; nullopt when absent.
Result<std::optional<std::string>> ReadMeta(SqliteDb& db, const char* sql) {
  VOXGATE_ASSIGN_OR_RETURN(SqliteStatement q, db.Prepare(sql));
  VOXGATE_ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(q.ColumnBlob(0));
}

// Checks (or, on a new database, records) that the cipher's key is the database's key.
Status CheckKey(SqliteDb& db, const EmbeddingCipher& cipher) {
  static constexpr const char* kReadCheck = "SELECT value FROM meta WHERE key = 'key_check'";
  VOXGATE_ASSIGN_OR_RETURN(std::optional<std::string> check, ReadMeta(db, kReadCheck));
  if (!check) {
    VOXGATE_ASSIGN_OR_RETURN(std::string sealed, cipher.Seal(kKeyCheckPlaintext, kKeyCheckContext));
    VOXGATE_ASSIGN_OR_RETURN(
        SqliteStatement ins,
        db.Prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('key_check', ?1), "
                   "('key_fingerprint', ?2)"));
    ins.BindBlob(1, sealed).BindText(2, cipher.key_fingerprint());
    VOXGATE_RETURN_IF_ERROR(ins.Run());
    // Read back: another process opening a new database at the same time may have won.
    VOXGATE_ASSIGN_OR_RETURN(check, ReadMeta(db, kReadCheck));
    if (!check) return InternalError("could not record the encryption key check");
  }
  auto opened = cipher.Open(*check, kKeyCheckContext);
  if (opened.ok() && *opened == kKeyCheckPlaintext) return Status::Ok();
  VOXGATE_ASSIGN_OR_RETURN(std::optional<std::string> written_with,
                           ReadMeta(db, "SELECT value FROM meta WHERE key = 'key_fingerprint'"));
  return DataLossError("the encryption key (fingerprint " + cipher.key_fingerprint() +
                       ") is not the key this database was written with (fingerprint " +
                       written_with.value_or("unknown") + ")");
}

Status NotFound(std::string_view user_id) {
  return NotFoundError("voiceprint " + std::string(user_id) + " not found");
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class SqliteStore::ReaderLease {
 public:
  ReaderLease(SqliteStore* store, SqliteDb* db) : store_(store), db_(db) {}
  ReaderLease(ReaderLease&& o) noexcept : store_(o.store_), db_(std::exchange(o.db_, nullptr)) {}
  ReaderLease(const ReaderLease&) = delete;
  ReaderLease& operator=(const ReaderLease&) = delete;
  ReaderLease& operator=(ReaderLease&&) = delete;
  ~ReaderLease() {
    if (db_ == nullptr) return;
    {
      std::lock_guard lock(store_->pool_mu_);
      store_->free_readers_.push_back(db_);
    }
    store_->pool_cv_.notify_one();
  }
  SqliteDb& db() { return *db_; }

 private:
  SqliteStore* store_;
  SqliteDb* db_;
};

struct SqliteStore::EncryptedSample {
  std::string blob;
};

SqliteStore::ReaderLease SqliteStore::AcquireReader() {
  std::unique_lock lock(pool_mu_);
  pool_cv_.wait(lock, [this] { return !free_readers_.empty(); });
  SqliteDb* db = free_readers_.back();
  free_readers_.pop_back();
  return ReaderLease(this, db);
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    const StoreConfig& config, std::shared_ptr<const EmbeddingCipher> cipher) {
  VOXGATE_RETURN_IF_ERROR(config.sqlite.Validate());
  if (cipher == nullptr) return InvalidArgumentError("SqliteStore needs an EmbeddingCipher");
  const std::string path = config.DbPath();
  VOXGATE_RETURN_IF_ERROR(PrepareFiles(config.data_dir, path));
  const int busy_ms = config.sqlite.busy_timeout_ms;

  VOXGATE_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> writer, SqliteDb::Open(path, true, busy_ms));
  auto migrated = MigrateSchema(*writer, StoreMigrations());
  if (!migrated.ok()) return migrated.status().WithContext(path);
  VOXGATE_ASSIGN_OR_RETURN(std::string mode, writer->QueryText("PRAGMA journal_mode=WAL"));
  if (mode != "wal") {
    return UnavailableError(path + ": cannot switch to WAL journal mode (got " + mode + ")");
  }
  VOXGATE_RETURN_IF_ERROR(writer->Exec(config.sqlite.synchronous == "full"
                                           ? "PRAGMA synchronous=FULL"
                                           : "PRAGMA synchronous=NORMAL"));
  Status key_ok = CheckKey(*writer, *cipher);
  if (!key_ok.ok()) return key_ok.WithContext(path);

  std::vector<std::unique_ptr<SqliteDb>> readers;
  for (int i = 0; i < config.sqlite.read_connections; ++i) {
    VOXGATE_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> r, SqliteDb::Open(path, false, busy_ms));
    VOXGATE_RETURN_IF_ERROR(r->Exec("PRAGMA query_only=ON"));
    readers.push_back(std::move(r));
  }
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(config, path, std::move(cipher), std::move(writer), std::move(readers)));
}

SqliteStore::SqliteStore(StoreConfig config, std::string path,
                         std::shared_ptr<const EmbeddingCipher> cipher,
                         std::unique_ptr<SqliteDb> writer,
                         std::vector<std::unique_ptr<SqliteDb>> readers)
    : config_(std::move(config)),
      path_(std::move(path)),
      cipher_(std::move(cipher)),
      writer_(std::move(writer)),
      readers_(std::move(readers)) {
  for (auto& r : readers_) free_readers_.push_back(r.get());
}

SqliteStore::~SqliteStore() {
  // Readers first: the last connection to close checkpoints and removes the WAL.
  {
    std::lock_guard lock(pool_mu_);
    free_readers_.clear();
  }
  readers_.clear();
  std::lock_guard lock(write_mu_);
  writer_.reset();
}

Result<std::vector<SqliteStore::EncryptedSample>> SqliteStore::EncryptSamples(
    std::string_view user_id, const std::vector<VoiceprintSample>& samples) {
  std::vector<EncryptedSample> out;
  out.reserve(samples.size());
  for (const VoiceprintSample& s : samples) {
    VOXGATE_ASSIGN_OR_RETURN(std::string blob, cipher_->Encrypt(s.embedding, user_id, s.sample_id));
    out.push_back({std::move(blob)});
  }
  return out;
}

Status SqliteStore::InsertSamples(std::string_view user_id,
                                  const std::vector<VoiceprintSample>& samples,
                                  const std::vector<EncryptedSample>& sealed) {
  for (size_t i = 0; i < samples.size(); ++i) {
    const VoiceprintSample& s = samples[i];
    VOXGATE_ASSIGN_OR_RETURN(
        SqliteStatement ins,
        writer_->Prepare("INSERT INTO samples (user_id, sample_id, model_id, speech_s, dim, "
                         "created_at_ms, embedding_enc, narrowband) VALUES (?1, ?2, ?3, ?4, ?5, "
                         "?6, ?7, ?8)"));
    ins.BindText(1, user_id)
        .BindText(2, s.sample_id)
        .BindText(3, s.model_id)
        .Bind(4, s.speech_s)
        .Bind(5, static_cast<int64_t>(s.embedding.size()))
        .Bind(6, s.created_at_ms)
        .BindBlob(7, sealed[i].blob)
        .Bind(8, static_cast<int64_t>(s.narrowband ? 1 : 0));
    Status st = ins.Run();
    if (!st.ok()) return st.WithContext("sample " + s.sample_id);
  }
  return Status::Ok();
}

void SqliteStore::WipeWalLocked() {
  // A short busy wait: a long read holding an old snapshot must not stall every writer. When
  // the truncation cannot finish now, the next write tries again.
  sqlite3* db = writer_->handle();
  sqlite3_busy_timeout(db, std::min(config_.sqlite.busy_timeout_ms, 250));
  int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  sqlite3_busy_timeout(db, config_.sqlite.busy_timeout_ms);
  wipe_pending_ = rc != SQLITE_OK;
}

Result<VoiceprintRecord> SqliteStore::CreateVoiceprint(VoiceprintRecord record) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(record.user_id));
  VOXGATE_RETURN_IF_ERROR(ValidateName(record.name));
  if (record.metadata.empty()) record.metadata = "{}";
  VOXGATE_RETURN_IF_ERROR(ValidateJsonObject(record.metadata, "metadata", kMaxMetadataBytes));
  VOXGATE_RETURN_IF_ERROR(ValidateModelId(record.model_id));
  const int64_t now = NowUnixMs();
  size_t dim = 0;
  VOXGATE_RETURN_IF_ERROR(NormaliseSamples(record.samples, &record.model_id, &dim, now));
  VOXGATE_ASSIGN_OR_RETURN(std::vector<EncryptedSample> sealed,
                           EncryptSamples(record.user_id, record.samples));
  record.created_at_ms = now;
  record.updated_at_ms = now;
  record.version = 1;

  std::lock_guard lock(write_mu_);
  VOXGATE_ASSIGN_OR_RETURN(SqliteTransaction txn,
                           SqliteTransaction::Begin(*writer_, SqliteTransaction::Kind::kImmediate));
  {
    VOXGATE_ASSIGN_OR_RETURN(SqliteStatement q,
                             writer_->Prepare("SELECT 1 FROM voiceprints WHERE user_id = ?1"));
    q.BindText(1, record.user_id);
    VOXGATE_ASSIGN_OR_RETURN(bool exists, q.Step());
    if (exists) {
      return Status(StatusCode::kAlreadyExists, "voiceprint " + record.user_id + " already exists");
    }
  }
  {
    VOXGATE_ASSIGN_OR_RETURN(
        SqliteStatement ins,
        writer_->Prepare("INSERT INTO voiceprints (user_id, name, status, metadata, model_id, "
                         "created_at_ms, updated_at_ms, version) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)"));
    ins.BindText(1, record.user_id)
        .BindText(2, record.name)
        .BindText(3, ToString(record.status))
        .BindText(4, record.metadata)
        .BindText(5, record.model_id)
        .Bind(6, now)
        .Bind(7, now);
    VOXGATE_RETURN_IF_ERROR(ins.Run());
  }
  VOXGATE_RETURN_IF_ERROR(InsertSamples(record.user_id, record.samples, sealed));
  VOXGATE_RETURN_IF_ERROR(txn.Commit());
  if (wipe_pending_) WipeWalLocked();
  return record;
}

Result<int64_t> SqliteStore::WriteSamples(std::string_view user_id,
                                          std::vector<VoiceprintSample> samples, bool replace) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  if (samples.empty()) return InvalidArgumentError("no samples given");
  const int64_t now = NowUnixMs();
  std::string model_id;
  size_t dim = 0;
  VOXGATE_RETURN_IF_ERROR(NormaliseSamples(samples, &model_id, &dim, now));
  VOXGATE_ASSIGN_OR_RETURN(std::vector<EncryptedSample> sealed, EncryptSamples(user_id, samples));

  std::lock_guard lock(write_mu_);
  VOXGATE_ASSIGN_OR_RETURN(SqliteTransaction txn,
                           SqliteTransaction::Begin(*writer_, SqliteTransaction::Kind::kImmediate));
  std::string record_model;
  int64_t version = 0;
  {
    VOXGATE_ASSIGN_OR_RETURN(
        SqliteStatement q,
        writer_->Prepare("SELECT model_id, version FROM voiceprints WHERE user_id = ?1"));
    q.BindText(1, user_id);
    VOXGATE_ASSIGN_OR_RETURN(bool found, q.Step());
    if (!found) return NotFound(user_id);
    record_model = q.ColumnText(0);
    version = q.ColumnInt(1);
  }
  if (model_id.empty()) {
    model_id = record_model;  // the samples named no model: they are the record's
    for (VoiceprintSample& s : samples) s.model_id = model_id;
  }
  if (replace) {
    VOXGATE_ASSIGN_OR_RETURN(SqliteStatement del,
                             writer_->Prepare("DELETE FROM samples WHERE user_id = ?1"));
    del.BindText(1, user_id);
    VOXGATE_RETURN_IF_ERROR(del.Run());
  } else {
    if (!record_model.empty() && model_id != record_model) {
      return InvalidArgumentError("samples made by model \"" + model_id + "\" but voiceprint " +
                                  std::string(user_id) + " was made by \"" + record_model +
                                  "\"; replace the samples to re-enroll with the new model");
    }
    VOXGATE_ASSIGN_OR_RETURN(
        SqliteStatement q, writer_->Prepare("SELECT dim FROM samples WHERE user_id = ?1 LIMIT 1"));
    q.BindText(1, user_id);
    VOXGATE_ASSIGN_OR_RETURN(bool has_samples, q.Step());
    if (has_samples && static_cast<size_t>(q.ColumnInt(0)) != dim) {
      return InvalidArgumentError("embeddings have " + std::to_string(dim) +
                                  " values but voiceprint " + std::string(user_id) + " has " +
                                  std::to_string(q.ColumnInt(0)));
    }
  }
  VOXGATE_RETURN_IF_ERROR(InsertSamples(user_id, samples, sealed));
  {
    VOXGATE_ASSIGN_OR_RETURN(
        SqliteStatement up,
        writer_->Prepare("UPDATE voiceprints SET model_id = ?2, version = version + 1, "
                         "updated_at_ms = max(updated_at_ms, ?3) WHERE user_id = ?1"));
    up.BindText(1, user_id).BindText(2, model_id).Bind(3, now);
    VOXGATE_RETURN_IF_ERROR(up.Run());
  }
  VOXGATE_RETURN_IF_ERROR(txn.Commit());
  if (replace || wipe_pending_) WipeWalLocked();
  return version + 1;
}

Result<int64_t> SqliteStore::AddSamples(std::string_view user_id,
                                        std::vector<VoiceprintSample> samples) {
  return WriteSamples(user_id, std::move(samples), /*replace=*/false);
}

Result<int64_t> SqliteStore::ReplaceSamples(std::string_view user_id,
                                            std::vector<VoiceprintSample> samples) {
  return WriteSamples(user_id, std::move(samples), /*replace=*/true);
}

Status SqliteStore::DecryptSamples(VoiceprintRecord& record,
                                   std::vector<std::string>& blobs) const {
  for (size_t i = 0; i < record.samples.size(); ++i) {
    VoiceprintSample& s = record.samples[i];
    VOXGATE_ASSIGN_OR_RETURN(s.embedding, cipher_->Decrypt(blobs[i], record.user_id, s.sample_id));
    if (s.embedding.size() != s.dim) {
      return DataLossError("sample " + s.sample_id + " of user " + record.user_id +
                           " decrypted to the wrong size");
    }
  }
  return Status::Ok();
}

Result<VoiceprintRecord> SqliteStore::Get(std::string_view user_id) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  VoiceprintRecord record;
  std::vector<std::string> blobs;
  {
    ReaderLease lease = AcquireReader();
    SqliteDb& db = lease.db();
    VOXGATE_ASSIGN_OR_RETURN(SqliteTransaction txn,
                             SqliteTransaction::Begin(db, SqliteTransaction::Kind::kDeferred));
    {
      VOXGATE_ASSIGN_OR_RETURN(
          SqliteStatement q,
          db.Prepare("SELECT " VOXGATE_RECORD_COLUMNS " FROM voiceprints v WHERE v.user_id = ?1"));
      q.BindText(1, user_id);
      VOXGATE_ASSIGN_OR_RETURN(bool found, q.Step());
      if (!found) return NotFound(user_id);
      VOXGATE_RETURN_IF_ERROR(ReadRecordColumns(q, record));
    }
    VOXGATE_ASSIGN_OR_RETURN(SqliteStatement q,
                             db.Prepare("SELECT " VOXGATE_SAMPLE_COLUMNS
                                        " FROM samples s WHERE s.user_id = ?1 ORDER BY s.id"));
    q.BindText(1, user_id);
    for (;;) {
      VOXGATE_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      blobs.emplace_back();
      record.samples.push_back(ReadSampleColumns(q, 0, &blobs.back()));
    }
  }  // the read snapshot ends (rollback of a read-only transaction) and the reader is returned
  VOXGATE_RETURN_IF_ERROR(DecryptSamples(record, blobs));
  return record;
}

Result<int64_t> SqliteStore::SetStatus(std::string_view user_id, UserStatus status) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  std::lock_guard lock(write_mu_);
  VOXGATE_ASSIGN_OR_RETURN(SqliteTransaction txn,
                           SqliteTransaction::Begin(*writer_, SqliteTransaction::Kind::kImmediate));
  int64_t version = 0;
  {
    VOXGATE_ASSIGN_OR_RETURN(
        SqliteStatement q,
        writer_->Prepare("SELECT status, version FROM voiceprints WHERE user_id = ?1"));
    q.BindText(1, user_id);
    VOXGATE_ASSIGN_OR_RETURN(bool found, q.Step());
    if (!found) return NotFound(user_id);
    if (q.ColumnText(0) == ToString(status)) return q.ColumnInt(1);
    version = q.ColumnInt(1);
  }
  VOXGATE_ASSIGN_OR_RETURN(
      SqliteStatement up,
      writer_->Prepare("UPDATE voiceprints SET status = ?2, version = version + 1, "
                       "updated_at_ms = max(updated_at_ms, ?3) WHERE user_id = ?1"));
  up.BindText(1, user_id).BindText(2, ToString(status)).Bind(3, NowUnixMs());
  VOXGATE_RETURN_IF_ERROR(up.Run());
  VOXGATE_RETURN_IF_ERROR(txn.Commit());
  if (wipe_pending_) WipeWalLocked();
  return version + 1;
}

Result<int64_t> SqliteStore::UpdateProfile(std::string_view user_id, const ProfileUpdate& update) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  if (update.name) VOXGATE_RETURN_IF_ERROR(ValidateName(*update.name));
  std::optional<std::string> metadata = update.metadata;
  if (metadata && metadata->empty()) metadata = "{}";
  if (metadata) {
    VOXGATE_RETURN_IF_ERROR(ValidateJsonObject(*metadata, "metadata", kMaxMetadataBytes));
  }
  std::lock_guard lock(write_mu_);
  VOXGATE_ASSIGN_OR_RETURN(SqliteTransaction txn,
                           SqliteTransaction::Begin(*writer_, SqliteTransaction::Kind::kImmediate));
  int64_t version = 0;
  std::string name;
  std::string old_metadata;
  {
    VOXGATE_ASSIGN_OR_RETURN(
        SqliteStatement q,
        writer_->Prepare("SELECT name, metadata, version FROM voiceprints WHERE user_id = ?1"));
    q.BindText(1, user_id);
    VOXGATE_ASSIGN_OR_RETURN(bool found, q.Step());
    if (!found) return NotFound(user_id);
    name = q.ColumnText(0);
    old_metadata = q.ColumnText(1);
    version = q.ColumnInt(2);
  }
  const std::string& new_name = update.name ? *update.name : name;
  const std::string& new_metadata = metadata ? *metadata : old_metadata;
  if (new_name == name && new_metadata == old_metadata) return version;
  VOXGATE_ASSIGN_OR_RETURN(
      SqliteStatement up,
      writer_->Prepare("UPDATE voiceprints SET name = ?2, metadata = ?3, version = version + 1, "
                       "updated_at_ms = max(updated_at_ms, ?4) WHERE user_id = ?1"));
  up.BindText(1, user_id).BindText(2, new_name).BindText(3, new_metadata).Bind(4, NowUnixMs());
  VOXGATE_RETURN_IF_ERROR(up.Run());
  VOXGATE_RETURN_IF_ERROR(txn.Commit());
  if (wipe_pending_) WipeWalLocked();
  return version + 1;
}

Status SqliteStore::Delete(std::string_view user_id) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  std::lock_guard lock(write_mu_);
  VOXGATE_ASSIGN_OR_RETURN(SqliteTransaction txn,
                           SqliteTransaction::Begin(*writer_, SqliteTransaction::Kind::kImmediate));
  {
    // Samples go with their voiceprint (ON DELETE CASCADE).
    VOXGATE_ASSIGN_OR_RETURN(SqliteStatement del,
                             writer_->Prepare("DELETE FROM voiceprints WHERE user_id = ?1"));
    del.BindText(1, user_id);
    VOXGATE_RETURN_IF_ERROR(del.Run());
    if (del.Changes() == 0) return NotFound(user_id);
  }
  VOXGATE_RETURN_IF_ERROR(txn.Commit());
  WipeWalLocked();
  return Status::Ok();
}

Result<ListPage> SqliteStore::List(const ListQuery& query) {
  if (query.limit < 1 || query.limit > kMaxListLimit) {
    return InvalidArgumentError("limit must be in [1, " + std::to_string(kMaxListLimit) + "]");
  }
  if (query.offset < 0) return InvalidArgumentError("offset must be >= 0");
  ListPage page;
  std::vector<std::vector<std::string>> blobs;
  {
    ReaderLease lease = AcquireReader();
    SqliteDb& db = lease.db();
    VOXGATE_ASSIGN_OR_RETURN(SqliteTransaction txn,
                             SqliteTransaction::Begin(db, SqliteTransaction::Kind::kDeferred));
    const std::string status = query.status ? std::string(ToString(*query.status)) : "";
    {
      VOXGATE_ASSIGN_OR_RETURN(
          SqliteStatement q, query.status
                                 ? db.Prepare("SELECT count(*) FROM voiceprints WHERE status = ?1")
                                 : db.Prepare("SELECT count(*) FROM voiceprints"));
      if (query.status) q.BindText(1, status);
      VOXGATE_ASSIGN_OR_RETURN(bool row, q.Step());
      if (row) page.total = q.ColumnInt(0);
    }
    {
      VOXGATE_ASSIGN_OR_RETURN(
          SqliteStatement q,
          query.status ? db.Prepare("SELECT " VOXGATE_RECORD_COLUMNS " FROM voiceprints v "
                                    "WHERE v.status = ?1 ORDER BY v.created_at_ms, v.user_id "
                                    "LIMIT ?2 OFFSET ?3")
                       : db.Prepare("SELECT " VOXGATE_RECORD_COLUMNS " FROM voiceprints v "
                                    "ORDER BY v.created_at_ms, v.user_id LIMIT ?2 OFFSET ?3"));
      if (query.status) q.BindText(1, status);
      q.Bind(2, static_cast<int64_t>(query.limit)).Bind(3, query.offset);
      for (;;) {
        VOXGATE_ASSIGN_OR_RETURN(bool row, q.Step());
        if (!row) break;
        VOXGATE_RETURN_IF_ERROR(ReadRecordColumns(q, page.records.emplace_back()));
      }
    }
    blobs.resize(page.records.size());
    for (size_t i = 0; i < page.records.size(); ++i) {
      VoiceprintRecord& r = page.records[i];
      VOXGATE_ASSIGN_OR_RETURN(SqliteStatement q,
                               db.Prepare("SELECT " VOXGATE_SAMPLE_COLUMNS
                                          " FROM samples s WHERE s.user_id = ?1 ORDER BY s.id"));
      q.BindText(1, r.user_id);
      for (;;) {
        VOXGATE_ASSIGN_OR_RETURN(bool row, q.Step());
        if (!row) break;
        std::string* blob = query.include_embeddings ? &blobs[i].emplace_back() : nullptr;
        r.samples.push_back(ReadSampleColumns(q, 0, blob));
      }
    }
  }
  if (query.include_embeddings) {
    for (size_t i = 0; i < page.records.size(); ++i) {
      VOXGATE_RETURN_IF_ERROR(DecryptSamples(page.records[i], blobs[i]));
    }
  }
  return page;
}

Result<std::vector<VoiceprintRecord>> SqliteStore::LoadActive() {
  std::vector<VoiceprintRecord> records;
  std::vector<std::vector<std::string>> blobs;
  {
    ReaderLease lease = AcquireReader();
    SqliteDb& db = lease.db();
    VOXGATE_ASSIGN_OR_RETURN(
        SqliteStatement q,
        db.Prepare("SELECT " VOXGATE_RECORD_COLUMNS ", " VOXGATE_SAMPLE_COLUMNS
                   " FROM voiceprints v LEFT JOIN samples s ON s.user_id = v.user_id "
                   "WHERE v.status = 'active' ORDER BY v.created_at_ms, v.user_id, s.id"));
    for (;;) {  // one statement: a single consistent snapshot without an explicit transaction
      VOXGATE_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      if (records.empty() || records.back().user_id != q.ColumnText(0)) {
        VOXGATE_RETURN_IF_ERROR(ReadRecordColumns(q, records.emplace_back()));
        blobs.emplace_back();
      }
      if (q.ColumnIsNull(8)) continue;  // a user without samples
      records.back().samples.push_back(ReadSampleColumns(q, 8, &blobs.back().emplace_back()));
    }
  }
  for (size_t i = 0; i < records.size(); ++i) {
    VOXGATE_RETURN_IF_ERROR(DecryptSamples(records[i], blobs[i]));
  }
  return records;
}

Result<int64_t> SqliteStore::AppendAudit(const AuditEvent& event_in) {
  AuditEvent event = event_in;
  if (event.detail.empty()) event.detail = "{}";
  VOXGATE_RETURN_IF_ERROR(ValidateAuditEvent(event));
  const int64_t ts = event.ts_ms != 0 ? event.ts_ms : NowUnixMs();
  std::lock_guard lock(write_mu_);
  VOXGATE_ASSIGN_OR_RETURN(
      SqliteStatement ins,
      writer_->Prepare("INSERT INTO audit_log (ts_ms, action, user_id, actor, request_id, detail) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  ins.Bind(1, ts)
      .BindText(2, ToString(event.action))
      .BindText(3, event.user_id)
      .BindText(4, event.actor)
      .BindText(5, event.request_id)
      .BindText(6, event.detail);
  VOXGATE_RETURN_IF_ERROR(ins.Run());  // a single statement commits atomically on its own
  return static_cast<int64_t>(sqlite3_last_insert_rowid(writer_->handle()));
}

Result<AuditPage> SqliteStore::ReadAudit(const AuditQuery& query) {
  if (query.limit < 1 || query.limit > kMaxAuditLimit) {
    return InvalidArgumentError("limit must be in [1, " + std::to_string(kMaxAuditLimit) + "]");
  }
  if (query.offset < 0) return InvalidArgumentError("offset must be >= 0");
  if (query.before_id < 0) return InvalidArgumentError("before_id must be >= 0");
  const bool by_user = query.user_id.has_value();
  const std::string action = query.action ? std::string(ToString(*query.action)) : "";
  const int64_t before = query.before_id > 0 ? query.before_id : INT64_MAX;
  AuditPage page;
  ReaderLease lease = AcquireReader();
  SqliteDb& db = lease.db();
  VOXGATE_ASSIGN_OR_RETURN(SqliteTransaction txn,
                           SqliteTransaction::Begin(db, SqliteTransaction::Kind::kDeferred));
  auto bind = [&](SqliteStatement& q) {
    if (by_user) q.BindText(1, *query.user_id);
    if (query.action) q.BindText(2, action);
    q.Bind(3, before);
  };
  {
    VOXGATE_ASSIGN_OR_RETURN(
        SqliteStatement q,
        by_user ? db.Prepare("SELECT count(*) FROM audit_log WHERE user_id = ?1 AND id < ?3 "
                             "AND (?2 IS NULL OR action = ?2)")
                : db.Prepare("SELECT count(*) FROM audit_log WHERE id < ?3 "
                             "AND (?2 IS NULL OR action = ?2)"));
    bind(q);
    VOXGATE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) page.total = q.ColumnInt(0);
  }
  VOXGATE_ASSIGN_OR_RETURN(
      SqliteStatement q,
      by_user ? db.Prepare("SELECT id, ts_ms, action, user_id, actor, request_id, detail "
                           "FROM audit_log WHERE user_id = ?1 AND id < ?3 "
                           "AND (?2 IS NULL OR action = ?2) ORDER BY id DESC LIMIT ?4 OFFSET ?5")
              : db.Prepare("SELECT id, ts_ms, action, user_id, actor, request_id, detail "
                           "FROM audit_log WHERE id < ?3 "
                           "AND (?2 IS NULL OR action = ?2) ORDER BY id DESC LIMIT ?4 OFFSET ?5"));
  bind(q);
  q.Bind(4, static_cast<int64_t>(query.limit)).Bind(5, query.offset);
  for (;;) {
    VOXGATE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    AuditEvent& e = page.events.emplace_back();
    e.id = q.ColumnInt(0);
    e.ts_ms = q.ColumnInt(1);
    auto parsed = ParseAuditAction(q.ColumnText(2));
    if (!parsed.ok()) return DataLossError("audit event " + std::to_string(e.id) + ": bad action");
    e.action = *parsed;
    e.user_id = q.ColumnText(3);
    e.actor = q.ColumnText(4);
    e.request_id = q.ColumnText(5);
    e.detail = q.ColumnText(6);
  }
  return page;
}

Result<StoreStats> SqliteStore::Stats() {
  StoreStats stats;
  stats.backend = "sqlite";
  stats.encryption = "aes-256-gcm";
  stats.key_fingerprint = cipher_->key_fingerprint();
  for (UserStatus s : kAllUserStatuses) stats.users_by_status[std::string(ToString(s))] = 0;
  {
    ReaderLease lease = AcquireReader();
    SqliteDb& db = lease.db();
    VOXGATE_ASSIGN_OR_RETURN(SqliteTransaction txn,
                             SqliteTransaction::Begin(db, SqliteTransaction::Kind::kDeferred));
    {
      VOXGATE_ASSIGN_OR_RETURN(
          SqliteStatement q,
          db.Prepare("SELECT status, count(*) FROM voiceprints GROUP BY status"));
      for (;;) {
        VOXGATE_ASSIGN_OR_RETURN(bool row, q.Step());
        if (!row) break;
        stats.users_by_status[q.ColumnText(0)] = q.ColumnInt(1);
        stats.users += q.ColumnInt(1);
      }
    }
    VOXGATE_ASSIGN_OR_RETURN(stats.samples, db.QueryInt("SELECT count(*) FROM samples"));
    VOXGATE_ASSIGN_OR_RETURN(stats.audit_events, db.QueryInt("SELECT count(*) FROM audit_log"));
    VOXGATE_ASSIGN_OR_RETURN(int version, ReadSchemaVersion(db));
    stats.schema_version = version;
    VOXGATE_ASSIGN_OR_RETURN(int64_t page_size, db.QueryInt("PRAGMA page_size"));
    VOXGATE_ASSIGN_OR_RETURN(int64_t free_pages, db.QueryInt("PRAGMA freelist_count"));
    stats.details["page_size"] = std::to_string(page_size);
    stats.details["freelist_pages"] = std::to_string(free_pages);
  }
  stats.healthy = true;
  stats.bytes_on_disk = FileSize(path_) + FileSize(path_ + "-wal");
  stats.details["path"] = path_;
  stats.details["journal_mode"] = "wal";
  stats.details["synchronous"] = config_.sqlite.synchronous;
  stats.details["read_connections"] = std::to_string(config_.sqlite.read_connections);
  return stats;
}

Status SqliteStore::Ping() {
  ReaderLease lease = AcquireReader();
  auto one = lease.db().QueryInt("SELECT count(*) FROM schema_version");
  return one.ok() ? Status::Ok() : one.status().WithContext("sqlite store " + path_);
}

}  // namespace voxgate::store
