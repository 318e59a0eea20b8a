// Thin RAII layer over the SQLite C API for the store's backend: a connection with a cache of
// prepared statements, a borrowed statement that binds parameters and resets itself, and a
// transaction that rolls back unless committed. SQL is always a literal; values are always bound.
//
// A SqliteDb (and its statements) is used by one thread at a time: the owner serialises access
// (sqlite_store.cc hands connections out under a mutex). Not thread-safe by itself.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace voxgate::store {

/// Maps an SQLite result code to a Status: busy/locked/I/O/full -> kUnavailable,
/// corrupt/not-a-database -> kDataLoss, unique/primary key -> kAlreadyExists, others (other
/// constraints included) -> kInternal.
Status SqliteError(int rc, std::string_view message);

class SqliteStatement;

class SqliteDb {
 public:
  /// Opens (creating it when `create`) the database at `path` with per-connection settings:
  /// busy timeout, foreign keys, secure_delete, no untrusted schema functions.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, bool create,
                                                int busy_timeout_ms);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  /// Runs SQL without parameters (may hold several statements).
  Status Exec(const char* sql);
  /// A cached prepared statement for the literal `sql`, reset and unbound.
  Result<SqliteStatement> Prepare(const char* sql);
  /// Runs a one-row, one-column query (e.g. a PRAGMA) and returns the value as text.
  Result<std::string> QueryText(const char* sql);
  Result<int64_t> QueryInt(const char* sql);

  /// The latest error on this connection as a Status with `context`.
  Status LastError(int rc, std::string_view context) const;
  sqlite3* handle() const { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;  // keyed by the SQL literal's address
};

/// A prepared statement borrowed from a SqliteDb's cache; resets and clears its bindings when
/// it goes out of scope. Bind errors are kept and reported by Step().
class SqliteStatement {
 public:
  SqliteStatement(SqliteDb* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  SqliteStatement(const SqliteStatement&) = delete;
  ~SqliteStatement();

  /// Parameters are 1-based, as in SQLite.
  SqliteStatement& Bind(int index, int64_t value);
  SqliteStatement& Bind(int index, double value);
  SqliteStatement& BindText(int index, std::string_view value);
  SqliteStatement& BindBlob(int index, std::string_view value);
  SqliteStatement& BindNull(int index);

  /// true: a row is available; false: done.
  Result<bool> Step();
  /// Steps to completion, ignoring rows.
  Status Run();

  int64_t ColumnInt(int col) const;
  double ColumnDouble(int col) const;
  std::string ColumnText(int col) const;
  std::string ColumnBlob(int col) const;
  bool ColumnIsNull(int col) const;
  /// Rows changed by the last Run()/Step() of this connection.
  int64_t Changes() const;

 private:
  void Check(int rc);
  SqliteDb* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = 0;  // first bind error
};

/// BEGIN (IMMEDIATE for writers, so the write lock is taken up front and a busy database shows
/// at BEGIN rather than mid-transaction) ... COMMIT; rolls back when destroyed uncommitted.
class SqliteTransaction {
 public:
  enum class Kind { kDeferred, kImmediate };
  static Result<SqliteTransaction> Begin(SqliteDb& db, Kind kind);
  SqliteTransaction(SqliteTransaction&& other) noexcept;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction();
  Status Commit();

 private:
  explicit SqliteTransaction(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;
};

}  // namespace voxgate::store
