#include "store/postgres_store.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <bit>
#include <cstring>
#include <optional>
#include <utility>

#include "store/record_validation.h"

namespace voxgate::store {

namespace {

// 'VXGT': the advisory lock that serialises schema migrations of nodes opening at once.
constexpr int64_t kMigrationLockId = 0x56584754;
constexpr std::string_view kKeyCheckContext = "voxgate postgres key check";
constexpr std::string_view kKeyCheckPlaintext = "voxgate key check v1";

struct PgMigration {
  int version;
  const char* description;
  const char* sql;
};

constexpr PgMigration kMigrations[] = {
    {1, "voiceprints, samples, append-only audit log, meta",
     R"sql(
CREATE TABLE voiceprints (
  user_id       TEXT COLLATE "C" PRIMARY KEY,
  name          TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'expired', 'blocked')),
  metadata      TEXT NOT NULL DEFAULT '{}',
  model_id      TEXT NOT NULL DEFAULT '',
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  version       BIGINT NOT NULL CHECK (version >= 1)
);
CREATE INDEX voiceprints_by_created ON voiceprints (created_at_ms, user_id);
CREATE INDEX voiceprints_by_status ON voiceprints (status, created_at_ms, user_id);

-- Embeddings only ever as AES-256-GCM blobs bound to (user_id, sample_id). Ciphertext does not
-- compress: keep it out of pglz.
CREATE TABLE samples (
  id             BIGSERIAL PRIMARY KEY,
  user_id        TEXT COLLATE "C" NOT NULL REFERENCES voiceprints (user_id) ON DELETE CASCADE,
  sample_id      TEXT COLLATE "C" NOT NULL,
  model_id       TEXT NOT NULL,
  speech_s       DOUBLE PRECISION NOT NULL,
  dim            BIGINT NOT NULL CHECK (dim > 0),
  created_at_ms  BIGINT NOT NULL,
  embedding_enc  BYTEA NOT NULL,
  UNIQUE (user_id, sample_id)
);
ALTER TABLE samples ALTER COLUMN embedding_enc SET STORAGE EXTERNAL;

CREATE TABLE audit_log (
  id          BIGSERIAL PRIMARY KEY,
  ts_ms       BIGINT NOT NULL,
  action      TEXT NOT NULL,
  user_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
  actor       TEXT NOT NULL DEFAULT '',
  request_id  TEXT NOT NULL DEFAULT '',
  detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_user ON audit_log (user_id, id);
CREATE INDEX audit_log_by_action ON audit_log (action, id);
CREATE FUNCTION voxgate_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION voxgate_audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION voxgate_audit_log_append_only();

-- Store-wide values, e.g. the key-check blob that detects a wrong encryption key at open.
CREATE TABLE meta (
  key    TEXT PRIMARY KEY,
  value  BYTEA NOT NULL
);
)sql"},
    {2, "samples.narrowband: made from telephone audio (verdicts judge such trials cross-channel)",
     "ALTER TABLE samples ADD COLUMN narrowband BOOLEAN NOT NULL DEFAULT FALSE;"},
};

// Columns 0..7 of every record query.
#define VOXGATE_PG_RECORD_COLUMNS                                                           \
  "v.user_id, v.name, v.status, v.metadata, v.model_id, v.created_at_ms, v.updated_at_ms, " \
  "v.version"
// Columns 0..6 of every sample query (offset by the record columns in joins).
#define VOXGATE_PG_SAMPLE_COLUMNS \
  "s.sample_id, s.model_id, s.speech_s, s.dim, s.created_at_ms, s.embedding_enc, s.narrowband"

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// Parameters of one statement. Text and bytes go in binary form (exact bytes, no NUL
// termination needed); numbers in text form, which the server parses exactly.
class Params {
 public:
  Params& Text(std::string_view v) { return Add(std::string(v), 1); }
  Params& Bytes(std::string_view v) { return Add(std::string(v), 1); }
  Params& Int(int64_t v) { return Add(std::to_string(v), 0); }
  Params& Double(double v) { return Add(fmt::format("{}", v), 0); }

  int size() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> values() const {
    std::vector<const char*> out;
    for (const std::string& v : values_) out.push_back(v.c_str());
    return out;
  }
  std::vector<int> lengths() const {
    std::vector<int> out;
    for (const std::string& v : values_) out.push_back(static_cast<int>(v.size()));
    return out;
  }
  const std::vector<int>& formats() const { return formats_; }

 private:
  Params& Add(std::string v, int format) {
    values_.push_back(std::move(v));
    formats_.push_back(format);
    return *this;
  }
  std::vector<std::string> values_;
  std::vector<int> formats_;
};

// Results come in binary form: integers big-endian, float8 IEEE big-endian, text/bytea raw.
std::string GetText(const PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}

uint64_t BigEndian(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

int64_t GetInt(const PGresult* r, int row, int col) {
  const int n = PQgetlength(r, row, col);
  const uint64_t v = BigEndian(PQgetvalue(r, row, col), n);
  if (n == 8) return static_cast<int64_t>(v);
  if (n == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  if (n == 2) return static_cast<int16_t>(static_cast<uint16_t>(v));
  return 0;
}

double GetDouble(const PGresult* r, int row, int col) {
  if (PQgetlength(r, row, col) != 8) return 0.0;
  return std::bit_cast<double>(BigEndian(PQgetvalue(r, row, col), 8));
}

int64_t AffectedRows(const PGresult* r) {
  const char* n = PQcmdTuples(const_cast<PGresult*>(r));
  return (n && *n) ? std::strtoll(n, nullptr, 10) : 0;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// One place maps server and connection errors to store codes.
StatusCode CodeOf(PGconn* conn, const PGresult* r) {
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) return StatusCode::kUnavailable;
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  if (state == nullptr) return StatusCode::kUnavailable;  // no answer: the connection failed
  const std::string_view s(state);
  if (s == "23505") return StatusCode::kAlreadyExists;  // unique_violation
  if (s == "23503") return StatusCode::kNotFound;       // foreign_key_violation: user gone
  if (StartsWith(s, "08") ||                            // connection exception
      StartsWith(s, "53") ||                            // insufficient resources
      StartsWith(s, "57") ||           // operator intervention: admin shutdown, statement timeout
      s == "40001" || s == "40P01" ||  // serialization failure, deadlock: a retry may pass
      s == "55P03" || s == "25006") {  // lock not available; read-only transaction (a standby)
    return StatusCode::kUnavailable;
  }
  if (StartsWith(s, "22") || StartsWith(s, "23")) return StatusCode::kInvalidArgument;
  if (s == "42501") return StatusCode::kInvalidArgument;  // e.g. the audit log's trigger
  return StatusCode::kInternal;
}

Status NotFound(std::string_view user_id) {
  return NotFoundError("voiceprint " + std::string(user_id) + " not found");
}

void IgnoreNotice(void* /*arg*/, const char* message) {
  // Notices ("relation already exists, skipping") and the FATAL a server sends to idle sessions
  // when it shuts down; the latter surfaces as kUnavailable on the next use.
  spdlog::debug("postgres: {}", message);
}

// Decodes %XX escapes (the password as libpq sees it).
std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const std::string hex(s.substr(i + 1, 2));
      char* end = nullptr;
      const long v = std::strtol(hex.c_str(), &end, 16);
      if (end == hex.c_str() + 2) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// The password part of postgresql://user:password@host/db, as written; empty when none.
std::string UrlPassword(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return "";
  const size_t auth_begin = scheme_end + 3;
  const size_t at = url.rfind('@');
  if (at == std::string::npos || at < auth_begin) return "";
  const size_t colon = url.find(':', auth_begin);
  if (colon == std::string::npos || colon > at) return "";
  return url.substr(colon + 1, at - colon - 1);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

// A leased connection: returned to the pool at destruction, after rolling back whatever
// transaction an early return left open (or dropping the connection when that fails).
class PostgresStore::Lease {
 public:
  Lease(PostgresStore* store, int slot) : store_(store), slot_(slot) {}
  Lease(Lease&& o) noexcept : store_(o.store_), slot_(std::exchange(o.slot_, -1)) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (slot_ < 0) return;
    PGconn*& conn = store_->conns_[slot_];
    if (conn != nullptr && PQtransactionStatus(conn) != PQTRANS_IDLE) {
      PGresult* r = PQexec(conn, "ROLLBACK");
      PQclear(r);
      if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PQfinish(conn);
        conn = nullptr;
      }
    }
    {
      std::lock_guard lock(store_->pool_mu_);
      store_->free_.push_back(slot_);
    }
    store_->pool_cv_.notify_one();
  }

  PGconn* conn() const { return store_->conns_[slot_]; }

  /// Runs one statement with parameters; the rows (binary form) or the mapped error.
  Result<PgResult> Exec(const char* sql, const Params& params = Params()) {
    const std::vector<const char*> values = params.values();
    const std::vector<int> lengths = params.lengths();
    PgResult r(PQexecParams(conn(), sql, params.size(), nullptr, values.data(), lengths.data(),
                            params.formats().data(), /*resultFormat=*/1));
    const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
    return Error(r.get());
  }

  /// Runs SQL without parameters (transaction control, DDL).
  Status Run(const char* sql) {
    PgResult r(PQexec(conn(), sql));
    const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
    return Error(r.get());
  }

  /// COMMIT; a connection lost here leaves the outcome unknown, which the message says.
  Status Commit() {
    Status st = Run("COMMIT");
    if (!st.ok() && st.code() == StatusCode::kUnavailable) {
      return st.WithContext("commit outcome unknown (the connection was lost)");
    }
    return st;
  }

  Status Error(const PGresult* r) const {
    const StatusCode code = CodeOf(conn(), r);
    const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string text = primary ? primary : PQerrorMessage(conn());
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::string message = store_->Scrub(std::move(text));
    if (code == StatusCode::kUnavailable) {
      message = "postgres " + store_->redacted_url_ + ": " + message;
    }
    return Status(code, std::move(message));
  }

 private:
  PostgresStore* store_;
  int slot_;
};

int PostgresStore::LatestSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

PostgresStore::PostgresStore(StoreConfig config, std::shared_ptr<const EmbeddingCipher> cipher)
    : config_(std::move(config)),
      url_(config_.postgres.ResolvedUrl()),
      redacted_url_(RedactDbUrl(url_)),
      cipher_(std::move(cipher)) {
  const std::string raw = UrlPassword(url_);
  if (!raw.empty()) {
    secrets_.push_back(raw);
    const std::string decoded = PercentDecode(raw);
    if (decoded != raw && !decoded.empty()) secrets_.push_back(decoded);
  }
  conns_.assign(static_cast<size_t>(config_.postgres.pool_size), nullptr);
  for (int i = config_.postgres.pool_size - 1; i >= 0; --i) free_.push_back(i);
}

PostgresStore::~PostgresStore() {
  std::lock_guard lock(pool_mu_);
  for (PGconn*& c : conns_) {
    if (c != nullptr) PQfinish(c);
    c = nullptr;
  }
}

std::string PostgresStore::Scrub(std::string message) const {
  for (const std::string& secret : secrets_) {
    for (size_t pos = message.find(secret); pos != std::string::npos;
         pos = message.find(secret, pos + 3)) {
      message.replace(pos, secret.size(), "***");
    }
  }
  return message;
}

Result<PGconn*> PostgresStore::Connect() const {
  const std::string timeout = std::to_string(config_.postgres.connect_timeout_s);
  const std::string options =
      "-c statement_timeout=" + std::to_string(config_.postgres.statement_timeout_ms);
  // Later keywords override what the URL (expanded from dbname) says.
  const char* keys[] = {"dbname",          "connect_timeout",  "options",
                        "client_encoding", "application_name", nullptr};
  const char* values[] = {url_.c_str(), timeout.c_str(), options.c_str(),
                          "UTF8",       "voxgate",       nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return UnavailableError("postgres " + redacted_url_ + ": out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return UnavailableError("postgres " + redacted_url_ + ": " + Scrub(std::move(msg)));
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  return conn;
}

Result<PostgresStore::Lease> PostgresStore::Acquire() {
  int slot = -1;
  {
    std::unique_lock lock(pool_mu_);
    pool_cv_.wait(lock, [this] { return !free_.empty(); });
    slot = free_.back();
    free_.pop_back();
  }
  Lease lease(this, slot);
  PGconn*& conn = conns_[slot];
  // An idle session hears nothing from its server unless the server is ending it (the FATAL of
  // a shutdown, or EOF after a crash or a restart). So a readable socket on a connection we
  // are not using means it is dead: replace it before use rather than fail the caller's first
  // statement. One poll() without waiting; a spurious replacement only costs a connect.
  if (conn != nullptr) {
    pollfd pfd{PQsocket(conn), POLLIN | POLLRDHUP, 0};
    if (PQstatus(conn) != CONNECTION_OK || pfd.fd < 0 || ::poll(&pfd, 1, 0) != 0) {
      PQfinish(conn);
      conn = nullptr;
    }
  }
  if (conn == nullptr) {
    VOXGATE_ASSIGN_OR_RETURN(conn, Connect());
  }
  return lease;
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    const StoreConfig& config, std::shared_ptr<const EmbeddingCipher> cipher) {
  VOXGATE_RETURN_IF_ERROR(config.postgres.Validate());
  if (cipher == nullptr) return InvalidArgumentError("PostgresStore needs an EmbeddingCipher");
  std::unique_ptr<PostgresStore> store(new PostgresStore(config, std::move(cipher)));
  VOXGATE_ASSIGN_OR_RETURN(Lease lease, store->Acquire());
  const char* encoding = PQparameterStatus(lease.conn(), "server_encoding");
  if (encoding == nullptr || std::string_view(encoding) != "UTF8") {
    return UnsupportedError("postgres " + store->redacted_url_ + ": the database encoding is " +
                            (encoding ? encoding : "unknown") +
                            ", not UTF8; user ids would not be stored exactly");
  }
  const std::string where = "postgres " + store->redacted_url_;
  VOXGATE_RETURN_IF_ERROR(lease.Run("BEGIN"));
  {
    Params p;
    p.Int(kMigrationLockId);
    auto locked = lease.Exec("SELECT pg_advisory_xact_lock($1::bigint)", p);
    if (!locked.ok()) return locked.status().WithContext(where);
  }
  VOXGATE_RETURN_IF_ERROR(
      lease.Run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                "applied_at_ms BIGINT NOT NULL, description TEXT NOT NULL)"));
  VOXGATE_ASSIGN_OR_RETURN(
      PgResult v, lease.Exec("SELECT coalesce(max(version), 0)::bigint FROM schema_version"));
  const int version = static_cast<int>(GetInt(v.get(), 0, 0));
  const int latest = LatestSchemaVersion();
  if (version > latest) {
    return UnsupportedError(where + ": database schema version " + std::to_string(version) +
                            " is newer than this build supports (" + std::to_string(latest) +
                            "); upgrade voxgate or restore a backup");
  }
  if (version == 0) {
    VOXGATE_ASSIGN_OR_RETURN(
        PgResult t,
        lease.Exec("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND "
                   "tablename IN ('voiceprints', 'samples', 'audit_log', 'meta')"));
    if (GetInt(t.get(), 0, 0) != 0) {
      return DataLossError(where + ": the database holds voiceprint tables but no schema version");
    }
  }
  for (const PgMigration& m : kMigrations) {
    if (m.version <= version) continue;
    Status st = lease.Run(m.sql);
    if (!st.ok()) return st.WithContext(where + ": schema migration " + std::to_string(m.version));
    Params p;
    p.Int(m.version).Int(NowUnixMs()).Text(m.description);
    auto ins = lease.Exec(
        "INSERT INTO schema_version (version, applied_at_ms, description) VALUES ($1, $2, $3)", p);
    if (!ins.ok()) return ins.status().WithContext(where);
  }
  // The key check: recorded with the first schema, compared on every later open.
  {
    VOXGATE_ASSIGN_OR_RETURN(std::string sealed,
                             store->cipher_->Seal(kKeyCheckPlaintext, kKeyCheckContext));
    Params p;
    p.Bytes(sealed).Bytes(store->cipher_->key_fingerprint());
    auto ins = lease.Exec(
        "INSERT INTO meta (key, value) VALUES ('key_check', $1), ('key_fingerprint', $2) "
        "ON CONFLICT (key) DO NOTHING",
        p);
    if (!ins.ok()) return ins.status().WithContext(where);
  }
  VOXGATE_ASSIGN_OR_RETURN(
      PgResult meta,
      lease.Exec("SELECT key, value FROM meta WHERE key IN ('key_check', 'key_fingerprint')"));
  std::string check;
  std::string written_with = "unknown";
  for (int i = 0; i < PQntuples(meta.get()); ++i) {
    if (GetText(meta.get(), i, 0) == "key_check") check = GetText(meta.get(), i, 1);
    if (GetText(meta.get(), i, 0) == "key_fingerprint") written_with = GetText(meta.get(), i, 1);
  }
  auto opened = store->cipher_->Open(check, kKeyCheckContext);
  if (!opened.ok() || *opened != kKeyCheckPlaintext) {
    return DataLossError(
        where + ": the encryption key (fingerprint " + store->cipher_->key_fingerprint() +
        ") is not the key this database was written with (fingerprint " + written_with + ")");
  }
  Status committed = lease.Commit();
  if (!committed.ok()) return committed.WithContext(where);
  return store;
}

namespace {

Status ReadRecordColumns(const PGresult* r, int row, VoiceprintRecord& rec) {
  rec.user_id = GetText(r, row, 0);
  rec.name = GetText(r, row, 1);
  auto status = ParseUserStatus(GetText(r, row, 2));
  if (!status.ok()) return DataLossError("stored status of user " + rec.user_id + " is invalid");
  rec.status = *status;
  rec.metadata = GetText(r, row, 3);
  rec.model_id = GetText(r, row, 4);
  rec.created_at_ms = GetInt(r, row, 5);
  rec.updated_at_ms = GetInt(r, row, 6);
  rec.version = GetInt(r, row, 7);
  return Status::Ok();
}

VoiceprintSample ReadSampleColumns(const PGresult* r, int row, int first, std::string* blob) {
  VoiceprintSample s;
  s.sample_id = GetText(r, row, first);
  s.model_id = GetText(r, row, first + 1);
  s.speech_s = GetDouble(r, row, first + 2);
  s.dim = static_cast<size_t>(GetInt(r, row, first + 3));
  s.created_at_ms = GetInt(r, row, first + 4);
  if (blob) *blob = GetText(r, row, first + 5);
  s.narrowband = GetText(r, row, first + 6) == std::string(1, '\1');  // binary boolean
  return s;
}

// Rows of a "record columns, sample columns" LEFT JOIN ordered by user then sample, grouped
// into records; `blobs` gets each record's sealed embeddings when non-null.
Status GroupRecords(const PGresult* r, std::vector<VoiceprintRecord>& records,
                    std::vector<std::vector<std::string>>* blobs) {
  for (int row = 0; row < PQntuples(r); ++row) {
    if (records.empty() || records.back().user_id != GetText(r, row, 0)) {
      VOXGATE_RETURN_IF_ERROR(ReadRecordColumns(r, row, records.emplace_back()));
      if (blobs) blobs->emplace_back();
    }
    if (PQgetisnull(r, row, 8)) continue;  // a user without samples
    std::string* blob = blobs ? &blobs->back().emplace_back() : nullptr;
    records.back().samples.push_back(ReadSampleColumns(r, row, 8, blob));
  }
  return Status::Ok();
}

}  // namespace

Status PostgresStore::DecryptSamples(VoiceprintRecord& record,
                                     const std::vector<std::string>& blobs) const {
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

namespace {

// One INSERT for all samples (one round trip).
Result<PgResult> InsertSamples(auto& lease, std::string_view user_id,
                               const std::vector<VoiceprintSample>& samples,
                               const std::vector<std::string>& sealed) {
  std::string sql =
      "INSERT INTO samples (user_id, sample_id, model_id, speech_s, dim, created_at_ms, "
      "embedding_enc, narrowband) VALUES ";
  Params p;
  for (size_t i = 0; i < samples.size(); ++i) {
    const VoiceprintSample& s = samples[i];
    const int b = static_cast<int>(i) * 8;
    sql += fmt::format("{}(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})", i ? ", " : "", b + 1, b + 2,
                       b + 3, b + 4, b + 5, b + 6, b + 7, b + 8);
    p.Text(user_id)
        .Text(s.sample_id)
        .Text(s.model_id)
        .Double(s.speech_s)
        .Int(static_cast<int64_t>(s.embedding.size()))
        .Int(s.created_at_ms)
        .Bytes(sealed[i])
        .Int(s.narrowband ? 1 : 0);  // text "1" / "0": a boolean
  }
  return lease.Exec(sql.c_str(), p);
}

}  // namespace

Result<VoiceprintRecord> PostgresStore::CreateVoiceprint(VoiceprintRecord record) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(record.user_id));
  VOXGATE_RETURN_IF_ERROR(ValidateName(record.name));
  if (record.metadata.empty()) record.metadata = "{}";
  VOXGATE_RETURN_IF_ERROR(ValidateJsonObject(record.metadata, "metadata", kMaxMetadataBytes));
  VOXGATE_RETURN_IF_ERROR(ValidateModelId(record.model_id));
  const int64_t now = NowUnixMs();
  size_t dim = 0;
  VOXGATE_RETURN_IF_ERROR(NormaliseSamples(record.samples, &record.model_id, &dim, now));
  std::vector<std::string> sealed;
  for (const VoiceprintSample& s : record.samples) {
    VOXGATE_ASSIGN_OR_RETURN(sealed.emplace_back(),
                             cipher_->Encrypt(s.embedding, record.user_id, s.sample_id));
  }
  record.created_at_ms = now;
  record.updated_at_ms = now;
  record.version = 1;

  VOXGATE_ASSIGN_OR_RETURN(Lease lease, Acquire());
  VOXGATE_RETURN_IF_ERROR(lease.Run("BEGIN"));
  {
    Params p;
    p.Text(record.user_id)
        .Text(record.name)
        .Text(ToString(record.status))
        .Text(record.metadata)
        .Text(record.model_id)
        .Int(now)
        .Int(now);
    VOXGATE_ASSIGN_OR_RETURN(
        PgResult ins,
        lease.Exec("INSERT INTO voiceprints (user_id, name, status, metadata, model_id, "
                   "created_at_ms, updated_at_ms, version) VALUES ($1, $2, $3, $4, $5, $6, $7, 1) "
                   "ON CONFLICT (user_id) DO NOTHING",
                   p));
    if (AffectedRows(ins.get()) == 0) {
      return Status(StatusCode::kAlreadyExists, "voiceprint " + record.user_id + " already exists");
    }
  }
  if (!record.samples.empty()) {
    auto ins = InsertSamples(lease, record.user_id, record.samples, sealed);
    if (!ins.ok()) return ins.status().WithContext("samples of " + record.user_id);
  }
  VOXGATE_RETURN_IF_ERROR(lease.Commit());
  return record;
}

Result<int64_t> PostgresStore::WriteSamples(std::string_view user_id,
                                            std::vector<VoiceprintSample> samples, bool replace) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  if (samples.empty()) return InvalidArgumentError("no samples given");
  const int64_t now = NowUnixMs();
  std::string model_id;
  size_t dim = 0;
  VOXGATE_RETURN_IF_ERROR(NormaliseSamples(samples, &model_id, &dim, now));
  std::vector<std::string> sealed;
  for (const VoiceprintSample& s : samples) {
    VOXGATE_ASSIGN_OR_RETURN(sealed.emplace_back(),
                             cipher_->Encrypt(s.embedding, user_id, s.sample_id));
  }

  VOXGATE_ASSIGN_OR_RETURN(Lease lease, Acquire());
  VOXGATE_RETURN_IF_ERROR(lease.Run("BEGIN"));
  std::string record_model;
  int64_t version = 0;
  {
    Params p;
    p.Text(user_id);
    VOXGATE_ASSIGN_OR_RETURN(
        PgResult q,
        lease.Exec("SELECT model_id, version FROM voiceprints WHERE user_id = $1 FOR UPDATE", p));
    if (PQntuples(q.get()) == 0) return NotFound(user_id);
    record_model = GetText(q.get(), 0, 0);
    version = GetInt(q.get(), 0, 1);
  }
  if (model_id.empty()) {
    model_id = record_model;  // the samples named no model: they are the record's
    for (VoiceprintSample& s : samples) s.model_id = model_id;
  }
  Params by_user;
  by_user.Text(user_id);
  if (replace) {
    VOXGATE_RETURN_IF_ERROR(lease.Exec("DELETE FROM samples WHERE user_id = $1", by_user).status());
  } else {
    if (!record_model.empty() && model_id != record_model) {
      return InvalidArgumentError("samples made by model \"" + model_id + "\" but voiceprint " +
                                  std::string(user_id) + " was made by \"" + record_model +
                                  "\"; replace the samples to re-enroll with the new model");
    }
    VOXGATE_ASSIGN_OR_RETURN(
        PgResult q, lease.Exec("SELECT dim FROM samples WHERE user_id = $1 LIMIT 1", by_user));
    if (PQntuples(q.get()) > 0 && static_cast<size_t>(GetInt(q.get(), 0, 0)) != dim) {
      return InvalidArgumentError("embeddings have " + std::to_string(dim) +
                                  " values but voiceprint " + std::string(user_id) + " has " +
                                  std::to_string(GetInt(q.get(), 0, 0)));
    }
  }
  {
    auto ins = InsertSamples(lease, user_id, samples, sealed);
    if (!ins.ok()) return ins.status().WithContext("samples of " + std::string(user_id));
  }
  {
    Params p;
    p.Text(user_id).Text(model_id).Int(now);
    VOXGATE_RETURN_IF_ERROR(
        lease
            .Exec("UPDATE voiceprints SET model_id = $2, version = version + 1, "
                  "updated_at_ms = greatest(updated_at_ms, $3::bigint) WHERE user_id = $1",
                  p)
            .status());
  }
  VOXGATE_RETURN_IF_ERROR(lease.Commit());
  return version + 1;
}

Result<int64_t> PostgresStore::AddSamples(std::string_view user_id,
                                          std::vector<VoiceprintSample> samples) {
  return WriteSamples(user_id, std::move(samples), /*replace=*/false);
}

Result<int64_t> PostgresStore::ReplaceSamples(std::string_view user_id,
                                              std::vector<VoiceprintSample> samples) {
  return WriteSamples(user_id, std::move(samples), /*replace=*/true);
}

Result<VoiceprintRecord> PostgresStore::Get(std::string_view user_id) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  std::vector<VoiceprintRecord> records;
  std::vector<std::vector<std::string>> blobs;
  {
    VOXGATE_ASSIGN_OR_RETURN(Lease lease, Acquire());
    Params p;
    p.Text(user_id);
    // One statement: the record and its samples from one snapshot, in one round trip.
    VOXGATE_ASSIGN_OR_RETURN(
        PgResult q, lease.Exec("SELECT " VOXGATE_PG_RECORD_COLUMNS ", " VOXGATE_PG_SAMPLE_COLUMNS
                               " FROM voiceprints v LEFT JOIN samples s ON s.user_id = v.user_id "
                               "WHERE v.user_id = $1 ORDER BY s.id",
                               p));
    VOXGATE_RETURN_IF_ERROR(GroupRecords(q.get(), records, &blobs));
  }
  if (records.empty()) return NotFound(user_id);
  VOXGATE_RETURN_IF_ERROR(DecryptSamples(records[0], blobs[0]));
  return std::move(records[0]);
}

Result<int64_t> PostgresStore::SetStatus(std::string_view user_id, UserStatus status) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  VOXGATE_ASSIGN_OR_RETURN(Lease lease, Acquire());
  VOXGATE_RETURN_IF_ERROR(lease.Run("BEGIN"));
  Params by_user;
  by_user.Text(user_id);
  VOXGATE_ASSIGN_OR_RETURN(
      PgResult q,
      lease.Exec("SELECT status, version FROM voiceprints WHERE user_id = $1 FOR UPDATE", by_user));
  if (PQntuples(q.get()) == 0) return NotFound(user_id);
  const int64_t version = GetInt(q.get(), 0, 1);
  if (GetText(q.get(), 0, 0) == ToString(status)) return version;
  Params p;
  p.Text(user_id).Text(ToString(status)).Int(NowUnixMs());
  VOXGATE_RETURN_IF_ERROR(lease
                              .Exec("UPDATE voiceprints SET status = $2, version = version + 1, "
                                    "updated_at_ms = greatest(updated_at_ms, $3::bigint) "
                                    "WHERE user_id = $1",
                                    p)
                              .status());
  VOXGATE_RETURN_IF_ERROR(lease.Commit());
  return version + 1;
}

Result<int64_t> PostgresStore::UpdateProfile(std::string_view user_id,
                                             const ProfileUpdate& update) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  if (update.name) VOXGATE_RETURN_IF_ERROR(ValidateName(*update.name));
  std::optional<std::string> metadata = update.metadata;
  if (metadata && metadata->empty()) metadata = "{}";
  if (metadata) {
    VOXGATE_RETURN_IF_ERROR(ValidateJsonObject(*metadata, "metadata", kMaxMetadataBytes));
  }
  VOXGATE_ASSIGN_OR_RETURN(Lease lease, Acquire());
  VOXGATE_RETURN_IF_ERROR(lease.Run("BEGIN"));
  Params by_user;
  by_user.Text(user_id);
  VOXGATE_ASSIGN_OR_RETURN(
      PgResult q,
      lease.Exec("SELECT name, metadata, version FROM voiceprints WHERE user_id = $1 FOR UPDATE",
                 by_user));
  if (PQntuples(q.get()) == 0) return NotFound(user_id);
  const std::string name = GetText(q.get(), 0, 0);
  const std::string old_metadata = GetText(q.get(), 0, 1);
  const int64_t version = GetInt(q.get(), 0, 2);
  const std::string& new_name = update.name ? *update.name : name;
  const std::string& new_metadata = metadata ? *metadata : old_metadata;
  if (new_name == name && new_metadata == old_metadata) return version;
  Params p;
  p.Text(user_id).Text(new_name).Text(new_metadata).Int(NowUnixMs());
  VOXGATE_RETURN_IF_ERROR(
      lease
          .Exec("UPDATE voiceprints SET name = $2, metadata = $3, version = version + 1, "
                "updated_at_ms = greatest(updated_at_ms, $4::bigint) WHERE user_id = $1",
                p)
          .status());
  VOXGATE_RETURN_IF_ERROR(lease.Commit());
  return version + 1;
}

Status PostgresStore::Delete(std::string_view user_id) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  VOXGATE_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Params p;
  p.Text(user_id);
  // One statement, hence one transaction; the samples go with it (ON DELETE CASCADE).
  VOXGATE_ASSIGN_OR_RETURN(PgResult del,
                           lease.Exec("DELETE FROM voiceprints WHERE user_id = $1", p));
  if (AffectedRows(del.get()) == 0) return NotFound(user_id);
  return Status::Ok();
}

Result<ListPage> PostgresStore::List(const ListQuery& query) {
  if (query.limit < 1 || query.limit > kMaxListLimit) {
    return InvalidArgumentError("limit must be in [1, " + std::to_string(kMaxListLimit) + "]");
  }
  if (query.offset < 0) return InvalidArgumentError("offset must be >= 0");
  ListPage page;
  std::vector<std::vector<std::string>> blobs;
  {
    VOXGATE_ASSIGN_OR_RETURN(Lease lease, Acquire());
    // The count and the page from one snapshot.
    VOXGATE_RETURN_IF_ERROR(lease.Run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    Params count_params;
    if (query.status) count_params.Text(ToString(*query.status));
    VOXGATE_ASSIGN_OR_RETURN(
        PgResult c, lease.Exec(query.status ? "SELECT count(*) FROM voiceprints WHERE status = $1"
                                            : "SELECT count(*) FROM voiceprints",
                               count_params));
    page.total = GetInt(c.get(), 0, 0);
    Params p;
    p.Int(query.limit).Int(query.offset);
    if (query.status) p.Text(ToString(*query.status));
    const std::string embedding = query.include_embeddings ? "s.embedding_enc" : "NULL::bytea";
    const std::string sql =
        "SELECT " VOXGATE_PG_RECORD_COLUMNS
        ", s.sample_id, s.model_id, s.speech_s, s.dim, s.created_at_ms, " +
        embedding + ", s.narrowband FROM (SELECT * FROM voiceprints" +
        (query.status ? " WHERE status = $3" : "") +
        " ORDER BY created_at_ms, user_id LIMIT $1 OFFSET $2) v "
        "LEFT JOIN samples s ON s.user_id = v.user_id ORDER BY v.created_at_ms, v.user_id, s.id";
    VOXGATE_ASSIGN_OR_RETURN(PgResult q, lease.Exec(sql.c_str(), p));
    VOXGATE_RETURN_IF_ERROR(
        GroupRecords(q.get(), page.records, query.include_embeddings ? &blobs : nullptr));
    VOXGATE_RETURN_IF_ERROR(lease.Commit());
  }
  if (query.include_embeddings) {
    for (size_t i = 0; i < page.records.size(); ++i) {
      VOXGATE_RETURN_IF_ERROR(DecryptSamples(page.records[i], blobs[i]));
    }
  }
  return page;
}

Result<std::vector<VoiceprintRecord>> PostgresStore::LoadActive() {
  std::vector<VoiceprintRecord> records;
  std::vector<std::vector<std::string>> blobs;
  {
    VOXGATE_ASSIGN_OR_RETURN(Lease lease, Acquire());
    VOXGATE_ASSIGN_OR_RETURN(
        PgResult q,
        lease.Exec("SELECT " VOXGATE_PG_RECORD_COLUMNS ", " VOXGATE_PG_SAMPLE_COLUMNS
                   " FROM voiceprints v LEFT JOIN samples s ON s.user_id = v.user_id "
                   "WHERE v.status = 'active' ORDER BY v.created_at_ms, v.user_id, s.id"));
    VOXGATE_RETURN_IF_ERROR(GroupRecords(q.get(), records, &blobs));
  }
  for (size_t i = 0; i < records.size(); ++i) {
    VOXGATE_RETURN_IF_ERROR(DecryptSamples(records[i], blobs[i]));
  }
  return records;
}

Result<int64_t> PostgresStore::AppendAudit(const AuditEvent& event_in) {
  AuditEvent event = event_in;
  if (event.detail.empty()) event.detail = "{}";
  VOXGATE_RETURN_IF_ERROR(ValidateAuditEvent(event));
  const int64_t ts = event.ts_ms != 0 ? event.ts_ms : NowUnixMs();
  VOXGATE_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Params p;
  p.Int(ts)
      .Text(ToString(event.action))
      .Text(event.user_id)
      .Text(event.actor)
      .Text(event.request_id)
      .Text(event.detail);
  VOXGATE_ASSIGN_OR_RETURN(
      PgResult ins,
      lease.Exec("INSERT INTO audit_log (ts_ms, action, user_id, actor, request_id, detail) "
                 "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                 p));
  return GetInt(ins.get(), 0, 0);
}

Result<AuditPage> PostgresStore::ReadAudit(const AuditQuery& query) {
  if (query.limit < 1 || query.limit > kMaxAuditLimit) {
    return InvalidArgumentError("limit must be in [1, " + std::to_string(kMaxAuditLimit) + "]");
  }
  if (query.offset < 0) return InvalidArgumentError("offset must be >= 0");
  if (query.before_id < 0) return InvalidArgumentError("before_id must be >= 0");
  // $1 before_id, then the optional filters in order.
  std::string where = "WHERE id < $1";
  Params filter;
  filter.Int(query.before_id > 0 ? query.before_id : INT64_MAX);
  int n = 1;
  if (query.user_id) {
    where += " AND user_id = $" + std::to_string(++n);
    filter.Text(*query.user_id);
  }
  if (query.action) {
    where += " AND action = $" + std::to_string(++n);
    filter.Text(ToString(*query.action));
  }
  AuditPage page;
  VOXGATE_ASSIGN_OR_RETURN(Lease lease, Acquire());
  VOXGATE_RETURN_IF_ERROR(lease.Run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  {
    const std::string sql = "SELECT count(*) FROM audit_log " + where;
    VOXGATE_ASSIGN_OR_RETURN(PgResult c, lease.Exec(sql.c_str(), filter));
    page.total = GetInt(c.get(), 0, 0);
  }
  Params p = filter;
  p.Int(query.limit).Int(query.offset);
  const std::string sql =
      "SELECT id, ts_ms, action, user_id, actor, request_id, detail FROM audit_log " + where +
      " ORDER BY id DESC LIMIT $" + std::to_string(n + 1) + " OFFSET $" + std::to_string(n + 2);
  VOXGATE_ASSIGN_OR_RETURN(PgResult q, lease.Exec(sql.c_str(), p));
  VOXGATE_RETURN_IF_ERROR(lease.Commit());
  for (int row = 0; row < PQntuples(q.get()); ++row) {
    AuditEvent& e = page.events.emplace_back();
    e.id = GetInt(q.get(), row, 0);
    e.ts_ms = GetInt(q.get(), row, 1);
    auto parsed = ParseAuditAction(GetText(q.get(), row, 2));
    if (!parsed.ok()) return DataLossError("audit event " + std::to_string(e.id) + ": bad action");
    e.action = *parsed;
    e.user_id = GetText(q.get(), row, 3);
    e.actor = GetText(q.get(), row, 4);
    e.request_id = GetText(q.get(), row, 5);
    e.detail = GetText(q.get(), row, 6);
  }
  return page;
}

Result<StoreStats> PostgresStore::Stats() {
  StoreStats stats;
  stats.backend = "postgres";
  stats.encryption = "aes-256-gcm";
  stats.key_fingerprint = cipher_->key_fingerprint();
  for (UserStatus s : kAllUserStatuses) stats.users_by_status[std::string(ToString(s))] = 0;
  VOXGATE_ASSIGN_OR_RETURN(Lease lease, Acquire());
  VOXGATE_RETURN_IF_ERROR(lease.Run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  {
    VOXGATE_ASSIGN_OR_RETURN(
        PgResult q, lease.Exec("SELECT status, count(*) FROM voiceprints GROUP BY status"));
    for (int row = 0; row < PQntuples(q.get()); ++row) {
      stats.users_by_status[GetText(q.get(), row, 0)] = GetInt(q.get(), row, 1);
      stats.users += GetInt(q.get(), row, 1);
    }
  }
  VOXGATE_ASSIGN_OR_RETURN(
      PgResult q,
      lease.Exec("SELECT (SELECT count(*) FROM samples), (SELECT count(*) FROM audit_log), "
                 "pg_database_size(current_database()), "
                 "(SELECT coalesce(max(version), 0)::bigint FROM schema_version)"));
  stats.samples = GetInt(q.get(), 0, 0);
  stats.audit_events = GetInt(q.get(), 0, 1);
  stats.bytes_on_disk = GetInt(q.get(), 0, 2);
  stats.schema_version = static_cast<int>(GetInt(q.get(), 0, 3));
  VOXGATE_RETURN_IF_ERROR(lease.Commit());
  stats.healthy = true;
  const char* server_version = PQparameterStatus(lease.conn(), "server_version");
  stats.details["server_version"] = server_version ? server_version : "";
  stats.details["url"] = redacted_url_;
  stats.details["pool_size"] = std::to_string(config_.postgres.pool_size);
  stats.details["statement_timeout_ms"] = std::to_string(config_.postgres.statement_timeout_ms);
  return stats;
}

Status PostgresStore::Ping() {
  VOXGATE_ASSIGN_OR_RETURN(Lease lease, Acquire());
  return lease.Exec("SELECT 1").status();
}

}  // namespace voxgate::store
