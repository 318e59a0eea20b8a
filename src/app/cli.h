// The voxgate command line: sub-commands embed, compare, eval (and later serve, push, ...).
#pragma once

namespace voxgate::app {

/// Parses argv and runs the sub-command. Returns the process exit status: 0 on success, 1 with a
/// one-line message on stderr on bad input, 2 on a usage error.
int RunCli(int argc, char** argv);

}  // namespace voxgate::app
