#include "api/multipart.h"

#include <algorithm>
#include <cctype>

namespace voxgate::api {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Value of parameter `key` in a header value like `form-data; name="audio"; filename="a.wav"`.
// Handles quoted values with backslash escapes and unquoted tokens.
bool HeaderParam(std::string_view value, std::string_view key, std::string* out) {
  size_t pos = 0;
  while (pos < value.size()) {
    size_t semi = value.find(';', pos);
    if (semi == std::string_view::npos) return false;
    pos = semi + 1;
    while (pos < value.size() && (value[pos] == ' ' || value[pos] == '\t')) ++pos;
    size_t eq = value.find('=', pos);
    if (eq == std::string_view::npos) return false;
    const std::string name = Lower(Trim(value.substr(pos, eq - pos)));
    pos = eq + 1;
    std::string v;
    if (pos < value.size() && value[pos] == '"') {
      ++pos;
      bool closed = false;
      while (pos < value.size()) {
        char c = value[pos++];
        if (c == '\\' && pos < value.size()) {
          v += value[pos++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          v += c;
        }
      }
      if (!closed) return false;
    } else {
      size_t end = value.find(';', pos);
      v = std::string(Trim(value.substr(pos, end == std::string_view::npos ? end : end - pos)));
      pos = end == std::string_view::npos ? value.size() : end;
    }
    if (name == key) {
      *out = std::move(v);
      return true;
    }
  }
  return false;
}

}  // namespace

Result<std::string> MultipartBoundary(std::string_view content_type) {
  const std::string lower = Lower(content_type);
  if (lower.rfind("multipart/form-data", 0) != 0) {
    return InvalidArgumentError("expected Content-Type multipart/form-data");
  }
  std::string boundary;
  if (!HeaderParam(content_type, "boundary", &boundary) || boundary.empty()) {
    return InvalidArgumentError("multipart Content-Type without a boundary");
  }
  if (boundary.size() > 70)
    return InvalidArgumentError("multipart boundary longer than 70 characters");
  return boundary;
}

Result<std::vector<MultipartPart>> ParseMultipart(std::string_view body, std::string_view boundary,
                                                  const MultipartLimits& limits) {
  if (boundary.empty()) return InvalidArgumentError("empty multipart boundary");
  const std::string delimiter = "--" + std::string(boundary);
  // The first delimiter may be preceded by a preamble; every later one by CRLF.
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos)
    return InvalidArgumentError("multipart body without a boundary");
  const std::string next_delimiter = "\r\n" + delimiter;
  std::vector<MultipartPart> parts;
  while (true) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return parts;  // closing delimiter
    // Transport padding, then CRLF.
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n")
      return InvalidArgumentError("malformed multipart boundary line");
    pos += 2;
    if (parts.size() >= limits.max_parts) {
      return InvalidArgumentError("too many multipart parts (limit " +
                                  std::to_string(limits.max_parts) + ")");
    }
    const size_t headers_end = body.find("\r\n\r\n", pos);
    // A part with no headers starts directly with the blank line.
    const bool no_headers = body.substr(pos, 2) == "\r\n";
    if (!no_headers && headers_end == std::string_view::npos) {
      return InvalidArgumentError("multipart part headers not terminated");
    }
    const size_t header_len = no_headers ? 0 : headers_end - pos;
    if (header_len > limits.max_header_bytes)
      return InvalidArgumentError("multipart part headers too long");
    MultipartPart part;
    bool has_disposition = false;
    std::string_view headers = body.substr(pos, header_len);
    while (!headers.empty()) {
      size_t eol = headers.find("\r\n");
      std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos)
        return InvalidArgumentError("malformed multipart part header");
      const std::string name = Lower(Trim(line.substr(0, colon)));
      std::string_view value = Trim(line.substr(colon + 1));
      if (name == "content-disposition") {
        if (Lower(value).rfind("form-data", 0) != 0) {
          return InvalidArgumentError("multipart part is not form-data");
        }
        if (!HeaderParam(value, "name", &part.name)) {
          return InvalidArgumentError("multipart part without a name");
        }
        HeaderParam(value, "filename", &part.filename);
        has_disposition = true;
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    if (!has_disposition) return InvalidArgumentError("multipart part without Content-Disposition");
    const size_t data_start = no_headers ? pos + 2 : headers_end + 4;
    const size_t data_end = body.find(next_delimiter, data_start);
    if (data_end == std::string_view::npos) {
      return InvalidArgumentError("multipart body truncated: no closing boundary");
    }
    part.data = body.substr(data_start, data_end - data_start);
    parts.push_back(std::move(part));
    pos = data_end + 2;
  }
}

}  // namespace voxgate::api
