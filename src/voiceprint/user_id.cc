#include "voiceprint/user_id.h"

namespace voxgate::voiceprint {

Status ValidateUserId(std::string_view user_id) {
  if (user_id.empty() || user_id.size() > 128) {
    return InvalidArgumentError("user_id must be 1 to 128 characters");
  }
  if (user_id.front() == '.') return InvalidArgumentError("user_id must not start with '.'");
  for (char c : user_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || c == '@';
    if (!ok) return InvalidArgumentError("user_id may only contain letters, digits and _ - . @");
  }
  return Status::Ok();
}

}  // namespace voxgate::voiceprint
