// Parser for multipart/form-data request bodies (RFC 7578). Never throws, never aborts: malformed
// input returns kInvalidArgument naming the problem. The parts refer into the body passed in, which
// must outlive them. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace voxgate::api {

struct MultipartPart {
  std::string name;          // form field name
  std::string filename;      // empty for plain fields
  std::string content_type;  // empty when not given
  std::string_view data;     // the part's bytes (into the body)
};

struct MultipartLimits {
  size_t max_parts = 64;
  size_t max_header_bytes = 8 * 1024;  // per part
};

/// The boundary parameter of a multipart/form-data Content-Type header, or kInvalidArgument
/// (not multipart/form-data, no boundary, boundary longer than 70 characters).
Result<std::string> MultipartBoundary(std::string_view content_type);

/// Splits `body` into its parts.
Result<std::vector<MultipartPart>> ParseMultipart(std::string_view body, std::string_view boundary,
                                                  const MultipartLimits& limits = {});

}  // namespace voxgate::api
