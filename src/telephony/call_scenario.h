// CallScenario: what a call to Voxgate is for, picked by the user part of its Request-URI:
//   identify@host           listen and report who of the enrolled speakers is talking
//   verify-<user_id>@host   prompt, listen, say whether the caller is <user_id>, hang up
//   enroll-<user_id>@host   prompt, listen, enroll the caller's voice as <user_id>, hang up
//   record@host             record the cleaned call audio, no scoring
// User ids follow the REST API's rules (voiceprint::ValidateUserId). Value type; thread-safe
// parsing.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace voxgate::telephony {

enum class ScenarioKind { kIdentify, kVerify, kEnroll, kRecord };

/// "identify", "verify", "enroll", "record".
std::string_view ScenarioName(ScenarioKind kind);

struct CallScenario {
  ScenarioKind kind = ScenarioKind::kIdentify;
  std::string user_id;  // verify and enroll

  friend bool operator==(const CallScenario&, const CallScenario&) = default;
};

/// Parses the Request-URI user part (case-sensitive, as user ids are). kNotFound (SIP 404) for a
/// user part that names no scenario; kInvalidArgument (400) for verify-/enroll- with an invalid
/// user id. Both name what is accepted.
Result<CallScenario> ParseCallScenario(std::string_view request_user);

}  // namespace voxgate::telephony
