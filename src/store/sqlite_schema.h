// Versioned schema of the SQLite store. Migrations are an ordered list; at open, every migration
// newer than the database's version is applied in one IMMEDIATE transaction (all or nothing,
// safe against another process opening the same file). A database written by a newer build is
// refused rather than guessed at. Stateless functions; the caller owns the connection.
#pragma once

#include <span>

#include "common/result.h"
#include "store/sqlite_db.h"

namespace voxgate::store {

struct SqliteMigration {
  int version;              // 1, 2, 3, ... without gaps
  const char* description;  // recorded in schema_version
  const char* sql;          // DDL/DML run inside the migration transaction
};

/// The store's migrations, oldest first.
std::span<const SqliteMigration> StoreMigrations();

/// 0 for a database without a schema_version table (new or empty file).
Result<int> ReadSchemaVersion(SqliteDb& db);

/// Brings the database to the last of `migrations`. kUnsupported when the database's version is
/// newer than the last migration; kDataLoss when the file belongs to another application.
/// Returns the resulting version.
Result<int> MigrateSchema(SqliteDb& db, std::span<const SqliteMigration> migrations);

}  // namespace voxgate::store
