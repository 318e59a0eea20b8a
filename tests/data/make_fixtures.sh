#!/usr/bin/env bash
# Generates the test fixtures into $1 (build/testdata). Each generator is idempotent and only runs
# when its outputs are missing or older than the generator.
set -euo pipefail
out=${1:?usage: make_fixtures.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
mkdir -p "$out"
for gen in "$here"/gen_*.sh "$here"/gen_*.py; do
  [ -e "$gen" ] || continue
  stamp="$out/.$(basename "$gen").stamp"
  if [ ! -f "$stamp" ] || [ "$gen" -nt "$stamp" ]; then
    echo "fixtures: $(basename "$gen")"
    case "$gen" in
      *.py) "$PYTHON" "$gen" "$out" ;;
      *.sh) bash "$gen" "$out" ;;
    esac
    touch "$stamp"
  fi
done
