// Parsing of request targets: path/query split, percent-decoding, query parameters. These parse
// outside input: they never throw and never abort, and reject what they cannot represent safely
// (bad escapes, NUL bytes, control characters, oversized input) with kInvalidArgument.
// Pure functions, thread-safe. Fuzzed by fuzz/api/router_fuzz.cc.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace voxgate::api {

/// Ordered name/value pairs (query parameters, headers, path parameters). Names may repeat.
using Params = std::vector<std::pair<std::string, std::string>>;

/// The first value for `name` (exact match), if any.
std::optional<std::string_view> FindParam(const Params& params, std::string_view name);

inline constexpr size_t kMaxTargetBytes = 8192;
inline constexpr size_t kMaxQueryParams = 128;

/// Decodes %XX escapes (and '+' as a space when plus_as_space, as in query strings).
/// kInvalidArgument on a truncated or non-hex escape, or when the result holds a NUL byte.
Result<std::string> PercentDecode(std::string_view text, bool plus_as_space);

/// Encodes everything but the RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~).
std::string PercentEncode(std::string_view text);

/// "a=1&b=x%20y&c&&d=" -> {{"a","1"},{"b","x y"},{"c",""},{"d",""}} (empty pieces skipped).
Result<Params> ParseQuery(std::string_view query);

/// A request target in origin form, split: "/a/b?x=1#f" -> path "/a/b", query "x=1" (the fragment,
/// which clients should not send, is dropped). Both stay percent-encoded.
struct Target {
  std::string path;
  std::string query;
};
/// kInvalidArgument for anything but origin form ("/..."): absolute form, "*", empty, too long,
/// or containing spaces/control characters.
Result<Target> SplitTarget(std::string_view target);

/// Splits a raw path "/a/b%2Fc" into raw (still encoded) segments {"a", "b%2Fc"}. "/" -> {}.
/// A trailing slash yields a final empty segment ("/a/" -> {"a", ""}).
std::vector<std::string_view> SplitPath(std::string_view path);

}  // namespace voxgate::api
