#include "store/encryption_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>

#include "common/base64.h"

namespace voxgate::store {

namespace {

constexpr const char* kFormats =
    "64 hex chars, base64 of 32 bytes, or (in a file) exactly 32 raw bytes";

// Overwrites a string's bytes before it is freed.
class WipedString {
 public:
  WipedString() = default;
  ~WipedString() { OPENSSL_cleanse(s_.data(), s_.size()); }
  WipedString(const WipedString&) = delete;
  WipedString& operator=(const WipedString&) = delete;
  std::string& str() { return s_; }

 private:
  std::string s_;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes exactly EncryptionKey::kSize bytes of hex; false on any other input.
bool DecodeHex(std::string_view text, std::array<uint8_t, EncryptionKey::kSize>& out) {
  if (text.size() != 2 * EncryptionKey::kSize) return false;
  for (size_t i = 0; i < EncryptionKey::kSize; ++i) {
    int hi = HexValue(text[2 * i]);
    int lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

// Decodes base64 (either alphabet, padding optional) into `out`; false when malformed.
bool DecodeBase64(std::string_view text, std::vector<uint8_t>& out) {
  return DecodeBase64Into(text, out);
}

std::string_view Trim(std::string_view s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

Status ErrnoError(const std::string& what, int err) {
  return UnavailableError(what + ": " + std::generic_category().message(err));
}

// Reads a small file whole; the caller wipes the buffer.
Status ReadSmallFile(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening key file " + path, errno);
  char buf[512];
  Status status;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      status = ErrnoError("reading key file " + path, errno);
      break;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > 4096) {
      status = InvalidArgumentError("key file " + path + " is too large to hold a key (" +
                                    std::string(kFormats) + ")");
      break;
    }
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  ::close(fd);
  return status;
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return UnavailableError(std::generic_category().message(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

void FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Creates `path` holding a fresh key in hex; kAlreadyExists when another process won the race.
Result<EncryptionKey> CreateKeyFile(const std::string& path) {
  std::filesystem::path p(path);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : std::string(".");
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return UnavailableError("creating key directory " + dir + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  VOXGATE_ASSIGN_OR_RETURN(EncryptionKey key, EncryptionKey::Random());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status(StatusCode::kAlreadyExists, "key file exists");
    return ErrnoError("creating key file " + path, errno);
  }
  ::fchmod(fd, 0600);  // independent of the umask
  WipedString text;
  text.str() = key.ToHex() + "\n";
  Status st = WriteAll(fd, text.str());
  if (st.ok() && ::fsync(fd) != 0) st = ErrnoError("syncing key file " + path, errno);
  ::close(fd);
  if (!st.ok()) {
    ::unlink(path.c_str());
    return st.WithContext("writing key file " + path);
  }
  FsyncDir(dir);
  return key;
}

Result<LoadedKey> LoadFromFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return ErrnoError("key file " + path, errno);
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgumentError("key file " + path + " is not a regular file");
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    return InvalidArgumentError("key file " + path +
                                " is writable by group or others; run: chmod 600 " + path);
  }
  std::vector<std::string> warnings;
  if (st.st_mode & (S_IRGRP | S_IROTH)) {
    warnings.push_back("key file " + path +
                       " is readable by group or others; consider: chmod 600 " + path);
  }
  WipedString content;
  VOXGATE_RETURN_IF_ERROR(ReadSmallFile(path, content.str()));
  std::optional<EncryptionKey> key;
  if (content.str().size() == EncryptionKey::kSize) {
    auto raw = EncryptionKey::FromBytes(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(content.str().data()), content.str().size()));
    if (!raw.ok()) return raw.status().WithContext("key file " + path);
    key = std::move(raw).value();
  } else {
    auto parsed = EncryptionKey::Parse(content.str());
    if (!parsed.ok()) return parsed.status().WithContext("key file " + path);
    key = std::move(parsed).value();
  }
  return LoadedKey{*key, "file " + path, false, std::move(warnings)};
}

}  // namespace

Result<EncryptionKey> EncryptionKey::FromBytes(std::span<const uint8_t> bytes) {
  if (bytes.size() != kSize) {
    return InvalidArgumentError("encryption key must be 32 bytes, got " +
                                std::to_string(bytes.size()) + " (" + kFormats + ")");
  }
  uint8_t any = 0;
  for (uint8_t b : bytes) any |= b;
  if (any == 0) return InvalidArgumentError("encryption key is all zeros");
  EncryptionKey key;
  std::memcpy(key.bytes_.data(), bytes.data(), kSize);
  return key;
}

Result<EncryptionKey> EncryptionKey::Parse(std::string_view text) {
  text = Trim(text);
  std::array<uint8_t, kSize> hex{};
  if (DecodeHex(text, hex)) {
    auto key = FromBytes(hex);
    OPENSSL_cleanse(hex.data(), hex.size());
    return key;
  }
  std::vector<uint8_t> decoded;
  decoded.reserve(text.size());
  bool is_base64 = text.size() != 2 * kSize && DecodeBase64(text, decoded);
  Result<EncryptionKey> key =
      is_base64 && decoded.size() == kSize
          ? FromBytes(decoded)
          : Result<EncryptionKey>(InvalidArgumentError(
                "encryption key must be " + std::string(kFormats) + "; got " +
                std::to_string(text.size()) + " characters" +
                (is_base64 ? " decoding to " + std::to_string(decoded.size()) + " bytes" : "")));
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return key;
}

Result<EncryptionKey> EncryptionKey::Random() {
  EncryptionKey key;
  if (RAND_bytes(key.bytes_.data(), static_cast<int>(kSize)) != 1) {
    return InternalError("RAND_bytes failed to generate an encryption key");
  }
  return key;
}

EncryptionKey::EncryptionKey(const EncryptionKey& other) : bytes_(other.bytes_) {}

EncryptionKey& EncryptionKey::operator=(const EncryptionKey& other) {
  bytes_ = other.bytes_;
  return *this;
}

EncryptionKey::~EncryptionKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

std::string EncryptionKey::ToHex() const {
  constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * kSize, '0');
  for (size_t i = 0; i < kSize; ++i) {
    out[2 * i] = kDigits[bytes_[i] >> 4];
    out[2 * i + 1] = kDigits[bytes_[i] & 0xf];
  }
  return out;
}

std::string EncryptionKey::Fingerprint() const {
  static constexpr std::string_view kTag = "voxgate.key-fingerprint.v1";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, kTag.data(), kTag.size()) == 1 &&
            EVP_DigestUpdate(ctx, bytes_.data(), bytes_.size()) == 1 &&
            EVP_DigestFinal_ex(ctx, digest, &len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len < 8) return "unknown";
  constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 8; ++i) {
    out += kDigits[digest[i] >> 4];
    out += kDigits[digest[i] & 0xf];
  }
  return out;
}

Result<LoadedKey> LoadEncryptionKey(const EncryptionConfig& config) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  // Read once at start-up, before threads that could modify the environment.
  const char* env = std::getenv(config.key_env.c_str());  // NOLINT(concurrency-mt-unsafe)
  if (env != nullptr && *env != '\0') {
    auto key = EncryptionKey::Parse(env);
    if (!key.ok()) return key.status().WithContext("environment variable " + config.key_env);
    return LoadedKey{std::move(key).value(), "env " + config.key_env, false, {}};
  }
  if (!config.key_file.empty()) {
    std::error_code ec;
    bool exists = std::filesystem::exists(config.key_file, ec);
    if (exists) return LoadFromFile(config.key_file);
    if (config.profile == "dev") {
      auto created = CreateKeyFile(config.key_file);
      if (created.ok()) {
        return LoadedKey{std::move(created).value(), "file " + config.key_file, true, {}};
      }
      if (created.status().code() != StatusCode::kAlreadyExists) return created.status();
      return LoadFromFile(config.key_file);  // another process created it first
    }
  }
  return InvalidArgumentError(
      "no encryption key (profile " + config.profile + "): set " + config.key_env + " (" +
      kFormats + ") or store.encryption.key_file" +
      (config.key_file.empty() ? std::string() : " (" + config.key_file + " does not exist)"));
}

}  // namespace voxgate::store
