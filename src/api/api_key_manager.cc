#include "api/api_key_manager.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/response.h"

namespace voxgate::api {

namespace {

constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::string> RandomBase62(size_t n) {
  std::string out;
  out.reserve(n);
  unsigned char buf[64];
  while (out.size() < n) {
    if (RAND_bytes(buf, sizeof(buf)) != 1) return InternalError("RAND_bytes failed");
    for (unsigned char b : buf) {
      if (b >= 248) continue;  // 248 = 4 * 62: keeps the distribution uniform
      out += kBase62[b % 62];
      if (out.size() == n) break;
    }
  }
  return out;
}

bool IsBase62(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!ok) return false;
  }
  return true;
}

std::array<unsigned char, 32> Sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

std::string ToHex(const std::array<unsigned char, 32>& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool FromHex(std::string_view hex, std::array<unsigned char, 32>* out) {
  if (hex.size() != 64) return false;
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < 32; ++i) {
    int hi = val(hex[2 * i]);
    int lo = val(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

Status ValidateName(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return InvalidArgumentError("key name must be 1..64 characters");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgumentError("key name must not contain control characters");
    }
  }
  return Status::Ok();
}

// An advisory lock on "<path>.lock" held for one read-modify-write of the key file.
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
      while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~FileLock() {
    if (fd_ >= 0) {
      ::flock(fd_, LOCK_UN);
      ::close(fd_);
    }
  }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

Status WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return InternalError(std::string("write: ") + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

ApiKeyManager::ApiKeyManager(std::string data_dir)
    : data_dir_(std::move(data_dir)), path_(data_dir_ + "/" + std::string(kFileName)) {}

Result<std::shared_ptr<ApiKeyManager>> ApiKeyManager::Open(const std::string& data_dir) {
  if (data_dir.empty()) return InvalidArgumentError("api keys: data_dir is empty");
  std::error_code ec;
  if (!std::filesystem::exists(data_dir, ec)) {
    std::filesystem::create_directories(data_dir, ec);
    if (ec) {
      return InternalError("api keys: cannot create " + data_dir + ": " + ec.message());
    }
    ::chmod(data_dir.c_str(), 0700);
  }
  std::shared_ptr<ApiKeyManager> manager(new ApiKeyManager(data_dir));
  VOXGATE_RETURN_IF_ERROR(manager->Reload());
  return manager;
}

ApiKeyManager::FileStamp ApiKeyManager::Stamp() const {
  FileStamp s;
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) {
    s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    s.size = st.st_size;
    s.inode = st.st_ino;
  }
  return s;
}

Result<std::vector<ApiKeyManager::Entry>> ApiKeyManager::ReadFile(FileStamp* stamp) const {
  *stamp = Stamp();
  std::vector<Entry> entries;
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    if (stamp->size < 0) return entries;  // no file yet: no keys
    return InternalError("api keys: cannot read " + path_);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    nlohmann::json doc = nlohmann::json::parse(ss.str());
    if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
      return DataLossError("api keys: " + path_ + " has no \"keys\" array");
    }
    for (const auto& k : doc["keys"]) {
      Entry e;
      e.info.id = k.at("id").get<std::string>();
      e.info.name = k.value("name", "");
      auto role = ParseRole(k.at("role").get<std::string>());
      if (!role.ok()) return DataLossError("api keys: key " + e.info.id + ": bad role");
      e.info.role = *role;
      e.info.created_at_ms = k.value("created_at_ms", int64_t{0});
      e.info.revoked_at_ms = k.value("revoked_at_ms", int64_t{0});
      if (!FromHex(k.at("sha256").get<std::string>(), &e.sha256)) {
        return DataLossError("api keys: key " + e.info.id + ": bad sha256");
      }
      entries.push_back(std::move(e));
    }
  } catch (const std::exception& ex) {
    return DataLossError("api keys: " + path_ + " is not a valid key file: " + ex.what());
  }
  return entries;
}

Status ApiKeyManager::WriteFile(const std::vector<Entry>& entries) {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& e : entries) {
    nlohmann::json k = {{"id", e.info.id},
                        {"name", e.info.name},
                        {"role", std::string(RoleName(e.info.role))},
                        {"sha256", ToHex(e.sha256)},
                        {"created_at_ms", e.info.created_at_ms},
                        {"created_at", Iso8601Utc(std::chrono::system_clock::time_point(
                                           std::chrono::milliseconds(e.info.created_at_ms)))}};
    if (e.info.revoked_at_ms != 0) k["revoked_at_ms"] = e.info.revoked_at_ms;
    keys.push_back(std::move(k));
  }
  nlohmann::json doc = {{"version", 1}, {"keys", std::move(keys)}};
  std::string text = doc.dump(2) + "\n";

  auto random_suffix = RandomBase62(8);
  std::string suffix = random_suffix.ok() ? *random_suffix : std::to_string(::getpid());
  std::string tmp = path_ + ".tmp." + suffix;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return InternalError("api keys: cannot create " + tmp + ": " + std::strerror(errno));
  }
  Status st = WriteAll(fd, text);
  if (st.ok() && ::fsync(fd) != 0) {
    st = InternalError(std::string("api keys: fsync: ") + std::strerror(errno));
  }
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path_.c_str()) != 0) {
    st = InternalError("api keys: rename to " + path_ + ": " + std::strerror(errno));
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  int dir_fd = ::open(data_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);  // make the rename durable
    ::close(dir_fd);
  }
  return Status::Ok();
}

Status ApiKeyManager::Reload() {
  FileStamp stamp;
  VOXGATE_ASSIGN_OR_RETURN(auto entries, ReadFile(&stamp));
  std::unique_lock lock(mu_);
  entries_ = std::move(entries);
  stamp_ = stamp;
  return Status::Ok();
}

void ApiKeyManager::MaybeReload() const {
  int64_t now = NowMs();
  int64_t last = last_check_ms_.load(std::memory_order_relaxed);
  if (now - last < 1000) return;
  if (!last_check_ms_.compare_exchange_strong(last, now)) return;  // another thread checks
  FileStamp current = Stamp();
  {
    std::shared_lock lock(mu_);
    if (current == stamp_) return;
  }
  FileStamp stamp;
  auto entries = ReadFile(&stamp);
  if (!entries.ok()) {
    // Keep the keys we have: a half-edited file must not lock everyone out, nor let anyone in.
    spdlog::error("{}", entries.status().ToString());
    return;
  }
  std::unique_lock lock(mu_);
  entries_ = std::move(*entries);
  stamp_ = stamp;
  spdlog::info("api keys: reloaded {} ({} keys)", path_, entries_.size());
}

Result<CreatedApiKey> ApiKeyManager::Create(std::string_view name, Role role) {
  VOXGATE_RETURN_IF_ERROR(ValidateName(name));
  std::lock_guard write_lock(write_mu_);
  FileLock file_lock(path_ + ".lock");
  if (!file_lock.ok()) return InternalError("api keys: cannot lock " + path_ + ".lock");
  FileStamp stamp;
  VOXGATE_ASSIGN_OR_RETURN(auto entries, ReadFile(&stamp));

  std::string id;
  for (int attempt = 0; attempt < 16 && id.empty(); ++attempt) {
    VOXGATE_ASSIGN_OR_RETURN(std::string candidate, RandomBase62(kIdLength));
    bool taken = false;
    for (const auto& e : entries) taken = taken || e.info.id == candidate;
    if (!taken) id = candidate;
  }
  if (id.empty()) return InternalError("api keys: could not pick a unique key id");
  VOXGATE_ASSIGN_OR_RETURN(std::string secret, RandomBase62(kSecretLength));

  CreatedApiKey created;
  created.key = std::string(kKeyPrefix) + id + secret;
  created.info.id = id;
  created.info.name = std::string(name);
  created.info.role = role;
  created.info.created_at_ms = NowMs();
  Entry entry;
  entry.info = created.info;
  entry.sha256 = Sha256(created.key);
  entries.push_back(entry);
  VOXGATE_RETURN_IF_ERROR(WriteFile(entries));

  std::unique_lock lock(mu_);
  entries_ = std::move(entries);
  stamp_ = Stamp();
  return created;
}

std::vector<ApiKeyInfo> ApiKeyManager::List() const {
  MaybeReload();
  std::shared_lock lock(mu_);
  std::vector<ApiKeyInfo> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.push_back(e.info);
  return out;
}

Status ApiKeyManager::Revoke(std::string_view key_id) {
  std::lock_guard write_lock(write_mu_);
  FileLock file_lock(path_ + ".lock");
  if (!file_lock.ok()) return InternalError("api keys: cannot lock " + path_ + ".lock");
  FileStamp stamp;
  VOXGATE_ASSIGN_OR_RETURN(auto entries, ReadFile(&stamp));
  bool found = false;
  for (auto& e : entries) {
    if (e.info.id == key_id) {
      found = true;
      if (e.info.revoked_at_ms == 0) e.info.revoked_at_ms = NowMs();
    }
  }
  if (!found) return NotFoundError("no API key with id \"" + std::string(key_id) + "\"");
  VOXGATE_RETURN_IF_ERROR(WriteFile(entries));
  std::unique_lock lock(mu_);
  entries_ = std::move(entries);
  stamp_ = Stamp();
  return Status::Ok();
}

Result<Principal> ApiKeyManager::Authenticate(std::string_view header) const {
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) {
    header.remove_prefix(1);
  }
  constexpr std::string_view kBearer = "bearer ";
  if (header.size() <= kBearer.size() ||
      strncasecmp(header.data(), kBearer.data(), kBearer.size()) != 0) {
    return Status(StatusCode::kUnauthenticated, "expected \"Authorization: Bearer <API key>\"");
  }
  header.remove_prefix(kBearer.size());
  return AuthenticateKey(header);
}

Result<Principal> ApiKeyManager::AuthenticateKey(std::string_view key) const {
  while (!key.empty() && (key.front() == ' ' || key.front() == '\t')) key.remove_prefix(1);
  while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
  const Status invalid(StatusCode::kUnauthenticated, "invalid or revoked API key");
  if (key.size() != kKeyPrefix.size() + kIdLength + kSecretLength || !key.starts_with(kKeyPrefix) ||
      !IsBase62(key.substr(kKeyPrefix.size()))) {
    return invalid;
  }
  std::string_view id = key.substr(kKeyPrefix.size(), kIdLength);
  std::array<unsigned char, 32> hash = Sha256(key);
  MaybeReload();
  std::shared_lock lock(mu_);
  for (const auto& e : entries_) {
    if (e.info.id != id) continue;
    if (CRYPTO_memcmp(e.sha256.data(), hash.data(), hash.size()) != 0) return invalid;
    if (e.info.revoked()) return invalid;
    Principal p;
    p.key_id = e.info.id;
    p.key_name = e.info.name;
    p.role = e.info.role;
    p.authenticated = true;
    return p;
  }
  return invalid;
}

}  // namespace voxgate::api
