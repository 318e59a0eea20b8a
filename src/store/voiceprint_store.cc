#include "store/voiceprint_store.h"

#include <spdlog/spdlog.h>

#include "store/embedding_cipher.h"
#include "store/encryption_key.h"
#include "store/postgres_store.h"
#include "store/redis_store.h"
#include "store/sqlite_store.h"
#include "store/tiered_store.h"

namespace voxgate::store {

Result<std::unique_ptr<VoiceprintStore>> VoiceprintStore::Create(const StoreConfig& config) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  auto loaded = LoadEncryptionKey(config.ResolvedEncryption());
  if (!loaded.ok()) return loaded.status().WithContext("loading the encryption key");
  for (const std::string& w : loaded->warnings) spdlog::warn("store: {}", w);
  auto cipher = std::make_shared<const EmbeddingCipher>(loaded->key);
  if (loaded->created) {
    spdlog::warn(
        "store: dev profile: created a new encryption key ({}, fingerprint {}); back it "
        "up, the voiceprints cannot be read without it",
        loaded->source, cipher->key_fingerprint());
  } else {
    spdlog::info("store: encryption key from {} (fingerprint {})", loaded->source,
                 cipher->key_fingerprint());
  }
  if (config.backend == "sqlite") {
    auto sqlite = SqliteStore::Open(config, std::move(cipher));
    if (!sqlite.ok()) return sqlite.status();
    return std::unique_ptr<VoiceprintStore>(std::move(sqlite).value());
  }
  if (config.backend == "postgres") {
    auto postgres = PostgresStore::Open(config, std::move(cipher));
    if (!postgres.ok()) return postgres.status();
    return std::unique_ptr<VoiceprintStore>(std::move(postgres).value());
  }
  if (config.backend == "redis") {
    auto redis = RedisStore::Open(config, std::move(cipher));
    if (!redis.ok()) return redis.status();
    return std::unique_ptr<VoiceprintStore>(std::move(redis).value());
  }
  if (config.backend == "tiered") {
    auto tiered = TieredStore::Open(config, std::move(cipher));
    if (!tiered.ok()) return tiered.status();
    return std::unique_ptr<VoiceprintStore>(std::move(tiered).value());
  }
  return Status(StatusCode::kUnsupported, "store backend \"" + config.backend + "\" is not built");
}

}  // namespace voxgate::store
