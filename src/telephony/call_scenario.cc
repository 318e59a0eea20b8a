#include "telephony/call_scenario.h"

#include <fmt/format.h>

#include "voiceprint/user_id.h"

namespace voxgate::telephony {

std::string_view ScenarioName(ScenarioKind kind) {
  switch (kind) {
    case ScenarioKind::kIdentify:
      return "identify";
    case ScenarioKind::kVerify:
      return "verify";
    case ScenarioKind::kEnroll:
      return "enroll";
    case ScenarioKind::kRecord:
      return "record";
  }
  return "identify";
}

Result<CallScenario> ParseCallScenario(std::string_view request_user) {
  if (request_user == "identify") return CallScenario{ScenarioKind::kIdentify, ""};
  if (request_user == "record") return CallScenario{ScenarioKind::kRecord, ""};
  for (ScenarioKind kind : {ScenarioKind::kVerify, ScenarioKind::kEnroll}) {
    const std::string prefix = fmt::format("{}-", ScenarioName(kind));
    if (request_user.substr(0, prefix.size()) != prefix) continue;
    std::string user(request_user.substr(prefix.size()));
    VOXGATE_RETURN_IF_ERROR(voiceprint::ValidateUserId(user).WithContext(
        fmt::format("the user id in the Request-URI of a {} call", ScenarioName(kind))));
    return CallScenario{kind, std::move(user)};
  }
  // The user part comes from the network: bound what goes into the error.
  constexpr size_t kShown = 64;
  return NotFoundError(fmt::format(
      "no scenario '{}{}'; call identify@, verify-<user_id>@, enroll-<user_id>@ or record@",
      request_user.substr(0, kShown), request_user.size() > kShown ? "..." : ""));
}

}  // namespace voxgate::telephony
