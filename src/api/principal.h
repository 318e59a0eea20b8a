// Who is calling: the API key that authenticated a request, and its role. Plain data.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace voxgate::api {

/// admin: everything. client: register, verify, identify, read own results.
enum class Role { kClient, kAdmin };

/// "client", "admin".
std::string_view RoleName(Role role);
/// Parses "client" / "admin" (ASCII case-insensitive).
Result<Role> ParseRole(std::string_view text);

struct Principal {
  std::string key_id;    // public id of the API key ("" when not authenticated)
  std::string key_name;  // the name given when the key was created
  Role role = Role::kClient;
  bool authenticated = false;  // false on public routes and in dev mode (auth off)
};

/// What a route needs from the caller.
enum class Access {
  kPublic,  // no key (health, readiness, metrics, docs)
  kClient,  // a client or admin key
  kAdmin,   // an admin key
};

}  // namespace voxgate::api
