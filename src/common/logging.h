// Process logging: spdlog's default logger writing one JSON object per line to stderr,
// {"ts":"...","level":"info","msg":"..."}, the message JSON-escaped. Secrets never reach the
// logger: configs print them as ***, errors never carry them.
#pragma once

#include <string>

#include "common/status.h"

namespace voxgate {

/// Installs the JSON line format and the level (trace|debug|info|warn|error|off).
Status InitLogging(const std::string& level);

/// `text` escaped for the inside of a JSON string.
std::string JsonEscape(std::string_view text);

}  // namespace voxgate
