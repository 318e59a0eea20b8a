#include "store/sqlite_schema.h"

#include <chrono>

namespace voxgate::store {

namespace {

// 'VXGT': marks the file as ours (PRAGMA application_id), so a foreign SQLite file is refused.
constexpr int64_t kApplicationId = 0x56584754;

constexpr SqliteMigration kMigrations[] = {
    {1, "voiceprints, samples, append-only audit log, meta",
     R"sql(
CREATE TABLE voiceprints (
  user_id       TEXT PRIMARY KEY NOT NULL,
  name          TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'expired', 'blocked')),
  metadata      TEXT NOT NULL DEFAULT '{}',
  model_id      TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  version       INTEGER NOT NULL CHECK (version >= 1)
);
CREATE INDEX voiceprints_by_created ON voiceprints (created_at_ms, user_id);
CREATE INDEX voiceprints_by_status ON voiceprints (status, created_at_ms, user_id);

-- Embeddings only ever as AES-256-GCM blobs bound to (user_id, sample_id).
CREATE TABLE samples (
  id             INTEGER PRIMARY KEY,
  user_id        TEXT NOT NULL REFERENCES voiceprints (user_id) ON DELETE CASCADE,
  sample_id      TEXT NOT NULL,
  model_id       TEXT NOT NULL,
  speech_s       REAL NOT NULL,
  dim            INTEGER NOT NULL CHECK (dim > 0),
  created_at_ms  INTEGER NOT NULL,
  embedding_enc  BLOB NOT NULL,
  UNIQUE (user_id, sample_id)
);

CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  ts_ms       INTEGER NOT NULL,
  action      TEXT NOT NULL,
  user_id     TEXT NOT NULL DEFAULT '',
  actor       TEXT NOT NULL DEFAULT '',
  request_id  TEXT NOT NULL DEFAULT '',
  detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_user ON audit_log (user_id, id);
CREATE INDEX audit_log_by_action ON audit_log (action, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Store-wide values, e.g. the key-check blob that detects a wrong encryption key at open.
CREATE TABLE meta (
  key    TEXT PRIMARY KEY NOT NULL,
  value  BLOB NOT NULL
);
)sql"},
    {2, "samples.narrowband: made from telephone audio (verdicts judge such trials cross-channel)",
     "ALTER TABLE samples ADD COLUMN narrowband INTEGER NOT NULL DEFAULT 0 CHECK (narrowband IN "
     "(0, 1));"},
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::span<const SqliteMigration> StoreMigrations() { return kMigrations; }

Result<int> ReadSchemaVersion(SqliteDb& db) {
  VOXGATE_ASSIGN_OR_RETURN(
      int64_t has_table, db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                                     "name = 'schema_version'"));
  if (has_table == 0) return 0;
  VOXGATE_ASSIGN_OR_RETURN(int64_t version,
                           db.QueryInt("SELECT coalesce(max(version), 0) FROM schema_version"));
  return static_cast<int>(version);
}

Result<int> MigrateSchema(SqliteDb& db, std::span<const SqliteMigration> migrations) {
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  VOXGATE_ASSIGN_OR_RETURN(SqliteTransaction txn,
                           SqliteTransaction::Begin(db, SqliteTransaction::Kind::kImmediate));
  VOXGATE_ASSIGN_OR_RETURN(int64_t app_id, db.QueryInt("PRAGMA application_id"));
  VOXGATE_ASSIGN_OR_RETURN(int version, ReadSchemaVersion(db));
  if (app_id != 0 && app_id != kApplicationId) {
    return DataLossError("the database file belongs to another application (application_id " +
                         std::to_string(app_id) + ")");
  }
  if (version == 0 && app_id == 0) {
    VOXGATE_ASSIGN_OR_RETURN(
        int64_t tables, db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE type = 'table'"));
    if (tables != 0) {
      return DataLossError("the database file holds tables but no voxgate schema version");
    }
  }
  if (version > latest) {
    return Status(StatusCode::kUnsupported, "database schema version " + std::to_string(version) +
                                                " is newer than this build supports (" +
                                                std::to_string(latest) +
                                                "); upgrade voxgate or restore a backup");
  }
  if (version == latest) return version;  // nothing to do; the transaction rolls back
  VOXGATE_RETURN_IF_ERROR(
      db.Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
              "applied_at_ms INTEGER NOT NULL, description TEXT NOT NULL)"));
  const std::string set_app_id = "PRAGMA application_id = " + std::to_string(kApplicationId);
  VOXGATE_RETURN_IF_ERROR(db.Exec(set_app_id.c_str()));
  for (const SqliteMigration& m : migrations) {
    if (m.version <= version) continue;
    Status st = db.Exec(m.sql);
    if (!st.ok()) return st.WithContext("schema migration " + std::to_string(m.version));
    VOXGATE_ASSIGN_OR_RETURN(
        SqliteStatement ins,
        db.Prepare("INSERT INTO schema_version (version, applied_at_ms, description) "
                   "VALUES (?1, ?2, ?3)"));
    ins.Bind(1, static_cast<int64_t>(m.version)).Bind(2, NowMs()).BindText(3, m.description);
    VOXGATE_RETURN_IF_ERROR(ins.Run());
  }
  VOXGATE_RETURN_IF_ERROR(txn.Commit());
  return latest;
}

}  // namespace voxgate::store
