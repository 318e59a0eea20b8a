// libFuzzer: the Redis Streams event decoder (RedisStreamsEventBus::ParseEntries) on arbitrary
// replies. Another node, or anyone who can XADD to the stream, writes what it decodes, so every
// shape must give events or skipped ids, never a throw or crash.
//
// The input is a reply in a compact text form (seeds in fuzz/corpus/redis_entries_fuzz):
//   *[a,b,...]  array    $text  bulk string (up to ',' or ']')    :123  integer
//   +text  status        -text  error                            _     nil
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "analytics/redis_streams_event_bus.h"

namespace {

using voxgate::RedisReply;

size_t Text(std::string_view in, size_t pos, std::string* out) {
  const size_t end = in.find_first_of(",]", pos);
  const size_t stop = end == std::string_view::npos ? in.size() : end;
  *out = std::string(in.substr(pos, stop - pos));
  return stop;
}

// Parses one reply at pos; returns the position after it. Depth and size are bounded.
size_t Parse(std::string_view in, size_t pos, int depth, int* budget, RedisReply* out) {
  if (pos >= in.size() || --*budget < 0) return in.size();
  const char tag = in[pos++];
  switch (tag) {
    case '*': {
      out->type = RedisReply::Type::kArray;
      if (pos < in.size() && in[pos] == '[') ++pos;
      while (pos < in.size() && in[pos] != ']' && depth < 12) {
        RedisReply e;
        pos = Parse(in, pos, depth + 1, budget, &e);
        out->elements.push_back(std::move(e));
        if (pos < in.size() && in[pos] == ',') ++pos;
      }
      return pos < in.size() ? pos + 1 : pos;
    }
    case ':': {
      out->type = RedisReply::Type::kInteger;
      std::string t;
      pos = Text(in, pos, &t);
      out->integer = static_cast<int64_t>(std::strtoll(t.c_str(), nullptr, 10));
      return pos;
    }
    case '_':
      out->type = RedisReply::Type::kNil;
      return pos;
    case '+':
      out->type = RedisReply::Type::kStatus;
      return Text(in, pos, &out->str);
    case '-':
      out->type = RedisReply::Type::kError;
      return Text(in, pos, &out->str);
    default:
      out->type = RedisReply::Type::kString;
      return Text(in, tag == '$' ? pos : pos - 1, &out->str);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  RedisReply reply;
  int budget = 4096;
  Parse(in, 0, 0, &budget, &reply);
  std::vector<std::string> malformed;
  const auto events = voxgate::analytics::RedisStreamsEventBus::ParseEntries(reply, &malformed);
  for (const auto& e : events) {
    if (e.id.empty()) __builtin_trap();
    (void)e.ToJson().dump(-1, ' ', false,
                          nlohmann::json::error_handler_t::replace);  // as events tail
  }
  (void)voxgate::analytics::RedisStreamsEventBus::ParseEntries(reply, nullptr);
  return 0;
}
