#include "store/sqlite_db.h"

#include <sqlite3.h>

namespace voxgate::store {

Status SqliteError(int rc, std::string_view message) {
  std::string m = "sqlite: " + std::string(message);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
      return UnavailableError(std::move(m));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLossError(std::move(m));
    case SQLITE_CONSTRAINT:
      // A taken key is a conflict the caller can act on; any other constraint is a bug here.
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
        return Status(StatusCode::kAlreadyExists, std::move(m));
      }
      return InternalError(std::move(m));
    default:
      return InternalError(std::move(m));
  }
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, bool create,
                                                 int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  // NOMUTEX: the owner already guarantees one thread per connection at a time.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status st = SqliteError(rc, raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
    sqlite3_close_v2(raw);
    return st.WithContext("opening " + path);
  }
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  // secure_delete: deleted rows (embeddings, names) are overwritten with zeros in the file.
  // trusted_schema=OFF: a tampered schema cannot make us call functions with side effects.
  VOXGATE_RETURN_IF_ERROR(
      db->Exec("PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; PRAGMA trusted_schema=OFF;"));
  return db;
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status SqliteDb::LastError(int rc, std::string_view context) const {
  return SqliteError(rc, std::string(context) + ": " + sqlite3_errmsg(db_));
}

Status SqliteDb::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    Status st = SqliteError(rc, err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return st;
  }
  return Status::Ok();
}

Result<SqliteStatement> SqliteDb::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return SqliteStatement(this, it->second);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return LastError(rc, "preparing statement");
  cache_.emplace(sql, stmt);
  return SqliteStatement(this, stmt);
}

Result<std::string> SqliteDb::QueryText(const char* sql) {
  VOXGATE_ASSIGN_OR_RETURN(SqliteStatement stmt, Prepare(sql));
  VOXGATE_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return InternalError(std::string("no row from: ") + sql);
  return stmt.ColumnText(0);
}

Result<int64_t> SqliteDb::QueryInt(const char* sql) {
  VOXGATE_ASSIGN_OR_RETURN(SqliteStatement stmt, Prepare(sql));
  VOXGATE_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return InternalError(std::string("no row from: ") + sql);
  return stmt.ColumnInt(0);
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), bind_rc_(other.bind_rc_) {
  other.stmt_ = nullptr;
}

SqliteStatement::~SqliteStatement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void SqliteStatement::Check(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == 0) bind_rc_ = rc;
}

SqliteStatement& SqliteStatement::Bind(int index, int64_t value) {
  Check(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int index, double value) {
  Check(sqlite3_bind_double(stmt_, index, value));
  return *this;
}

SqliteStatement& SqliteStatement::BindText(int index, std::string_view value) {
  Check(
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

SqliteStatement& SqliteStatement::BindBlob(int index, std::string_view value) {
  Check(sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT));
  return *this;
}

SqliteStatement& SqliteStatement::BindNull(int index) {
  Check(sqlite3_bind_null(stmt_, index));
  return *this;
}

Result<bool> SqliteStatement::Step() {
  if (bind_rc_ != 0) return db_->LastError(bind_rc_, "binding a parameter");
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->LastError(rc, "executing statement");
}

Status SqliteStatement::Run() {
  for (;;) {
    VOXGATE_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

int64_t SqliteStatement::ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }

double SqliteStatement::ColumnDouble(int col) const { return sqlite3_column_double(stmt_, col); }

std::string SqliteStatement::ColumnText(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

std::string SqliteStatement::ColumnBlob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

bool SqliteStatement::ColumnIsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

int64_t SqliteStatement::Changes() const { return sqlite3_changes64(sqlite3_db_handle(stmt_)); }

Result<SqliteTransaction> SqliteTransaction::Begin(SqliteDb& db, Kind kind) {
  VOXGATE_RETURN_IF_ERROR(db.Exec(kind == Kind::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"));
  return SqliteTransaction(&db);
}

SqliteTransaction::SqliteTransaction(SqliteTransaction&& other) noexcept : db_(other.db_) {
  other.db_ = nullptr;
}

SqliteTransaction::~SqliteTransaction() {
  if (db_ != nullptr) db_->Exec("ROLLBACK");
}

Status SqliteTransaction::Commit() {
  SqliteDb* db = db_;
  db_ = nullptr;
  Status st = db->Exec("COMMIT");
  // A failed COMMIT (e.g. SQLITE_BUSY, I/O error) may leave the transaction open.
  if (!st.ok() && !sqlite3_get_autocommit(db->handle())) db->Exec("ROLLBACK");
  return st;
}

}  // namespace voxgate::store
