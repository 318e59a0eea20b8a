// User ids: the one rule every front end (REST, WebSocket, SIP request URIs) checks.
#pragma once

#include <string_view>

#include "common/status.h"

namespace voxgate::voiceprint {

/// 1-128 characters of [A-Za-z0-9_.@-], not starting with '.'.
Status ValidateUserId(std::string_view user_id);

}  // namespace voxgate::voiceprint
