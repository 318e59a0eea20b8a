// StaticSite: a fixed set of files (the console: HTML, CSS, JavaScript, images) served by an
// HttpServer at their paths, with the headers a browser app served next to an API needs:
//   - Content-Security-Policy kStrictCsp (no inline script or style, no eval, nothing off-site),
//     X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer, X-Frame-Options: DENY;
//   - a strong ETag (sha-256 of the content) with If-None-Match -> 304, Cache-Control: no-cache
//     (revalidate every load, so a new binary's console is never mixed with a cached old one);
//   - Content-Encoding: gzip when the file carries a precompressed copy and the client accepts it.
// Files are public: they hold no data, and the page asks for the API key itself.
//
// Thread-safety: build it, then AddRoutes; the routes share the files immutably.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "api/http_server.h"
#include "common/status.h"

namespace voxgate::api {

inline constexpr std::string_view kStrictCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

class StaticSite {
 public:
  struct File {
    std::string content_type;
    std::string body;
    std::string gzip;              // the body gzip-compressed, or empty
    std::string etag;              // "\"<16 hex of sha-256(body)>\""
    std::filesystem::path source;  // non-empty: re-read from here at each request (development)
  };

  /// Adds a file at `path` ("/js/app.js"). kInvalidArgument for a path that does not start with
  /// '/', holds "..", a NUL or a control character, or was added before.
  Status Add(std::string path, std::string body, std::string gzip = {});
  /// Adds every regular file under `dir` at `url_prefix` + its relative path ("/" + "js/app.js"),
  /// skipping dot-files and *.md. With `live`, each request reads the file again (edit, reload;
  /// files added later need a restart). kNotFound when `dir` is not a directory.
  Status AddDirectory(const std::filesystem::path& dir, std::string_view url_prefix,
                      bool live = false);
  /// Also serves the file at `from` at `alias` (e.g. "/index.html" at "/").
  Status Alias(std::string alias, std::string_view from);

  /// Adds one public GET route per file.
  Status AddRoutes(HttpServer& server) const;

  const std::map<std::string, std::shared_ptr<const File>>& files() const { return files_; }
  size_t size() const { return files_.size(); }

  /// "text/javascript; charset=utf-8" for "app.js"; application/octet-stream when unknown.
  static std::string ContentTypeFor(std::string_view path);
  /// The response to a GET of `file` with the request's If-None-Match and Accept-Encoding.
  static Response Serve(const File& file, const Request& request);

 private:
  std::map<std::string, std::shared_ptr<const File>> files_;
};

}  // namespace voxgate::api
