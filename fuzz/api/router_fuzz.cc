// libFuzzer: request-target parsing and routing of arbitrary bytes, as the server does them for
// every request: SplitTarget -> ParseQuery -> Router::Find. Checks the invariants handlers rely
// on: decoded path parameters never hold '/', NUL or control characters and are bounded; query
// values never hold NUL; percent-encoding round-trips.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/router.h"
#include "api/url_codec.h"

namespace {

using voxgate::api::Access;
using voxgate::api::Method;
using voxgate::api::Router;

const Router& TestRouter() {
  static const Router* router = [] {
    auto* r = new Router();
    auto h = [](const voxgate::api::Request&, voxgate::api::Responder) {};
    r->Add(Method::kPost, "/api/v1/voiceprint/register", Access::kClient, h);
    r->Add(Method::kPost, "/api/v1/voiceprint/verify", Access::kClient, h);
    r->Add(Method::kGet, "/api/v1/voiceprint/{user_id}", Access::kClient, h);
    r->Add(Method::kDelete, "/api/v1/voiceprint/{user_id}", Access::kAdmin, h);
    r->Add(Method::kPut, "/api/v1/voiceprint/{user_id}/status", Access::kAdmin, h);
    r->Add(Method::kGet, "/api/v1/voiceprints", Access::kClient, h);
    r->Add(Method::kGet, "/api/v1/cluster/nodes/{node_id}", Access::kAdmin, h);
    r->Add(Method::kGet, "/health", Access::kPublic, h);
    r->Add(Method::kGet, "/", Access::kPublic, h);
    return r;
  }();
  return *router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte picks the method; the rest is the request target.
  const Method methods[] = {Method::kGet, Method::kPost, Method::kPut, Method::kDelete,
                            Method::kOther};
  Method method = methods[data[0] % 5];
  std::string_view target(reinterpret_cast<const char*>(data + 1), size - 1);

  auto split = voxgate::api::SplitTarget(target);
  if (split.ok()) {
    auto query = voxgate::api::ParseQuery(split->query);
    if (query.ok()) {
      for (const auto& [k, v] : *query) {
        if (k.find('\0') != std::string::npos || v.find('\0') != std::string::npos) {
          __builtin_trap();
        }
      }
    }
    Router::Match match = TestRouter().Find(method, split->path);
    if (match.kind == Router::Match::Kind::kFound) {
      if (match.route == nullptr) __builtin_trap();
      for (const auto& [name, value] : match.params) {
        if (value.empty() || value.size() > voxgate::api::kMaxPathParamBytes) __builtin_trap();
        for (unsigned char c : value) {
          if (c == '/' || c < 0x20 || c == 0x7f) __builtin_trap();
        }
      }
    } else if (match.kind == Router::Match::Kind::kMethodNotAllowed && match.allow.empty()) {
      __builtin_trap();
    }
  }

  // Round trip of arbitrary bytes (without NUL, which decoding rejects).
  std::string raw(target);
  std::erase(raw, '\0');
  auto decoded = voxgate::api::PercentDecode(voxgate::api::PercentEncode(raw), false);
  if (!decoded.ok() || *decoded != raw) __builtin_trap();
  (void)voxgate::api::PercentDecode(target, true);
  return 0;
}
