#include "store/store_config.h"

#include <cstdlib>

namespace voxgate::store {

namespace {
constexpr const char* kDbFileName = "voxgate.db";
constexpr const char* kDevKeyFileName = "voxgate.key";
}  // namespace

Status EncryptionConfig::Validate() const {
  if (profile != "dev" && profile != "prod") {
    return InvalidArgumentError("store.encryption.profile must be \"dev\" or \"prod\", got \"" +
                                profile + "\"");
  }
  if (key_env.empty()) return InvalidArgumentError("store.encryption.key_env must not be empty");
  return Status::Ok();
}

std::string EncryptionConfig::ToString() const {
  const char* env =
      key_env.empty() ? nullptr : std::getenv(key_env.c_str());  // NOLINT(concurrency-mt-unsafe)
  std::string out = "{profile=" + profile + ", key_env=" + key_env;
  out += (env && *env) ? "=***" : " (unset)";
  out += ", key_file=" + (key_file.empty() ? std::string("(default)") : key_file) + "}";
  return out;
}

Status SqliteConfig::Validate() const {
  if (synchronous != "full" && synchronous != "normal") {
    return InvalidArgumentError("store.sqlite.synchronous must be \"full\" or \"normal\", got \"" +
                                synchronous + "\"");
  }
  if (busy_timeout_ms < 0) {
    return InvalidArgumentError("store.sqlite.busy_timeout_ms must be >= 0");
  }
  if (read_connections < 1 || read_connections > 64) {
    return InvalidArgumentError("store.sqlite.read_connections must be in [1, 64]");
  }
  return Status::Ok();
}

std::string SqliteConfig::ToString() const {
  return "{synchronous=" + synchronous + ", busy_timeout_ms=" + std::to_string(busy_timeout_ms) +
         ", read_connections=" + std::to_string(read_connections) + "}";
}

Status StoreConfig::Validate() const {
  if (backend != "sqlite") {
    return InvalidArgumentError("store.backend \"" + backend +
                                "\" is not available in this build (available: sqlite)");
  }
  if (data_dir.empty()) return InvalidArgumentError("store.data_dir must not be empty");
  VOXGATE_RETURN_IF_ERROR(sqlite.Validate());
  VOXGATE_RETURN_IF_ERROR(encryption.Validate());
  return Status::Ok();
}

std::string StoreConfig::ToString() const {
  return "StoreConfig{backend=" + backend + ", data_dir=" + data_dir +
         ", sqlite=" + sqlite.ToString() + ", encryption=" + encryption.ToString() + "}";
}

std::string StoreConfig::DbPath() const { return data_dir + "/" + kDbFileName; }

EncryptionConfig StoreConfig::ResolvedEncryption() const {
  EncryptionConfig resolved = encryption;
  if (resolved.key_file.empty() && resolved.profile == "dev") {
    resolved.key_file = data_dir + "/" + kDevKeyFileName;
  }
  return resolved;
}

}  // namespace voxgate::store
