// Status: the error type that crosses module boundaries. A small value type (an OK status holds no
// allocation); codes map once, in api/, to HTTP statuses. Thread-compatible.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace voxgate {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // malformed request or parameter (HTTP 400)
  kUnauthenticated,    // no or bad credentials (401)
  kPermissionDenied,   // credentials lack the role (403)
  kNotFound,           // unknown id or file (404)
  kAlreadyExists,      // conflict (409)
  kTooLarge,           // over a configured size or duration limit (413)
  kUnsupported,        // not audio, or a codec/format we cannot read (415)
  kUnusable,           // well-formed but unusable input, e.g. no speech (422)
  kResourceExhausted,  // rate limited (429)
  kUnavailable,        // overloaded or a dependency is down (503)
  kDataLoss,           // truncated or corrupt data
  kInternal,           // a bug or an unexpected library failure (500)
};

/// Stable snake_case name of a code, used in logs and JSON errors ("invalid_argument").
std::string_view StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  /// The message with its context chain, outermost first: "decoding a.wav: truncated file".
  const std::string& message() const;
  /// "code_name: message", or "ok".
  std::string ToString() const;

  /// Returns a copy whose message is prefixed with `context` ("context: message"). No-op when OK.
  Status WithContext(std::string_view context) const;

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  std::shared_ptr<const Rep> rep_;
};

Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status UnsupportedError(std::string message);
Status UnusableError(std::string message);
Status TooLargeError(std::string message);
Status DataLossError(std::string message);
Status UnavailableError(std::string message);
Status InternalError(std::string message);

}  // namespace voxgate

/// Returns from the enclosing function if `expr` (a Status) is not OK.
#define VOXGATE_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::voxgate::Status _voxgate_status = (expr);        \
    if (!_voxgate_status.ok()) return _voxgate_status; \
  } while (0)
