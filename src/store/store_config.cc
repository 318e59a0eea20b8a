#include "store/store_config.h"

#include <cstdlib>
#include <initializer_list>

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

namespace {

/// $name when set and non-empty, else `fallback`.
std::string EnvOr(const std::string& name, const std::string& fallback) {
  const char* v =
      name.empty() ? nullptr : std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe)
  return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

bool HasScheme(const std::string& url, std::initializer_list<const char*> schemes) {
  for (const char* s : schemes) {
    if (url.rfind(s, 0) == 0) return true;
  }
  return false;
}

}  // namespace

std::string RedactDbUrl(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const size_t auth_begin = scheme_end + 3;
  const size_t at = url.find('@', auth_begin);
  const size_t slash = url.find('/', auth_begin);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
  const size_t colon = url.find(':', auth_begin);
  if (colon == std::string::npos || colon > at) return url;  // a user name only
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

Status RedisConfig::Validate() const {
  const std::string u = ResolvedUrl();
  if (!HasScheme(u, {"redis://", "unix://"})) {
    return InvalidArgumentError("store.redis.url must start with redis:// or unix://, got \"" +
                                RedactDbUrl(u) + "\"");
  }
  if (pool_size < 1 || pool_size > 256) {
    return InvalidArgumentError("store.redis.pool_size must be in [1, 256]");
  }
  if (connect_timeout_ms < 1 || command_timeout_ms < 1) {
    return InvalidArgumentError("store.redis timeouts must be > 0 ms");
  }
  if (cache_ttl_s < 0) return InvalidArgumentError("store.redis.cache_ttl_s must be >= 0");
  return Status::Ok();
}

std::string RedisConfig::ToString() const {
  return "{url=" + RedactDbUrl(ResolvedUrl()) + ", key_prefix=" + key_prefix +
         ", pool_size=" + std::to_string(pool_size) +
         ", connect_timeout_ms=" + std::to_string(connect_timeout_ms) +
         ", command_timeout_ms=" + std::to_string(command_timeout_ms) +
         ", cache_ttl_s=" + std::to_string(cache_ttl_s) + "}";
}

std::string RedisConfig::ResolvedUrl() const { return EnvOr(url_env, url); }

Status PostgresConfig::Validate() const {
  const std::string u = ResolvedUrl();
  if (!HasScheme(u, {"postgresql://", "postgres://"})) {
    return InvalidArgumentError(
        "store.postgres.url must start with postgresql:// or postgres://, got \"" + RedactDbUrl(u) +
        "\"");
  }
  if (pool_size < 1 || pool_size > 256) {
    return InvalidArgumentError("store.postgres.pool_size must be in [1, 256]");
  }
  if (connect_timeout_s < 1)
    return InvalidArgumentError("store.postgres.connect_timeout_s must be >= 1");
  if (statement_timeout_ms < 0) {
    return InvalidArgumentError("store.postgres.statement_timeout_ms must be >= 0");
  }
  return Status::Ok();
}

std::string PostgresConfig::ToString() const {
  return "{url=" + RedactDbUrl(ResolvedUrl()) + ", pool_size=" + std::to_string(pool_size) +
         ", connect_timeout_s=" + std::to_string(connect_timeout_s) +
         ", statement_timeout_ms=" + std::to_string(statement_timeout_ms) + "}";
}

std::string PostgresConfig::ResolvedUrl() const { return EnvOr(url_env, url); }

Status TieredConfig::Validate() const {
  if (durable != "postgres" && durable != "sqlite") {
    return InvalidArgumentError("store.tiered.durable must be \"postgres\" or \"sqlite\", got \"" +
                                durable + "\"");
  }
  if (memory_capacity < 0) return InvalidArgumentError("store.tiered.memory_capacity must be >= 0");
  if (memory_ttl_s < 0) return InvalidArgumentError("store.tiered.memory_ttl_s must be >= 0");
  return Status::Ok();
}

std::string TieredConfig::ToString() const {
  return "{durable=" + durable + ", memory_capacity=" + std::to_string(memory_capacity) +
         ", memory_ttl_s=" + std::to_string(memory_ttl_s) + "}";
}

Status StoreConfig::Validate() const {
  if (backend != "sqlite" && backend != "redis" && backend != "postgres" && backend != "tiered") {
    return InvalidArgumentError(
        "store.backend must be one of sqlite, redis, postgres, tiered; got \"" + backend + "\"");
  }
  if (data_dir.empty()) return InvalidArgumentError("store.data_dir must not be empty");
  VOXGATE_RETURN_IF_ERROR(sqlite.Validate());
  if (backend == "redis" || backend == "tiered") VOXGATE_RETURN_IF_ERROR(redis.Validate());
  if (backend == "postgres" || (backend == "tiered" && tiered.durable == "postgres")) {
    VOXGATE_RETURN_IF_ERROR(postgres.Validate());
  }
  if (backend == "tiered") VOXGATE_RETURN_IF_ERROR(tiered.Validate());
  VOXGATE_RETURN_IF_ERROR(encryption.Validate());
  return Status::Ok();
}

std::string StoreConfig::ToString() const {
  return "StoreConfig{backend=" + backend + ", data_dir=" + data_dir +
         ", sqlite=" + sqlite.ToString() + ", redis=" + redis.ToString() +
         ", postgres=" + postgres.ToString() + ", tiered=" + tiered.ToString() +
         ", encryption=" + encryption.ToString() + "}";
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
