// Storage statistics (GET /api/v1/storage/stats). Plain data, thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace voxgate::store {

struct StoreStats {
  std::string backend;   // "sqlite"; later "redis", "postgres", "tiered"
  bool healthy = false;  // the backend answered (Ping)
  int64_t users = 0;
  std::map<std::string, int64_t> users_by_status;  // every status name, zeros included
  int64_t samples = 0;
  int64_t audit_events = 0;
  int64_t bytes_on_disk = 0;    // database files (SQLite: db + WAL); 0 for memory-only tiers
  int schema_version = 0;       // 0 where the backend has no schema
  std::string encryption;       // "aes-256-gcm"
  std::string key_fingerprint;  // EncryptionKey::Fingerprint(), never the key
  std::map<std::string, std::string> details;  // backend specifics (path, journal mode, ...)
  std::vector<StoreStats> tiers;  // composite (tiered) stores: one entry per tier, outermost first
};

}  // namespace voxgate::store
