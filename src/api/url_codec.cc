#include "api/url_codec.h"

namespace voxgate::api {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

std::optional<std::string_view> FindParam(const Params& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

Result<std::string> PercentDecode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return InvalidArgumentError("truncated percent escape");
      }
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return InvalidArgumentError("invalid percent escape");
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_as_space) {
      c = ' ';
    }
    if (c == '\0') return InvalidArgumentError("NUL byte in encoded text");
    out += c;
  }
  return out;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (IsUnreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<Params> ParseQuery(std::string_view query) {
  Params params;
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    std::string_view piece = query.substr(pos, end - pos);
    pos = end + 1;
    if (piece.empty()) continue;
    if (params.size() >= kMaxQueryParams) {
      return InvalidArgumentError("too many query parameters (max " +
                                  std::to_string(kMaxQueryParams) + ")");
    }
    size_t eq = piece.find('=');
    std::string_view raw_name = piece.substr(0, eq);
    std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    auto name = PercentDecode(raw_name, /*plus_as_space=*/true);
    if (!name.ok()) return name.status().WithContext("query parameter name");
    auto value = PercentDecode(raw_value, /*plus_as_space=*/true);
    if (!value.ok()) return value.status().WithContext("query parameter \"" + *name + "\"");
    params.emplace_back(std::move(*name), std::move(*value));
  }
  return params;
}

Result<Target> SplitTarget(std::string_view target) {
  if (target.empty()) return InvalidArgumentError("empty request target");
  if (target.size() > kMaxTargetBytes) return InvalidArgumentError("request target too long");
  if (target[0] != '/') {
    return InvalidArgumentError("request target must be a path starting with '/'");
  }
  for (unsigned char c : target) {
    if (c <= 0x20 || c == 0x7f) {
      return InvalidArgumentError("request target contains a space or control character");
    }
  }
  size_t hash = target.find('#');
  if (hash != std::string_view::npos) target = target.substr(0, hash);
  Target out;
  size_t q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  return out;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path == "/") return segments;
  if (path[0] == '/') path.remove_prefix(1);
  size_t pos = 0;
  while (true) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) {
      segments.push_back(path.substr(pos));
      break;
    }
    segments.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return segments;
}

}  // namespace voxgate::api
