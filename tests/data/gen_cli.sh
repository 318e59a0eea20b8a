#!/usr/bin/env bash
# Fixtures for tests/app: 3 s of digital silence as a WAV (the CLI must say "no speech").
# Usage: gen_cli.sh OUT_DIR (called by make_fixtures.sh).
set -euo pipefail
out=${1:?usage: gen_cli.sh OUT_DIR}
mkdir -p "$out/cli"
ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "anullsrc=r=16000:cl=mono" -t 3 \
  -fflags +bitexact -c:a pcm_s16le "$out/cli/silence.wav"
