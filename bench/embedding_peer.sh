#!/usr/bin/env bash
# Embedding speed and agreement against sherpa-onnx (npm sherpa-onnx-node), same model, same
# samples, same run. Prints our time / its time (goal <= 1.0) and the cosine agreement of the two
# embeddings per file (goal >= 0.999).
#   bench/embedding_peer.sh [MODEL] [THREADS] [PASSES]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/voxgate-starter.onnx}
threads=${2:-1}
passes=${3:-3}
speech=${VOXGATE_SPEECH_DIR:-../shared/speech}
peer=third_party/sherpa-onnx/node_modules
[ -d "$peer/sherpa-onnx-node" ] || { echo "run scripts/setup.sh --tests first" >&2; exit 1; }
[ -x build/bench/embed_raw ] || { echo "build first (scripts/build.sh)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# 3-s clips of real speech from the development set (one per speaker).
files=()
for d in "$speech"/resemblyzer-librispeech/librispeech_test-other/*/; do
  f=$(ls "$d"*.flac | head -1)
  out="$tmp/$(basename "$d").f32"
  ffmpeg -v error -i "$f" -t 3 -ac 1 -ar 16000 -f f32le "$out"
  files+=("$out")
done

build/bench/embed_raw "$model" "$threads" "$passes" "${files[@]}" >"$tmp/ours.json"
SHERPA_NODE_MODULES="$PWD/$peer" node bench/peer/sherpa_embed.js "$model" "$threads" "$passes" \
  "${files[@]}" >"$tmp/peer.json"
node -e '
const fs = require("fs");
const ours = JSON.parse(fs.readFileSync(process.argv[1]));
const peer = JSON.parse(fs.readFileSync(process.argv[2]));
const n = ours.embeddings.length, audio = 3 * n;
const cos = (a, b) => { let d = 0, x = 0, y = 0;
  for (let i = 0; i < a.length; ++i) { d += a[i] * b[i]; x += a[i] * a[i]; y += b[i] * b[i]; }
  return d / Math.sqrt(x * y); };
const agree = ours.embeddings.map((e, i) => cos(e, peer.embeddings[i]));
const fmt = (v, d) => v.toFixed(d);
console.log(`clips: ${n} x 3 s, threads ${process.argv[3]}`);
console.log(`voxgate:    ${fmt(1000 * ours.seconds_per_pass / n, 2)} ms/clip  RTF ${fmt(ours.seconds_per_pass / audio, 5)}`);
console.log(`sherpa-onnx: ${fmt(1000 * peer.seconds_per_pass / n, 2)} ms/clip  RTF ${fmt(peer.seconds_per_pass / audio, 5)}`);
console.log(`ratio (voxgate / sherpa-onnx time): ${fmt(ours.seconds_per_pass / peer.seconds_per_pass, 3)}  (goal <= 1.0)`);
console.log(`cosine agreement: min ${fmt(Math.min(...agree), 6)}  mean ${fmt(agree.reduce((a, b) => a + b) / n, 6)}  (goal >= 0.999)`);
' "$tmp/ours.json" "$tmp/peer.json" "$threads"
