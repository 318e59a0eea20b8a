// libFuzzer: multipart/form-data parsing of arbitrary bodies and Content-Type headers.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // First line: a Content-Type header; the rest: the body.
  const size_t eol = input.find('\n');
  std::string_view header = input.substr(0, eol);
  std::string_view body =
      eol == std::string_view::npos ? std::string_view() : input.substr(eol + 1);
  auto boundary = voxgate::api::MultipartBoundary(header);
  auto parts = voxgate::api::ParseMultipart(body, boundary.ok() ? *boundary : "b");
  if (parts.ok()) {
    for (const auto& p : *parts) {
      // Every part must lie inside the body.
      if (!p.data.empty() && (p.data.data() < body.data() ||
                              p.data.data() + p.data.size() > body.data() + body.size())) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
