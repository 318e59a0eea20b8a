#include "store/embedding_cipher.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <bit>
#include <cstring>
#include <memory>

namespace voxgate::store {

namespace {

constexpr std::string_view kEmbeddingDomain = "voxgate.embedding";
constexpr std::string_view kGenericDomain = "voxgate.sealed";

void AppendField(std::string& out, std::string_view field) {
  uint32_t n = static_cast<uint32_t>(field.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift & 0xff));
  out.append(field);
}

// Length-prefixed fields make the encoding unambiguous ("ab"+"c" differs from "a"+"bc").
std::string MakeAad(std::string_view domain, std::string_view a, std::string_view b = {}) {
  std::string aad;
  aad.push_back(static_cast<char>(EmbeddingCipher::kVersion));
  AppendField(aad, domain);
  AppendField(aad, a);
  AppendField(aad, b);
  return aad;
}

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

}  // namespace

EmbeddingCipher::EmbeddingCipher(const EncryptionKey& key)
    : key_(key), fingerprint_(key.Fingerprint()) {
  cipher_ = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  fetched_ = cipher_ != nullptr;
  if (!fetched_) cipher_ = const_cast<EVP_CIPHER*>(EVP_aes_256_gcm());
}

EmbeddingCipher::~EmbeddingCipher() {
  if (fetched_) EVP_CIPHER_free(cipher_);
}

Result<std::string> EmbeddingCipher::SealWithAad(std::string_view plaintext,
                                                 std::string_view aad) const {
  std::string out(kOverhead + plaintext.size(), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  o[0] = kVersion;
  unsigned char* nonce = o + 1;
  unsigned char* ct = nonce + kNonceSize;
  unsigned char* tag = ct + plaintext.size();
  if (RAND_bytes(nonce, kNonceSize) != 1) return InternalError("RAND_bytes failed for a nonce");
  std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx &&
            EVP_EncryptInit_ex(ctx.get(), cipher_, nullptr, key_.bytes().data(), nonce) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                              reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), ct, &len,
                              reinterpret_cast<const unsigned char*>(plaintext.data()),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, tag) == 1;
  if (!ok) return InternalError("AES-256-GCM encryption failed");
  return out;
}

Result<std::string> EmbeddingCipher::OpenWithAad(std::string_view blob,
                                                 std::string_view aad) const {
  if (blob.size() < kOverhead) {
    return DataLossError("encrypted blob is truncated (" + std::to_string(blob.size()) + " bytes)");
  }
  auto* b = reinterpret_cast<const unsigned char*>(blob.data());
  if (b[0] != kVersion) {
    return DataLossError("encrypted blob has unknown format version " + std::to_string(b[0]));
  }
  const unsigned char* nonce = b + 1;
  const unsigned char* ct = nonce + kNonceSize;
  size_t ct_size = blob.size() - kOverhead;
  const unsigned char* tag = ct + ct_size;
  std::string out(ct_size, '\0');
  std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), cipher_, nullptr, key_.bytes().data(), nonce) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, ct,
                        static_cast<int>(ct_size)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize,
                          const_cast<unsigned char*>(tag)) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) == 1;
  if (!ok) {
    return DataLossError(
        "authentication failed: wrong encryption key, altered data, or data moved from another "
        "record");
  }
  return out;
}

Result<std::string> EmbeddingCipher::Encrypt(std::span<const float> embedding,
                                             std::string_view user_id,
                                             std::string_view sample_id) const {
  std::string plain(embedding.size() * sizeof(float), '\0');
  for (size_t i = 0; i < embedding.size(); ++i) {
    uint32_t u = std::bit_cast<uint32_t>(embedding[i]);
    for (int k = 0; k < 4; ++k) plain[4 * i + k] = static_cast<char>(u >> (8 * k) & 0xff);
  }
  auto sealed = SealWithAad(plain, MakeAad(kEmbeddingDomain, user_id, sample_id));
  OPENSSL_cleanse(plain.data(), plain.size());
  return sealed;
}

Result<std::vector<float>> EmbeddingCipher::Decrypt(std::string_view blob, std::string_view user_id,
                                                    std::string_view sample_id) const {
  auto plain = OpenWithAad(blob, MakeAad(kEmbeddingDomain, user_id, sample_id));
  if (!plain.ok()) {
    return plain.status().WithContext("decrypting embedding of sample " + std::string(sample_id) +
                                      " of user " + std::string(user_id));
  }
  std::string& p = plain.value();
  if (p.size() % sizeof(float) != 0) {
    return DataLossError("decrypted embedding has " + std::to_string(p.size()) +
                         " bytes, not a multiple of 4");
  }
  std::vector<float> out(p.size() / sizeof(float));
  for (size_t i = 0; i < out.size(); ++i) {
    uint32_t u = 0;
    for (int k = 0; k < 4; ++k) {
      u |= static_cast<uint32_t>(static_cast<unsigned char>(p[4 * i + k])) << (8 * k);
    }
    out[i] = std::bit_cast<float>(u);
  }
  OPENSSL_cleanse(p.data(), p.size());
  return out;
}

Result<std::string> EmbeddingCipher::Seal(std::string_view plaintext,
                                          std::string_view context) const {
  return SealWithAad(plaintext, MakeAad(kGenericDomain, context));
}

Result<std::string> EmbeddingCipher::Open(std::string_view blob, std::string_view context) const {
  return OpenWithAad(blob, MakeAad(kGenericDomain, context));
}

}  // namespace voxgate::store
