// Base64 decoding, standard or URL-safe alphabet, padding optional, white space ignored. Header
// only so that callers pick the output container (the store decodes keys into memory it wipes).
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace voxgate {

/// 0..63 for a base64 character of either alphabet, -1 otherwise.
inline int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

/// Appends the bytes `text` encodes to `out` (anything with push_back of a byte). False on a
/// character outside the alphabet, data after padding, or a length no encoder produces.
template <typename Out>
bool DecodeBase64Into(std::string_view text, Out& out) {
  uint32_t acc = 0;
  int bits = 0;
  size_t symbols = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const int v = Base64Value(c);
    if (v < 0 || padding) return false;
    ++symbols;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<typename Out::value_type>((acc >> bits) & 0xFF));
    }
  }
  return symbols % 4 != 1;
}

}  // namespace voxgate
