#include "store/audit_event.h"

namespace voxgate::store {

namespace {
constexpr AuditAction kAllActions[] = {
    AuditAction::kRegister, AuditAction::kAddSamples, AuditAction::kVerify, AuditAction::kIdentify,
    AuditAction::kDelete,   AuditAction::kStatus,     AuditAction::kUpdate};
}  // namespace

std::string_view ToString(AuditAction action) {
  switch (action) {
    case AuditAction::kRegister:
      return "register";
    case AuditAction::kAddSamples:
      return "add_samples";
    case AuditAction::kVerify:
      return "verify";
    case AuditAction::kIdentify:
      return "identify";
    case AuditAction::kDelete:
      return "delete";
    case AuditAction::kStatus:
      return "status";
    case AuditAction::kUpdate:
      return "update";
  }
  return "unknown";
}

Result<AuditAction> ParseAuditAction(std::string_view text) {
  for (AuditAction a : kAllActions) {
    if (text == ToString(a)) return a;
  }
  return InvalidArgumentError("unknown audit action \"" + std::string(text.substr(0, 32)) +
                              "\" (expected register, add_samples, verify, identify, delete, "
                              "status or update)");
}

}  // namespace voxgate::store
