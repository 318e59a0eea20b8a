// The console (web/) as a StaticSite, for `voxgate serve` and `voxgate gateway`: the files
// embedded at build time, or with `dir` set, read from that folder at start (for working on the
// console: edit, reload). Either way web/index.html is also served at "/" and uPlot at
// /vendor/uplot/.
#pragma once

#include <string>

#include "api/static_site.h"
#include "common/status.h"

namespace voxgate::app {

/// `dir` empty: the embedded files. Otherwise web/ at `dir`, with the vendor files from
/// third_party/web/ beside the source tree. kNotFound when `dir` has no index.html.
Result<api::StaticSite> LoadConsole(const std::string& dir);

/// The host to print in the console's address for a server listening on `listen_host`:
/// "localhost" for the wildcard and loopback addresses, else the address ([v6] bracketed).
std::string ConsoleHost(const std::string& listen_host);

}  // namespace voxgate::app
