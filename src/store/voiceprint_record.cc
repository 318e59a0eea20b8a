#include "store/voiceprint_record.h"

#include <cctype>

namespace voxgate::store {

std::string_view ToString(UserStatus status) {
  switch (status) {
    case UserStatus::kActive:
      return "active";
    case UserStatus::kInactive:
      return "inactive";
    case UserStatus::kExpired:
      return "expired";
    case UserStatus::kBlocked:
      return "blocked";
  }
  return "unknown";
}

namespace {
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}
}  // namespace

Result<UserStatus> ParseUserStatus(std::string_view text) {
  for (UserStatus s : kAllUserStatuses) {
    if (EqualsIgnoreCase(text, ToString(s))) return s;
  }
  std::string shown(text.substr(0, 32));
  return InvalidArgumentError("unknown user status \"" + shown +
                              "\" (expected active, inactive, expired or blocked)");
}

}  // namespace voxgate::store
