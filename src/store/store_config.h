// Configuration of the voiceprint store and of the encryption of embeddings at rest.
// Plain data, thread-compatible.
#pragma once

#include <string>

#include "common/status.h"

namespace voxgate::store {

/// Where the key that encrypts embeddings comes from. The key itself is never part of a config:
/// it is read from the environment or a file (see encryption_key.h).
struct EncryptionConfig {
  /// "dev": without a key, create a random one in key_file (mode 0600) on first run.
  /// "prod": without a key, refuse to start.
  std::string profile = "dev";
  /// Environment variable read first: 64 hex chars, or base64 of 32 bytes.
  std::string key_env = "VOXGATE_ENCRYPTION_KEY";
  /// Key file read when key_env is unset or empty: the same text formats, or exactly 32 raw bytes.
  /// Empty: "<data_dir>/voxgate.key" in the dev profile, none in prod (see StoreConfig).
  std::string key_file;

  Status Validate() const;
  /// One line; says whether key_env is set but prints its value as ***.
  std::string ToString() const;
};

/// SQLite backend (the embedded default).
struct SqliteConfig {
  /// "full": every commit is fsynced before it is acknowledged, so no acknowledged write is lost
  /// even on power loss or an OS crash. "normal": in WAL mode survives a process crash (kill -9)
  /// but may lose the last commits on power loss; faster on slow disks. See sqlite_store.h.
  std::string synchronous = "full";
  int busy_timeout_ms = 5000;  // wait this long for a lock held by another process, ms
  int read_connections = 4;    // pooled read connections; reads run alongside the writer (WAL)

  Status Validate() const;
  std::string ToString() const;
};

struct StoreConfig {
  /// "sqlite" (embedded, one box). The scale-out backends ("redis", "postgres", "tiered") plug in
  /// behind the same VoiceprintStore interface.
  std::string backend = "sqlite";
  /// Directory of the database file (voxgate.db) and of the dev key file; created with mode 0700.
  std::string data_dir = "./data";
  SqliteConfig sqlite;
  EncryptionConfig encryption;

  Status Validate() const;
  std::string ToString() const;

  /// "<data_dir>/voxgate.db".
  std::string DbPath() const;
  /// `encryption` with key_file resolved: "<data_dir>/voxgate.key" when empty in the dev profile.
  EncryptionConfig ResolvedEncryption() const;
};

}  // namespace voxgate::store
