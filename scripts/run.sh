#!/usr/bin/env bash
# Installs what is missing, builds, and starts Voxgate on its embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
exec build/voxgate "${@:---help}"
