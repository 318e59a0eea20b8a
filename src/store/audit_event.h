// The append-only audit log's value types. Plain data, thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace voxgate::store {

enum class AuditAction {
  kRegister,    // a user was enrolled
  kAddSamples,  // samples were added to (or replaced in) an existing user
  kVerify,      // a 1:1 verification was decided
  kIdentify,    // a 1:N identification was answered
  kDelete,      // a user and all its samples were deleted
  kStatus,      // a user's status changed
  kUpdate,      // a user's name or metadata changed
};

/// "register", "add_samples", "verify", "identify", "delete", "status", "update".
std::string_view ToString(AuditAction action);
/// Parses the names above (exact, lower case); kInvalidArgument otherwise.
Result<AuditAction> ParseAuditAction(std::string_view text);

/// One audit entry. Never holds biometric data: the detail carries decisions and scores, not
/// embeddings or audio. An entry outlives the user it names (a delete is itself audited).
struct AuditEvent {
  int64_t id = 0;     // assigned by the store on append; increases with time
  int64_t ts_ms = 0;  // unix ms; set by the store when 0
  AuditAction action = AuditAction::kVerify;
  std::string user_id;        // the user concerned; empty for e.g. an identify with no match
  std::string actor;          // API key id that made the request; empty in no-auth dev mode
  std::string request_id;     // correlates with the request logs
  std::string detail = "{}";  // a JSON object (e.g. {"score":0.71,"threshold":0.6,"verified":true})
};

inline constexpr int kDefaultAuditLimit = 100;
inline constexpr int kMaxAuditLimit = 1000;
inline constexpr size_t kMaxAuditDetailBytes = size_t{64} * 1024;

/// A page of the audit log, newest first.
struct AuditQuery {
  std::optional<std::string> user_id;  // only this user's events
  std::optional<AuditAction> action;   // only this action
  int limit = kDefaultAuditLimit;      // 1..kMaxAuditLimit events per page
  int64_t offset = 0;                  // events to skip, >= 0
  /// > 0: only events with id < before_id (a stable cursor: pass the last id of the previous page;
  /// unlike offset it does not shift when new events arrive).
  int64_t before_id = 0;
};

struct AuditPage {
  std::vector<AuditEvent> events;
  int64_t total = 0;  // events matching the filter (user_id, action, before_id), over all pages
};

}  // namespace voxgate::store
