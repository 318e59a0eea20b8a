#include "store/encryption_key.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>

#include "store_test_env.h"

namespace voxgate::store {
namespace {

using testing::FileMode;
using testing::ReadFileBytes;
using testing::TempDir;

// A key that is obviously not random but valid; its text forms must never appear in messages.
constexpr const char* kHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr const char* kBase64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr const char* kBase64NoPad = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

std::array<uint8_t, 32> Expected() {
  std::array<uint8_t, 32> b{};
  for (int i = 0; i < 32; ++i) b[i] = static_cast<uint8_t>(i);
  return b;
}

bool BytesAre(const EncryptionKey& key, const std::array<uint8_t, 32>& want) {
  return std::equal(key.bytes().begin(), key.bytes().end(), want.begin());
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  { std::ofstream(path, std::ios::binary) << content; }
  ::chmod(path.c_str(), mode);
}

// Sets an environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    if (old) old_ = old;
    had_ = old != nullptr;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      ::setenv(name_.c_str(), old_.c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::string old_;
  bool had_ = false;
};

void ExpectNoKeyText(const Status& s) {
  EXPECT_EQ(s.message().find(kHex), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find(kBase64NoPad), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("0a0b0c0d"), std::string::npos) << s.message();
}

TEST(EncryptionKeyTest, ParsesHexInEitherCase) {
  auto key = EncryptionKey::Parse(kHex);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(BytesAre(*key, Expected()));
  std::string upper(kHex);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto key2 = EncryptionKey::Parse(upper);
  ASSERT_TRUE(key2.ok());
  EXPECT_TRUE(BytesAre(*key2, Expected()));
  EXPECT_EQ(key->ToHex(), kHex);
}

TEST(EncryptionKeyTest, ParsesBase64WithAndWithoutPaddingAndTrimsWhitespace) {
  for (std::string text : {std::string(kBase64), std::string(kBase64NoPad),
                           "  " + std::string(kBase64) + "\n", std::string(kHex) + "\r\n"}) {
    auto key = EncryptionKey::Parse(text);
    ASSERT_TRUE(key.ok()) << text << ": " << key.status().ToString();
    EXPECT_TRUE(BytesAre(*key, Expected()));
  }
}

TEST(EncryptionKeyTest, ParsesUrlSafeBase64) {
  std::array<uint8_t, 32> want{};
  want.fill(0xfb);  // base64 "+/" territory
  // 0xfb repeated encodes to "+/v7" blocks; URL-safe uses "-_".
  std::string std_b64 = "+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/s=";
  std::string url_b64 = "-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s";
  auto a = EncryptionKey::Parse(std_b64);
  auto b = EncryptionKey::Parse(url_b64);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(BytesAre(*a, want));
  EXPECT_TRUE(BytesAre(*b, want));
}

TEST(EncryptionKeyTest, RejectsWrongLengthsAndGarbageWithoutEchoingThem) {
  const std::string hex(kHex);
  const std::vector<std::string> bad = {
      "",
      hex.substr(0, 62),                               // 31 bytes of hex
      hex + "20",                                      // 33 bytes of hex
      hex.substr(0, 63) + "g",                         // not hex, not base64 of 32 bytes
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",  // base64 of 31 bytes
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",  // base64 of 33 bytes
      "not a key at all",
  };
  for (const std::string& text : bad) {
    auto key = EncryptionKey::Parse(text);
    ASSERT_FALSE(key.ok()) << text;
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
    if (text.size() > 8) {
      EXPECT_EQ(key.status().message().find(text), std::string::npos) << key.status().message();
    }
  }
  EXPECT_FALSE(EncryptionKey::FromBytes(std::vector<uint8_t>(31, 1)).ok());
  EXPECT_FALSE(EncryptionKey::FromBytes(std::vector<uint8_t>(33, 1)).ok());
  EXPECT_FALSE(EncryptionKey::FromBytes(std::vector<uint8_t>(32, 0)).ok()) << "all-zero key";
}

TEST(EncryptionKeyTest, FingerprintIdentifiesWithoutRevealing) {
  auto a = EncryptionKey::Parse(kHex);
  auto b = EncryptionKey::Random();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->Fingerprint().size(), 16u);
  EXPECT_EQ(a->Fingerprint(), EncryptionKey::Parse(kBase64)->Fingerprint());
  EXPECT_NE(a->Fingerprint(), b->Fingerprint());
  EXPECT_EQ(std::string(kHex).find(a->Fingerprint()), std::string::npos);
}

TEST(LoadEncryptionKeyTest, FromEnvironmentHexAndBase64) {
  EncryptionConfig c;
  c.profile = "prod";
  c.key_env = "VOXGATE_STORE_TEST_KEY_ENV";
  for (const char* text : {kHex, kBase64}) {
    ScopedEnv env(c.key_env.c_str(), text);
    auto loaded = LoadEncryptionKey(c);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_TRUE(BytesAre(loaded->key, Expected()));
    EXPECT_EQ(loaded->source, "env VOXGATE_STORE_TEST_KEY_ENV");
    EXPECT_FALSE(loaded->created);
  }
}

TEST(LoadEncryptionKeyTest, BadEnvironmentKeyIsAnErrorNamingTheVariableNotAFallback) {
  TempDir dir;
  EncryptionConfig c;
  c.profile = "dev";
  c.key_env = "VOXGATE_STORE_TEST_KEY_ENV";
  c.key_file = dir / "k";
  std::string short_key = std::string(kHex).substr(0, 60);
  ScopedEnv env(c.key_env.c_str(), short_key.c_str());
  auto loaded = LoadEncryptionKey(c);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(loaded.status().message().find("VOXGATE_STORE_TEST_KEY_ENV"), std::string::npos);
  EXPECT_EQ(loaded.status().message().find(short_key), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(c.key_file)) << "no key file created behind a bad env key";
}

TEST(LoadEncryptionKeyTest, EnvironmentWinsOverFile) {
  TempDir dir;
  EncryptionConfig c;
  c.key_env = "VOXGATE_STORE_TEST_KEY_ENV";
  c.key_file = dir / "k";
  auto other = EncryptionKey::Random();
  ASSERT_TRUE(other.ok());
  WriteFile(c.key_file, other->ToHex(), 0600);
  ScopedEnv env(c.key_env.c_str(), kHex);
  auto loaded = LoadEncryptionKey(c);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(BytesAre(loaded->key, Expected()));
}

TEST(LoadEncryptionKeyTest, FromFileInEveryFormat) {
  TempDir dir;
  std::string raw(32, '\0');
  for (int i = 0; i < 32; ++i) raw[i] = static_cast<char>(i);
  for (const std::string& content :
       {std::string(kHex) + "\n", std::string(kBase64) + "\n", std::string(kBase64NoPad), raw}) {
    EncryptionConfig c;
    c.profile = "prod";
    c.key_env = "VOXGATE_STORE_TEST_UNSET";
    c.key_file = dir / "key";
    ScopedEnv env(c.key_env.c_str(), nullptr);
    WriteFile(c.key_file, content, 0600);
    auto loaded = LoadEncryptionKey(c);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_TRUE(BytesAre(loaded->key, Expected()));
    EXPECT_EQ(loaded->source, "file " + c.key_file);
    EXPECT_TRUE(loaded->warnings.empty());
  }
}

TEST(LoadEncryptionKeyTest, BadKeyFileLengthsAreRefused) {
  TempDir dir;
  EncryptionConfig c;
  c.key_env = "VOXGATE_STORE_TEST_UNSET";
  c.key_file = dir / "key";
  ScopedEnv env(c.key_env.c_str(), nullptr);
  for (const std::string& content : {std::string(31, 'x'), std::string(33, 'x'),
                                     std::string(kHex).substr(0, 62) + "\n", std::string("")}) {
    WriteFile(c.key_file, content, 0600);
    auto loaded = LoadEncryptionKey(c);
    ASSERT_FALSE(loaded.ok()) << content.size();
    EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(loaded.status().message().find(c.key_file), std::string::npos);
    ExpectNoKeyText(loaded.status());
  }
}

TEST(LoadEncryptionKeyTest, DevProfileCreatesA0600KeyFileOnceAndReusesIt) {
  TempDir dir;
  EncryptionConfig c;
  c.profile = "dev";
  c.key_env = "VOXGATE_STORE_TEST_UNSET";
  c.key_file = dir / "secrets/sub/voxgate.key";
  ScopedEnv env(c.key_env.c_str(), nullptr);
  auto first = LoadEncryptionKey(c);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(FileMode(c.key_file), 0600);
  EXPECT_EQ(FileMode(dir / "secrets/sub"), 0700);
  std::string content = ReadFileBytes(c.key_file);
  EXPECT_EQ(content, first->key.ToHex() + "\n") << "the file holds the key as hex text";

  auto second = LoadEncryptionKey(c);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->key.Fingerprint(), first->key.Fingerprint());
}

TEST(LoadEncryptionKeyTest, ProdProfileRefusesToStartWithoutAKey) {
  TempDir dir;
  ScopedEnv env("VOXGATE_ENCRYPTION_KEY", nullptr);
  EncryptionConfig c;
  c.profile = "prod";
  auto loaded = LoadEncryptionKey(c);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(loaded.status().message().find("VOXGATE_ENCRYPTION_KEY"), std::string::npos);

  c.key_file = dir / "missing.key";
  loaded = LoadEncryptionKey(c);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(loaded.status().message().find("VOXGATE_ENCRYPTION_KEY"), std::string::npos);
  EXPECT_NE(loaded.status().message().find(c.key_file), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(c.key_file)) << "prod never creates a key";
}

TEST(LoadEncryptionKeyTest, KeyFileWritableByOthersIsRefusedReadableWarns) {
  TempDir dir;
  EncryptionConfig c;
  c.key_env = "VOXGATE_STORE_TEST_UNSET";
  c.key_file = dir / "key";
  ScopedEnv env(c.key_env.c_str(), nullptr);
  WriteFile(c.key_file, kHex, 0620);
  auto loaded = LoadEncryptionKey(c);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("chmod 600"), std::string::npos);
  ExpectNoKeyText(loaded.status());

  ::chmod(c.key_file.c_str(), 0644);
  loaded = LoadEncryptionKey(c);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_NE(loaded->warnings[0].find("readable by group or others"), std::string::npos);
  EXPECT_EQ(loaded->warnings[0].find(kHex), std::string::npos);
}

TEST(EncryptionConfigTest, ToStringNeverShowsTheKey) {
  EncryptionConfig c;
  c.key_env = "VOXGATE_STORE_TEST_KEY_ENV";
  {
    ScopedEnv env(c.key_env.c_str(), kHex);
    std::string s = c.ToString();
    EXPECT_EQ(s.find(kHex), std::string::npos) << s;
    EXPECT_NE(s.find("VOXGATE_STORE_TEST_KEY_ENV=***"), std::string::npos) << s;
    StoreConfig store;
    store.encryption = c;
    EXPECT_EQ(store.ToString().find(kHex), std::string::npos);
  }
  ScopedEnv env(c.key_env.c_str(), nullptr);
  EXPECT_NE(c.ToString().find("(unset)"), std::string::npos);
}

TEST(EncryptionConfigTest, ValidateNamesTheKey) {
  EncryptionConfig c;
  c.profile = "staging";
  Status s = c.Validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("store.encryption.profile"), std::string::npos);
}

}  // namespace
}  // namespace voxgate::store
