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

/// Redis: the shared hot tier of a cluster (cache of records, invalidation over pub/sub), or a
/// store of its own. The URL may hold a password, so it is read from the environment first and is
/// never printed (ToString and errors show it with the password as ***).
struct RedisConfig {
  std::string url_env = "VOXGATE_REDIS_URL";     // read first: redis://[:password@]host[:port][/db]
  std::string url = "redis://127.0.0.1:6379/0";  // used when url_env is unset or empty
  std::string key_prefix = "voxgate:";           // every key and channel starts with it
  int pool_size = 8;                             // pooled connections for commands
  int connect_timeout_ms = 1000;
  int command_timeout_ms = 2000;
  int cache_ttl_s = 3600;  // TTL of cached records in the tiered store (0: no expiry)

  Status Validate() const;
  std::string ToString() const;
  /// The URL to connect to: $url_env when set and non-empty, else `url`.
  std::string ResolvedUrl() const;
};

/// PostgreSQL: the durable tier of a cluster. Same rules for the URL as RedisConfig.
struct PostgresConfig {
  std::string url_env = "VOXGATE_POSTGRES_URL";  // read first: postgresql://user:pw@host:port/db
  std::string url = "postgresql://127.0.0.1:5432/voxgate";  // used when url_env is unset or empty
  int pool_size = 8;                                        // pooled connections
  int connect_timeout_s = 5;                                // libpq connect_timeout
  int statement_timeout_ms = 5000;

  Status Validate() const;
  std::string ToString() const;
  std::string ResolvedUrl() const;
};

/// The tiered store: in-process cache -> Redis -> durable store.
struct TieredConfig {
  std::string durable = "postgres";  // "postgres", or "sqlite" on one box
  int memory_capacity = 10000;       // records kept in the in-process cache (LRU)
  int memory_ttl_s = 60;             // in-process entries expire after this even without a message

  Status Validate() const;
  std::string ToString() const;
};

/// Redacts the password of a redis:// or postgresql:// URL ("redis://:***@host:6379/0"); returns
/// the URL unchanged when it has none.
std::string RedactDbUrl(const std::string& url);

struct StoreConfig {
  /// "sqlite" (embedded, one box), "redis", "postgres" or "tiered" (memory -> Redis -> durable).
  /// Overridden by $VOXGATE_STORE_BACKEND when set (see app_config.cc).
  std::string backend = "sqlite";
  /// Directory of the database file (voxgate.db) and of the dev key file; created with mode 0700.
  std::string data_dir = "./data";
  SqliteConfig sqlite;
  RedisConfig redis;
  PostgresConfig postgres;
  TieredConfig tiered;
  EncryptionConfig encryption;

  Status Validate() const;
  std::string ToString() const;

  /// "<data_dir>/voxgate.db".
  std::string DbPath() const;
  /// `encryption` with key_file resolved: "<data_dir>/voxgate.key" when empty in the dev profile.
  EncryptionConfig ResolvedEncryption() const;
};

}  // namespace voxgate::store
