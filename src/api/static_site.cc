#include "api/static_site.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

#include "api/http_error.h"

namespace voxgate::api {

namespace {

std::string EtagOf(std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag = "\"";
  for (unsigned int i = 0; i < 8 && i < len; ++i) {
    tag += kHex[digest[i] >> 4];
    tag += kHex[digest[i] & 0xf];
  }
  return tag + "\"";
}

bool ValidPath(std::string_view path) {
  if (path.empty() || path.front() != '/' || path.find("..") != std::string_view::npos) {
    return false;
  }
  return std::none_of(path.begin(), path.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// True when Accept-Encoding lists gzip without q=0.
bool AcceptsGzip(const Request& request) {
  auto header = request.Header("Accept-Encoding");
  if (!header) return false;
  std::string value(*header);
  std::transform(value.begin(), value.end(), value.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::stringstream items(value);
  std::string item;
  while (std::getline(items, item, ',')) {
    item.erase(std::remove_if(item.begin(), item.end(), [](char c) { return c == ' '; }),
               item.end());
    if (item == "gzip" || item == "*") return true;
    if (item.rfind("gzip;q=", 0) == 0) return std::strtod(item.c_str() + 7, nullptr) > 0.0;
  }
  return false;
}

// If-None-Match holds the tag (or *): a list of entity tags, weak ones compared weakly.
bool Matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.find('*') != std::string_view::npos) return true;
  return if_none_match.find(etag) != std::string_view::npos;
}

}  // namespace

std::string StaticSite::ContentTypeFor(std::string_view path) {
  const size_t dot = path.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? "" : path.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

Status StaticSite::Add(std::string path, std::string body, std::string gzip) {
  if (!ValidPath(path)) return InvalidArgumentError("bad static file path: " + path.substr(0, 200));
  auto file = std::make_shared<File>();
  file->content_type = ContentTypeFor(path);
  file->etag = EtagOf(body);
  file->body = std::move(body);
  file->gzip = std::move(gzip);
  if (!files_.emplace(path, std::move(file)).second) {
    return InvalidArgumentError("static file added twice: " + path);
  }
  return Status::Ok();
}

Status StaticSite::AddDirectory(const std::filesystem::path& dir, std::string_view url_prefix,
                                bool live) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFoundError("not a directory: " + dir.string());
  std::string prefix(url_prefix);
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path rel = fs::relative(it->path(), dir, ec);
    if (ec) break;
    const std::string name = it->path().filename().string();
    if (!name.empty() && name.front() == '.') {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || it->path().extension() == ".md") continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in) return Status(StatusCode::kInternal, "cannot read " + it->path().string());
    const std::string path = prefix + rel.generic_string();
    VOXGATE_RETURN_IF_ERROR(Add(path, body.str()));
    if (live) {
      auto file = std::make_shared<File>(*files_.at(path));
      file->source = it->path();
      files_[path] = std::move(file);
    }
  }
  if (ec) return Status(StatusCode::kInternal, "cannot list " + dir.string() + ": " + ec.message());
  return Status::Ok();
}

Status StaticSite::Alias(std::string alias, std::string_view from) {
  auto it = files_.find(std::string(from));
  if (it == files_.end()) return NotFoundError("no static file " + std::string(from));
  if (!ValidPath(alias)) return InvalidArgumentError("bad static file path: " + alias);
  if (!files_.emplace(std::move(alias), it->second).second) {
    return InvalidArgumentError("static file added twice");
  }
  return Status::Ok();
}

Response StaticSite::Serve(const File& stored, const Request& request) {
  File fresh;
  if (!stored.source.empty()) {
    std::ifstream in(stored.source, std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in) return HttpErrorResponse(404, "not_found", "the file is gone", request.request_id());
    fresh.content_type = stored.content_type;
    fresh.body = body.str();
    fresh.etag = EtagOf(fresh.body);
  }
  const File& file = stored.source.empty() ? stored : fresh;
  Response r;
  r.headers = {{"ETag", file.etag},
               {"Cache-Control", "no-cache"},
               {"Content-Security-Policy", std::string(kStrictCsp)},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"X-Frame-Options", "DENY"}};
  if (!file.gzip.empty()) r.headers.emplace_back("Vary", "Accept-Encoding");
  if (auto tag = request.Header("If-None-Match"); tag && Matches(*tag, file.etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.content_type = file.content_type;
  if (!file.gzip.empty() && AcceptsGzip(request)) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body = file.gzip;
  } else {
    r.body = file.body;
  }
  return r;
}

Status StaticSite::AddRoutes(HttpServer& server) const {
  RouteOptions options;
  options.rate_limited = false;
  options.documented = false;
  for (const auto& entry : files_) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    const auto& file = entry.second;
    VOXGATE_RETURN_IF_ERROR(server.Route(
        Method::kGet, entry.first, Access::kPublic,
        [file](const Request& request, Responder responder) {
          responder.Send(Serve(*file, request));
        },
        options));
  }
  return Status::Ok();
}

}  // namespace voxgate::api
