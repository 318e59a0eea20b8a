#!/usr/bin/env bash
# Installs what is missing, builds, and starts Voxgate on its embedded defaults: the voiceprint
# REST service on port 8080 with SQLite in ./data and the bundled starter model. On first start it
# creates an admin API key in ./data/admin.key. Extra arguments go to `voxgate serve`
# (e.g. --port 9000, --dev for no authentication).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
exec build/voxgate serve "$@"
