#include "api/principal.h"

#include <algorithm>
#include <cctype>

namespace voxgate::api {

std::string_view RoleName(Role role) { return role == Role::kAdmin ? "admin" : "client"; }

Result<Role> ParseRole(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "admin") return Role::kAdmin;
  if (lower == "client") return Role::kClient;
  return InvalidArgumentError("role must be \"admin\" or \"client\", got \"" + std::string(text) +
                              "\"");
}

}  // namespace voxgate::api
