// The console's files (web/ and its npm libraries), embedded in the binary at build time by
// cmake/EmbedFiles.cmake so `voxgate serve` shows the console on a machine with nothing else
// installed. Immutable data; thread-safe.
#pragma once

#include <cstddef>
#include <span>

namespace voxgate::app {

struct ConsoleAsset {
  const char* path;           // URL path, "/js/app.js"
  const unsigned char* data;  // the file
  size_t size;
  const unsigned char* gzip;  // gzip -9 of the file, or null when that is not smaller
  size_t gzip_size;
};

std::span<const ConsoleAsset> ConsoleAssets();

}  // namespace voxgate::app
