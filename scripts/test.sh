#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit, integration, e2e).
#   scripts/test.sh [ctest args...]    e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
scripts/build.sh
cd build
ctest --output-on-failure --timeout 1200 "$@"
