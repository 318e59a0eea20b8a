// EmbeddingCipher: AES-256-GCM sealing of embeddings at rest (OpenSSL EVP).
//
// Blob layout: version byte (1) || 96-bit random nonce || ciphertext || 128-bit tag.
// The plaintext is the embedding as little-endian float32. The additional authenticated data
// binds the blob to its version, its user id and its sample id, so a blob copied to another user
// or sample fails to decrypt. Any failure to decrypt is kDataLoss with a message that names the
// user and sample but never the key.
//
// Immutable after construction: every method is thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/encryption_key.h"

struct evp_cipher_st;

namespace voxgate::store {

class EmbeddingCipher {
 public:
  static constexpr uint8_t kVersion = 1;
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;
  static constexpr size_t kOverhead = 1 + kNonceSize + kTagSize;

  explicit EmbeddingCipher(const EncryptionKey& key);
  ~EmbeddingCipher();
  EmbeddingCipher(const EmbeddingCipher&) = delete;
  EmbeddingCipher& operator=(const EmbeddingCipher&) = delete;

  /// Seals an embedding for (user_id, sample_id). A fresh random nonce per call.
  Result<std::string> Encrypt(std::span<const float> embedding, std::string_view user_id,
                              std::string_view sample_id) const;
  /// Opens a blob made by Encrypt for the same (user_id, sample_id); kDataLoss otherwise.
  Result<std::vector<float>> Decrypt(std::string_view blob, std::string_view user_id,
                                     std::string_view sample_id) const;

  /// Generic sealing of bytes under a caller-chosen context (e.g. a key-check value).
  Result<std::string> Seal(std::string_view plaintext, std::string_view context) const;
  /// kDataLoss when the blob was not sealed with this key and context, or was altered.
  Result<std::string> Open(std::string_view blob, std::string_view context) const;

  /// The key's fingerprint (see EncryptionKey::Fingerprint).
  const std::string& key_fingerprint() const { return fingerprint_; }

 private:
  Result<std::string> SealWithAad(std::string_view plaintext, std::string_view aad) const;
  Result<std::string> OpenWithAad(std::string_view blob, std::string_view aad) const;

  EncryptionKey key_;
  std::string fingerprint_;
  evp_cipher_st* cipher_ = nullptr;  // fetched once (OpenSSL 3), shared read-only
  bool fetched_ = false;             // cipher_ must be freed
};

}  // namespace voxgate::store
