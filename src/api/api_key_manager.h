// ApiKeyManager: API keys with roles, kept hashed in <data_dir>/api_keys.json.
//
// A key is "vx_" + 8 characters of key id + 32 random characters (base62, ~190 bits of secret).
// Only the key id, name, role, times and the SHA-256 of the whole key are stored; the plaintext is
// returned once, by Create. The file is rewritten atomically (temp file + fsync + rename, mode
// 0600) under an advisory lock, so `voxgate keys create|revoke` and a running server can share it;
// the server notices changes to the file within about a second.
//
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/principal.h"
#include "common/result.h"

namespace voxgate::api {

/// A key as listed: never the key or its hash.
struct ApiKeyInfo {
  std::string id;
  std::string name;
  Role role = Role::kClient;
  int64_t created_at_ms = 0;  // unix ms
  int64_t revoked_at_ms = 0;  // unix ms; 0 while the key is valid
  bool revoked() const { return revoked_at_ms != 0; }
};

struct CreatedApiKey {
  ApiKeyInfo info;
  std::string key;  // the plaintext; shown once, not stored anywhere
};

class ApiKeyManager {
 public:
  static constexpr std::string_view kFileName = "api_keys.json";
  static constexpr std::string_view kKeyPrefix = "vx_";
  static constexpr size_t kIdLength = 8;
  static constexpr size_t kSecretLength = 32;

  /// Opens (creating the directory, mode 0700, if needed) and loads <data_dir>/api_keys.json; a
  /// missing file is an empty key set. kDataLoss if the file is not a valid key file.
  static Result<std::shared_ptr<ApiKeyManager>> Open(const std::string& data_dir);

  /// Creates a key. `name`: 1..64 printable characters. Returns the plaintext once.
  Result<CreatedApiKey> Create(std::string_view name, Role role);
  /// All keys, valid and revoked, oldest first.
  std::vector<ApiKeyInfo> List() const;
  /// Revokes the key with this id; kNotFound for an unknown id. Revoking twice is OK.
  Status Revoke(std::string_view key_id);

  /// `header` is an Authorization value: "Bearer <key>". kUnauthenticated when missing,
  /// malformed, unknown or revoked (the message never repeats the key).
  Result<Principal> Authenticate(std::string_view authorization_header) const;
  /// The same for a bare key (X-API-Key).
  Result<Principal> AuthenticateKey(std::string_view key) const;

  /// Re-reads the file now (done automatically when it changes on disk).
  Status Reload();
  const std::string& path() const { return path_; }

 private:
  struct Entry {
    ApiKeyInfo info;
    std::array<unsigned char, 32> sha256{};
  };
  struct FileStamp {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    uint64_t inode = 0;
    bool operator==(const FileStamp&) const = default;
  };

  explicit ApiKeyManager(std::string data_dir);
  Result<std::vector<Entry>> ReadFile(FileStamp* stamp) const;
  Status WriteFile(const std::vector<Entry>& entries);
  void MaybeReload() const;
  FileStamp Stamp() const;

  const std::string data_dir_;
  const std::string path_;
  mutable std::shared_mutex mu_;
  mutable std::vector<Entry> entries_;  // guarded by mu_
  mutable FileStamp stamp_;             // guarded by mu_: of the file entries_ came from
  mutable std::atomic<int64_t> last_check_ms_{0};
  std::mutex write_mu_;  // serialises Create/Revoke within the process (flock across processes)
};

}  // namespace voxgate::api
