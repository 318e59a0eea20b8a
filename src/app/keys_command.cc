// voxgate keys create|list|revoke: API keys in <data_dir>/api_keys.json, shared with a running
// server (which notices changes within about a second).
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/api_key_manager.h"
#include "api/response.h"
#include "app/commands.h"
#include "app/model_loader.h"

namespace voxgate::app {

int RunKeys(const KeysOptions& options) {
  auto keys = api::ApiKeyManager::Open(options.data_dir);
  if (!keys.ok()) return Fail(keys.status());
  auto when = [](int64_t ms) {
    return ms ? api::Iso8601Utc(
                    std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)))
              : std::string();
  };
  if (options.action == "create") {
    auto role = api::ParseRole(options.role);
    if (!role.ok()) return Fail(role.status());
    auto created = (*keys)->Create(options.name, *role);
    if (!created.ok()) return Fail(created.status());
    // The only time the key is shown: on the terminal of the operator who asked for it.
    std::cout << nlohmann::json{{"id", created->info.id},
                                {"name", created->info.name},
                                {"role", api::RoleName(created->info.role)},
                                {"key", created->key}}
                     .dump()
              << "\n";
    return 0;
  }
  if (options.action == "list") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& k : (*keys)->List()) {
      out.push_back(
          {{"id", k.id},
           {"name", k.name},
           {"role", api::RoleName(k.role)},
           {"created_at", when(k.created_at_ms)},
           {"revoked_at", k.revoked() ? nlohmann::json(when(k.revoked_at_ms)) : nullptr}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  Status s = (*keys)->Revoke(options.id);
  if (!s.ok()) return Fail(s);
  std::cout << nlohmann::json{{"id", options.id}, {"revoked", true}}.dump() << "\n";
  return 0;
}

}  // namespace voxgate::app
