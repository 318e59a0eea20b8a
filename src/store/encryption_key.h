// EncryptionKey: the 256-bit key that encrypts embeddings at rest, and its loading from the
// environment or a key file. The key bytes are wiped on destruction and never formatted into a
// message, log line or ToString(); only a one-way fingerprint may be shown. Thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/store_config.h"

namespace voxgate::store {

class EncryptionKey {
 public:
  static constexpr size_t kSize = 32;

  /// Exactly kSize bytes; kInvalidArgument otherwise (or for an all-zero key).
  static Result<EncryptionKey> FromBytes(std::span<const uint8_t> bytes);
  /// Text form: 64 hex chars, or base64 (standard or URL-safe alphabet, padding optional) of
  /// kSize bytes; surrounding whitespace is ignored. Errors never echo the text.
  static Result<EncryptionKey> Parse(std::string_view text);
  /// A fresh key from OpenSSL's CSPRNG.
  static Result<EncryptionKey> Random();

  EncryptionKey(const EncryptionKey& other);
  EncryptionKey& operator=(const EncryptionKey& other);
  ~EncryptionKey();

  std::span<const uint8_t, kSize> bytes() const { return bytes_; }
  /// 64 lower-case hex chars: for writing a new key file only. Wipe the result after use.
  std::string ToHex() const;
  /// 16 hex chars of SHA-256 over a domain tag and the key: tells keys apart in logs and stats
  /// without revealing them.
  std::string Fingerprint() const;

 private:
  EncryptionKey() = default;
  std::array<uint8_t, kSize> bytes_{};
};

struct LoadedKey {
  EncryptionKey key;
  std::string source;                 // "env VOXGATE_ENCRYPTION_KEY" or "file /path" (no key bytes)
  bool created = false;               // the dev profile created the key file just now
  std::vector<std::string> warnings;  // e.g. a key file readable by group or others
};

/// Loads the key: from the environment variable `config.key_env` when set and non-empty, else
/// from `config.key_file` (text formats as in Parse, or exactly 32 raw bytes). In the "dev"
/// profile a missing key file is created with a random key, mode 0600 (its directory 0700).
/// In "prod" a missing key is kInvalidArgument naming the variable and the file.
/// A key file writable by group or others is refused (someone else could swap the key); one
/// readable by group or others loads with a warning (containers often mount secrets 0644).
Result<LoadedKey> LoadEncryptionKey(const EncryptionConfig& config);

}  // namespace voxgate::store
