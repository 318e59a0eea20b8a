#include "app/console.h"

#include <filesystem>

#include "app/console_assets.h"

namespace voxgate::app {

Result<api::StaticSite> LoadConsole(const std::string& dir) {
  api::StaticSite site;
  if (dir.empty()) {
    for (const ConsoleAsset& a : ConsoleAssets()) {
      std::string body(reinterpret_cast<const char*>(a.data), a.size);
      std::string gzip = a.gzip == nullptr
                             ? std::string()
                             : std::string(reinterpret_cast<const char*>(a.gzip), a.gzip_size);
      VOXGATE_RETURN_IF_ERROR(site.Add(a.path, std::move(body), std::move(gzip)));
    }
  } else {
    VOXGATE_RETURN_IF_ERROR(site.AddDirectory(dir, "/", /*live=*/true));
    VOXGATE_RETURN_IF_ERROR(site.AddDirectory(
        std::filesystem::path(VOXGATE_SOURCE_DIR) / "third_party/web/uplot", "/vendor/uplot/"));
  }
  if (site.files().count("/index.html") == 0) {
    return NotFoundError("the console has no index.html" +
                         (dir.empty() ? std::string() : " in " + dir));
  }
  VOXGATE_RETURN_IF_ERROR(site.Alias("/", "/index.html"));
  return site;
}

std::string ConsoleHost(const std::string& listen_host) {
  if (listen_host.empty() || listen_host == "0.0.0.0" || listen_host == "::" ||
      listen_host == "127.0.0.1" || listen_host == "::1") {
    return "localhost";
  }
  if (listen_host.find(':') != std::string::npos) return "[" + listen_host + "]";
  return listen_host;
}

}  // namespace voxgate::app
