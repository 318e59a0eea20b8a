#include "store/record_validation.h"

#include <openssl/rand.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

namespace voxgate::store {

namespace {

constexpr size_t kMaxSampleIdBytes = 128;
constexpr size_t kMaxModelIdBytes = 256;
constexpr size_t kMaxShortFieldBytes = 256;  // audit actor and request id

// Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF) without NUL.
bool IsValidText(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

Status ValidateText(std::string_view s, std::string_view what, size_t max_bytes, bool allow_empty) {
  if (!allow_empty && s.empty()) return InvalidArgumentError(std::string(what) + " is empty");
  if (s.size() > max_bytes) {
    return InvalidArgumentError(std::string(what) + " is longer than " + std::to_string(max_bytes) +
                                " bytes");
  }
  if (!IsValidText(s)) {
    return InvalidArgumentError(std::string(what) + " is not valid UTF-8 or contains NUL");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateUserId(std::string_view user_id) {
  return ValidateText(user_id, "user_id", kMaxUserIdBytes, false);
}

Status ValidateName(std::string_view name) {
  return ValidateText(name, "name", kMaxNameBytes, true);
}

Status ValidateModelId(std::string_view model_id) {
  return ValidateText(model_id, "model_id", kMaxModelIdBytes, true);
}

Status ValidateJsonObject(std::string_view json, std::string_view what, size_t max_bytes) {
  if (json.size() > max_bytes) {
    return InvalidArgumentError(std::string(what) + " is longer than " + std::to_string(max_bytes) +
                                " bytes");
  }
  nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgumentError(std::string(what) + " is not valid JSON");
  if (!parsed.is_object()) return InvalidArgumentError(std::string(what) + " is not a JSON object");
  return Status::Ok();
}

Status ValidateAuditEvent(const AuditEvent& event) {
  if (!event.user_id.empty()) VOXGATE_RETURN_IF_ERROR(ValidateUserId(event.user_id));
  VOXGATE_RETURN_IF_ERROR(ValidateText(event.actor, "actor", kMaxShortFieldBytes, true));
  VOXGATE_RETURN_IF_ERROR(ValidateText(event.request_id, "request_id", kMaxShortFieldBytes, true));
  return ValidateJsonObject(event.detail, "audit detail", kMaxAuditDetailBytes);
}

Status NormaliseSamples(std::vector<VoiceprintSample>& samples, std::string* model_id, size_t* dim,
                        int64_t now_ms) {
  if (model_id->empty()) {
    for (const VoiceprintSample& s : samples) {
      if (!s.model_id.empty()) {
        *model_id = s.model_id;
        break;
      }
    }
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < samples.size(); ++i) {
    VoiceprintSample& s = samples[i];
    const std::string where = "sample " + std::to_string(i);
    if (s.sample_id.empty()) s.sample_id = RandomId();
    VOXGATE_RETURN_IF_ERROR(
        ValidateText(s.sample_id, where + " sample_id", kMaxSampleIdBytes, false));
    if (!ids.insert(s.sample_id).second) {
      return InvalidArgumentError(where + ": duplicate sample_id in the request");
    }
    if (s.embedding.empty()) return InvalidArgumentError(where + ": empty embedding");
    if (s.embedding.size() > kMaxEmbeddingDim) {
      return InvalidArgumentError(where + ": embedding larger than " +
                                  std::to_string(kMaxEmbeddingDim) + " values");
    }
    for (float v : s.embedding) {
      if (!std::isfinite(v)) return InvalidArgumentError(where + ": embedding is not finite");
    }
    if (!std::isfinite(s.speech_s) || s.speech_s < 0) {
      return InvalidArgumentError(where + ": speech_s must be finite and >= 0");
    }
    if (*dim == 0) *dim = s.embedding.size();
    if (s.embedding.size() != *dim) {
      return InvalidArgumentError(where + ": embedding has " + std::to_string(s.embedding.size()) +
                                  " values, the voiceprint's have " + std::to_string(*dim));
    }
    if (s.model_id.empty()) s.model_id = *model_id;
    VOXGATE_RETURN_IF_ERROR(ValidateModelId(s.model_id).WithContext(where));
    if (s.model_id != *model_id) {
      return InvalidArgumentError(where + ": made by model \"" + s.model_id +
                                  "\" but the voiceprint's samples are from \"" + *model_id +
                                  "\"; replace the samples to re-enroll with a new model");
    }
    if (s.created_at_ms == 0) s.created_at_ms = now_ms;
    s.dim = s.embedding.size();
  }
  return Status::Ok();
}

std::string RandomId() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1) {
    // Ids need uniqueness, not secrecy. (Without a working CSPRNG the encryption that follows
    // fails anyway, so nothing is stored under such an id.)
    auto t = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    for (size_t i = 0; i < sizeof(b); ++i) {
      b[i] = static_cast<unsigned char>(t >> (8 * (i % 8)) ^ i);
    }
  }
  constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace voxgate::store
