#include "app/cli.h"

#include <CLI/CLI.hpp>

namespace voxgate::app {

int RunCli(int argc, char** argv) {
  CLI::App app{"voxgate: real-time voice gateway"};
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}

}  // namespace voxgate::app
