#include "api/router.h"

#include <algorithm>
#include <set>

namespace voxgate::api {

namespace {

Status CheckParam(const std::string& name, const std::string& value) {
  if (value.empty() || value == "." || value == "..") {
    return InvalidArgumentError("path parameter " + name + " is empty or a dot segment");
  }
  if (value.size() > kMaxPathParamBytes) {
    return InvalidArgumentError("path parameter " + name + " is longer than " +
                                std::to_string(kMaxPathParamBytes) + " bytes");
  }
  for (unsigned char c : value) {
    if (c == '/') return InvalidArgumentError("path parameter " + name + " contains '/'");
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgumentError("path parameter " + name + " contains a control character");
    }
  }
  return Status::Ok();
}

}  // namespace

Status Router::Add(Method method, std::string_view pattern, Access access, Handler handler,
                   RouteOptions options) {
  if (method == Method::kOther) return InvalidArgumentError("route method must be a standard one");
  if (pattern.empty() || pattern[0] != '/') {
    return InvalidArgumentError("route pattern must start with '/': " + std::string(pattern));
  }
  if (!handler) return InvalidArgumentError("route without a handler: " + std::string(pattern));
  auto route = std::make_unique<Route>();
  route->method = method;
  route->pattern = std::string(pattern);
  route->access = access;
  route->handler = std::move(handler);
  route->options = options;
  std::set<std::string> names;
  for (std::string_view seg : SplitPath(pattern)) {
    Route::Segment s;
    if (!seg.empty() && seg.front() == '{') {
      if (seg.size() < 3 || seg.back() != '}') {
        return InvalidArgumentError("bad parameter segment in route " + std::string(pattern));
      }
      s.text = std::string(seg.substr(1, seg.size() - 2));
      s.is_param = true;
      if (s.text.find_first_of("{}/") != std::string::npos || !names.insert(s.text).second) {
        return InvalidArgumentError("bad or repeated parameter in route " + std::string(pattern));
      }
    } else {
      if (seg.find_first_of("{}") != std::string_view::npos) {
        return InvalidArgumentError("braces inside a literal segment in route " +
                                    std::string(pattern));
      }
      s.text = std::string(seg);
    }
    route->segments.push_back(std::move(s));
  }
  for (const auto& r : routes_) {
    if (r->method != method || r->segments.size() != route->segments.size()) continue;
    bool same = true;
    for (size_t i = 0; i < r->segments.size() && same; ++i) {
      const auto& a = r->segments[i];
      const auto& b = route->segments[i];
      same = a.is_param == b.is_param && (a.is_param || a.text == b.text);
    }
    if (same) {
      return InvalidArgumentError("route " + std::string(MethodName(method)) + " " +
                                  std::string(pattern) + " conflicts with " + r->pattern);
    }
  }
  routes_.push_back(std::move(route));
  return Status::Ok();
}

Router::Match Router::Find(Method method, std::string_view raw_path) const {
  Match match;
  std::vector<std::string_view> raw_segments = SplitPath(raw_path);
  if (raw_segments.size() > kMaxPathSegments) return match;  // no route is this deep
  std::vector<std::string> segments;
  segments.reserve(raw_segments.size());
  for (std::string_view raw : raw_segments) {
    auto decoded = PercentDecode(raw, /*plus_as_space=*/false);
    if (!decoded.ok()) {
      match.kind = Match::Kind::kBadRequest;
      match.error = decoded.status().WithContext("request path");
      return match;
    }
    segments.push_back(std::move(*decoded));
  }

  const Route* best = nullptr;
  std::set<std::string_view> allowed;
  auto more_specific = [](const Route& a, const Route& b) {
    // Earlier literal segment wins.
    for (size_t i = 0; i < a.segments.size(); ++i) {
      if (a.segments[i].is_param != b.segments[i].is_param) return !a.segments[i].is_param;
    }
    return false;
  };
  for (const auto& route : routes_) {
    if (route->segments.size() != segments.size()) continue;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      const auto& s = route->segments[i];
      ok = s.is_param ? !segments[i].empty() : s.text == segments[i];
    }
    if (!ok) continue;
    if (route->method != method) {
      allowed.insert(MethodName(route->method));
      continue;
    }
    if (!best || more_specific(*route, *best)) best = route.get();
  }
  if (!best) {
    if (!allowed.empty()) {
      match.kind = Match::Kind::kMethodNotAllowed;
      for (std::string_view m : allowed) {
        if (!match.allow.empty()) match.allow += ", ";
        match.allow += m;
      }
    }
    return match;
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    const auto& s = best->segments[i];
    if (!s.is_param) continue;
    Status st = CheckParam(s.text, segments[i]);
    if (!st.ok()) {
      match.kind = Match::Kind::kBadRequest;
      match.error = st;
      return match;
    }
    match.params.emplace_back(s.text, std::move(segments[i]));
  }
  match.kind = Match::Kind::kFound;
  match.route = best;
  return match;
}

}  // namespace voxgate::api
