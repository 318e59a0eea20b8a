#include "store/embedding_cipher.h"

#include <gtest/gtest.h>

#include "store_test_env.h"

namespace voxgate::store {
namespace {

using testing::ContainsBytes;
using testing::FloatBytes;
using testing::MakeEmbedding;

EncryptionKey TestKey() { return EncryptionKey::Random().value(); }

TEST(EmbeddingCipherTest, RoundTripsExactly) {
  EmbeddingCipher cipher(TestKey());
  std::vector<float> emb = MakeEmbedding(1);
  emb[3] = -0.0f;
  emb[4] = 1e-38f;  // subnormal-adjacent values survive bit for bit
  auto blob = cipher.Encrypt(emb, "alice", "s1");
  ASSERT_TRUE(blob.ok());
  auto back = cipher.Decrypt(*blob, "alice", "s1");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), emb.size());
  EXPECT_EQ(0, std::memcmp(back->data(), emb.data(), emb.size() * sizeof(float)));
}

TEST(EmbeddingCipherTest, BlobLayoutIsVersionNonceCiphertextTag) {
  EmbeddingCipher cipher(TestKey());
  std::vector<float> emb = MakeEmbedding(2, 16);
  auto blob = cipher.Encrypt(emb, "u", "s");
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->size(), 1 + 12 + 16 * sizeof(float) + 16);
  EXPECT_EQ(static_cast<uint8_t>((*blob)[0]), EmbeddingCipher::kVersion);
  EXPECT_FALSE(ContainsBytes(*blob, FloatBytes(emb, 0, 2))) << "plaintext visible in the blob";
}

TEST(EmbeddingCipherTest, FreshNonceEveryTime) {
  EmbeddingCipher cipher(TestKey());
  std::vector<float> emb = MakeEmbedding(3);
  auto a = cipher.Encrypt(emb, "u", "s");
  auto b = cipher.Encrypt(emb, "u", "s");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->substr(1, 12), b->substr(1, 12));
  EXPECT_NE(*a, *b);
}

TEST(EmbeddingCipherTest, AnyTamperedByteIsDataLoss) {
  EmbeddingCipher cipher(TestKey());
  auto blob = cipher.Encrypt(MakeEmbedding(4, 8), "u", "s");
  ASSERT_TRUE(blob.ok());
  for (size_t i = 0; i < blob->size(); ++i) {
    std::string t = *blob;
    t[i] = static_cast<char>(t[i] ^ 0x01);
    auto r = cipher.Decrypt(t, "u", "s");
    ASSERT_FALSE(r.ok()) << "byte " << i;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << "byte " << i;
  }
  auto truncated = cipher.Decrypt(blob->substr(0, 20), "u", "s");
  EXPECT_EQ(truncated.status().code(), StatusCode::kDataLoss);
  auto extended = cipher.Decrypt(*blob + "x", "u", "s");
  EXPECT_EQ(extended.status().code(), StatusCode::kDataLoss);
}

TEST(EmbeddingCipherTest, WrongKeyIsDataLossWithoutTheKeyInTheMessage) {
  EncryptionKey k1 = TestKey();
  EncryptionKey k2 = TestKey();
  EmbeddingCipher c1(k1);
  EmbeddingCipher c2(k2);
  auto blob = c1.Encrypt(MakeEmbedding(5), "u", "s");
  ASSERT_TRUE(blob.ok());
  auto r = c2.Decrypt(*blob, "u", "s");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("wrong encryption key"), std::string::npos);
  EXPECT_EQ(r.status().message().find(k1.ToHex()), std::string::npos);
  EXPECT_EQ(r.status().message().find(k2.ToHex()), std::string::npos);
}

TEST(EmbeddingCipherTest, BlobBoundToUserAndSample) {
  EmbeddingCipher cipher(TestKey());
  auto blob = cipher.Encrypt(MakeEmbedding(6), "alice", "s1");
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(cipher.Decrypt(*blob, "mallory", "s1").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(cipher.Decrypt(*blob, "alice", "s2").status().code(), StatusCode::kDataLoss);
  // Length-prefixed AAD: shifting bytes between the two ids does not collide.
  auto ab = cipher.Encrypt(MakeEmbedding(6), "ab", "c");
  ASSERT_TRUE(ab.ok());
  EXPECT_EQ(cipher.Decrypt(*ab, "a", "bc").status().code(), StatusCode::kDataLoss);
  auto r = cipher.Decrypt(*blob, "mallory", "s1");
  EXPECT_NE(r.status().message().find("mallory"), std::string::npos) << "names the record";
}

TEST(EmbeddingCipherTest, SealAndOpenBindTheirContext) {
  EmbeddingCipher cipher(TestKey());
  auto sealed = cipher.Seal("hello", "ctx-a");
  ASSERT_TRUE(sealed.ok());
  auto opened = cipher.Open(*sealed, "ctx-a");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, "hello");
  EXPECT_EQ(cipher.Open(*sealed, "ctx-b").status().code(), StatusCode::kDataLoss);
  // A sealed value cannot pass for an embedding and vice versa (separate domains).
  EXPECT_EQ(cipher.Decrypt(*sealed, "ctx-a", "").status().code(), StatusCode::kDataLoss);
}

TEST(EmbeddingCipherTest, UnknownVersionIsDataLoss) {
  EmbeddingCipher cipher(TestKey());
  auto blob = cipher.Encrypt(MakeEmbedding(7, 4), "u", "s");
  ASSERT_TRUE(blob.ok());
  std::string v2 = *blob;
  v2[0] = 2;
  auto r = cipher.Decrypt(v2, "u", "s");
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("version 2"), std::string::npos);
}

}  // namespace
}  // namespace voxgate::store
