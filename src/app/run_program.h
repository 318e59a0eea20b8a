// Runs a helper program (no shell) and waits for it: for the CLI's optional extras, such as the
// plots of `voxgate eval --plot`.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace voxgate::app {

/// Runs argv[0] (a path) with argv, inheriting stdout/stderr. kUnavailable when it cannot be
/// started or exits with a non-zero status (the status says which).
Status RunProgram(const std::vector<std::string>& argv);

}  // namespace voxgate::app
