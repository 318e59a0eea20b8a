#!/usr/bin/env bash
# Embedding speed and agreement against sherpa-onnx (npm sherpa-onnx-node), same model, same
# samples, same run. Prints our time / its time (goal <= 1.0) and the cosine agreement of the two
# embeddings per file (goal >= 0.999). sherpa-onnx computes every speaker model's fbank with mel
# bins up to Nyquist - 400 Hz and without snip_edges, unlike the Kaldi defaults 3D-Speaker trains
# with; agreement is printed both with that fbank (same computation) and with ours (as trained).
#   bench/embedding_peer.sh [MODEL] [THREADS] [PASSES]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/voxgate-starter.onnx}
threads=${2:-1}
passes=${3:-3}
speech=${VOXGATE_SPEECH_DIR:-../shared/speech}
peer=third_party/sherpa-onnx/node_modules
[ -d "$peer/sherpa-onnx-node" ] || { echo "run scripts/setup.sh --tests first" >&2; exit 1; }
[ -x "${VOXGATE_BUILD_DIR:-build}/bench/embed_raw" ] || { echo "build first (scripts/build.sh)" >&2; exit 1; }

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

bin="${VOXGATE_BUILD_DIR:-build}"/bench/embed_raw
"$bin" "$model" "$threads" "$passes" model "${files[@]}" >"$tmp/ours.json"
"$bin" "$model" "$threads" 1 sherpa "${files[@]}" >"$tmp/ours_sherpa_fbank.json"
SHERPA_NODE_MODULES="$PWD/$peer" node bench/peer/sherpa_embed.js "$model" "$threads" "$passes" \
  "${files[@]}" >"$tmp/peer.json"
node -e '
const fs = require("fs");
const [oursFile, peerFile, sameFbankFile, threads] = process.argv.slice(1);
const ours = JSON.parse(fs.readFileSync(oursFile));
const peer = JSON.parse(fs.readFileSync(peerFile));
const same = JSON.parse(fs.readFileSync(sameFbankFile));
const n = ours.embeddings.length, audio = 3 * n;
const cos = (a, b) => { let d = 0, x = 0, y = 0;
  for (let i = 0; i < a.length; ++i) { d += a[i] * b[i]; x += a[i] * a[i]; y += b[i] * b[i]; }
  return d / Math.sqrt(x * y); };
const stats = (es) => { const v = es.map((e, i) => cos(e, peer.embeddings[i]));
  return `min ${Math.min(...v).toFixed(6)}  mean ${(v.reduce((a, b) => a + b) / n).toFixed(6)}`; };
console.log(`clips: ${n} x 3 s of real speech, threads ${threads}`);
console.log(`voxgate:     ${(1000 * ours.seconds_per_pass / n).toFixed(2)} ms/clip  RTF ${(ours.seconds_per_pass / audio).toFixed(5)}`);
console.log(`sherpa-onnx: ${(1000 * peer.seconds_per_pass / n).toFixed(2)} ms/clip  RTF ${(peer.seconds_per_pass / audio).toFixed(5)}`);
console.log(`ratio (voxgate / sherpa-onnx time): ${(ours.seconds_per_pass / peer.seconds_per_pass).toFixed(3)}  (goal <= 1.0)`);
console.log(`cosine agreement, same fbank as sherpa-onnx (Nyquist-400 Hz, no snip_edges): ${stats(same.embeddings)}  (goal >= 0.999)`);
console.log(`cosine agreement, voxgate fbank as the model was trained (up to Nyquist, snip_edges): ${stats(ours.embeddings)}`);
' "$tmp/ours.json" "$tmp/peer.json" "$tmp/ours_sherpa_fbank.json" "$threads"
