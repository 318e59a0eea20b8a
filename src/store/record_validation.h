// Checks shared by every VoiceprintStore backend, so all of them accept and refuse the same
// input: ids and names are valid UTF-8 without NUL (portable to PostgreSQL TEXT and JSON),
// metadata and audit details are JSON objects, embeddings are finite and consistently sized.
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/audit_event.h"
#include "store/voiceprint_record.h"

namespace voxgate::store {

Status ValidateUserId(std::string_view user_id);
Status ValidateName(std::string_view name);
Status ValidateModelId(std::string_view model_id);
/// A JSON object of at most `max_bytes` bytes; `what` names the field in the message.
Status ValidateJsonObject(std::string_view json, std::string_view what, size_t max_bytes);
Status ValidateAuditEvent(const AuditEvent& event);

/// Validates samples for a write and normalises them in place: fills empty sample ids with
/// random ones, empty model ids with `*model_id`, zero created_at_ms with `now_ms`. When
/// `*model_id` is empty it is taken from the first sample that names one. All samples must
/// share one model id
/// and one dimension (`*dim`: 0 = take it from the first sample, else required).
Status NormaliseSamples(std::vector<VoiceprintSample>& samples, std::string* model_id, size_t* dim,
                        int64_t now_ms);

/// 32 hex chars from OpenSSL's CSPRNG.
std::string RandomId();
/// Wall-clock unix time in ms.
int64_t NowUnixMs();

}  // namespace voxgate::store
