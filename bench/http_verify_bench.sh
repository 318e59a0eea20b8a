#!/usr/bin/env bash
# HTTP verify throughput of `voxgate serve` compared with the raw engine, in one run.
#
# Starts `voxgate serve --dev` on a loopback port (rate limiting off, everything else from
# config/voxgate.yaml), enrolls 10 LibriSpeech test-other speakers (two utterances each), then loads
# POST /api/v1/voiceprint/verify with 3-s WAV clips cut from other utterances of the same speakers,
# using wrk (bench/wrk/verify.lua) at concurrency 1, 4 and 16. Prints throughput, p50/p99 latency
# and errors per level; the raw engine throughput on the same clips with as many threads as the
# server has inference workers (build/bench/engine_throughput_bench: decode + VAD + fbank + model,
# no HTTP); their ratio (goal >= 0.9); the server's idle and peak RSS. Prints figures, asserts
# nothing.
#
# Usage: bench/http_verify_bench.sh [MODEL] [SECONDS_PER_LEVEL]
#   MODEL: default models/voxgate-starter.onnx if present, else $BUILD/testdata/tiny_sherpa.onnx
#   SECONDS_PER_LEVEL: default 15
#   BUILD: the build directory (default build); VOXGATE_SPEECH_DIR: default ../shared/speech
# Needs wrk, ffmpeg, curl, python3 (scripts/setup.sh --tests) and a built tree (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
build=${BUILD:-build}
duration=${2:-15}
raw_seconds=${RAW_SECONDS:-10}
model=${1:-}
if [ -z "$model" ]; then
  if [ -f models/voxgate-starter.onnx ]; then
    model=models/voxgate-starter.onnx
  else
    model=$build/testdata/tiny_sherpa.onnx
  fi
fi
model=$(realpath "$model")
speech=${VOXGATE_SPEECH_DIR:-$repo/../shared/speech}/resemblyzer-librispeech/librispeech_test-other

for tool in wrk ffmpeg ffprobe curl python3; do
  command -v "$tool" >/dev/null || { echo "http_verify_bench: needs $tool (scripts/setup.sh --tests)" >&2; exit 1; }
done
for bin in "$build/voxgate" "$build/bench/engine_throughput_bench"; do
  [ -x "$bin" ] || { echo "http_verify_bench: $bin missing: build first (scripts/build.sh)" >&2; exit 1; }
done
[ -f "$model" ] || { echo "http_verify_bench: no model at $model" >&2; exit 1; }
[ -d "$speech" ] || { echo "http_verify_bench: no speech at $speech" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/voxgate-bench.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- clips ------------------------------------------------------------------------------------
# Per speaker: the two longest utterances enroll, 3-s cuts (from 0.5 s) of the next two verify.
mkdir -p "$tmp/clips"
: >"$tmp/manifest.tsv"
: >"$tmp/enroll.tsv"
speakers=()
for dir in "$speech"/*/; do
  spk=$(basename "$dir")
  ls "$dir"*.flac >/dev/null 2>&1 || continue
  speakers+=("$spk")
  [ ${#speakers[@]} -ge 10 ] && break
done
[ ${#speakers[@]} -ge 10 ] || { echo "http_verify_bench: fewer than 10 speakers in $speech" >&2; exit 1; }
for spk in "${speakers[@]}"; do
  mapfile -t by_length < <(for f in "$speech/$spk"/*.flac; do
    printf '%s %s\n' "$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$f")" "$f"
  done | sort -rn | awk '{print $2}')
  printf 'spk%s\t%s\t%s\n' "$spk" "${by_length[0]}" "${by_length[1]}" >>"$tmp/enroll.tsv"
  for i in 2 3; do
    clip="$tmp/clips/${spk}_$i.wav"
    ffmpeg -nostdin -hide_banner -loglevel error -y -ss 0.5 -t 3 -i "${by_length[$i]}" \
      -ac 1 -ar 16000 -c:a pcm_s16le "$clip"
    printf 'spk%s\t%s\n' "$spk" "$clip" >>"$tmp/manifest.tsv"
  done
done
clips=("$tmp"/clips/*.wav)

# --- server -----------------------------------------------------------------------------------
env -u VOXGATE_ENCRYPTION_KEY VOXGATE_MODEL_PATH="$model" VOXGATE_SERVER_HOST=127.0.0.1 \
  VOXGATE_SERVER_RATE_LIMIT_ENABLED=false \
  "$build/voxgate" serve --config config/voxgate.yaml --dev --port 0 --data-dir "$tmp/data" \
  >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's/^voxgate: listening on .*:\([0-9][0-9]*\)$/\1/p' "$tmp/server.out" | head -1)
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "http_verify_bench: the server did not start:" >&2
  tail -20 "$tmp/server.out" "$tmp/server.err" >&2
  exit 1
fi
base="http://127.0.0.1:$port"
stats=$(curl -sf "$base/api/v1/stats")
read -r model_id workers threshold < <(python3 -c '
import json, sys
e = json.loads(sys.argv[1])["statistics"]["voiceprint_engine"]
print(e["model"], e["inference_workers"], e["threshold"])' "$stats")

while IFS=$'\t' read -r user a b; do
  curl -sf -o /dev/null -F "user_id=$user" -F "name=$user" -F "audio=@$a" -F "audio=@$b" \
    "$base/api/v1/voiceprint/register" || { echo "http_verify_bench: enrolling $user failed" >&2; exit 1; }
done <"$tmp/enroll.tsv"
# One verify per clip: they all work, and how many the model accepts (a sanity check of the setup).
accepted=0
while IFS=$'\t' read -r user clip; do
  body=$(curl -sf -F "user_id=$user" -F "audio=@$clip" "$base/api/v1/voiceprint/verify") ||
    { echo "http_verify_bench: verify failed for $clip" >&2; exit 1; }
  case "$body" in *'"verified":true'*) accepted=$((accepted + 1)) ;; esac
done <"$tmp/manifest.tsv"
sleep 1
rss_idle_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")

# --- raw engine -------------------------------------------------------------------------------
raw=$("$build/bench/engine_throughput_bench" config/voxgate.yaml "$model" "$workers" "$raw_seconds" \
  "${clips[@]}")

# --- HTTP load --------------------------------------------------------------------------------
results=()
for c in 1 4 16; do
  t=$((c < 2 ? c : 2))
  line=$(VERIFY_MANIFEST="$tmp/manifest.tsv" wrk -t"$t" -c"$c" -d"${duration}s" --timeout 10s \
    -s bench/wrk/verify.lua "$base" | grep '^{"requests"' | tail -1)
  results+=("$c $line")
done
rss_peak_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")
rss_end_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")
metrics=$(curl -sf "$base/metrics")
kill -TERM "$server_pid"
wait "$server_pid" && exit_status=0 || exit_status=$?
server_pid=""

# --- report -----------------------------------------------------------------------------------
python3 - "$raw" "$rss_idle_kb" "$rss_peak_kb" "$rss_end_kb" "$model" "$model_id" "$workers" \
  "$threshold" "${#clips[@]}" "$accepted" "$exit_status" "$duration" "$metrics" "${results[@]}" <<'PY'
import json, os, sys
(raw, idle, peak, end, model, model_id, workers, threshold, nclips, accepted, exit_status,
 duration, metrics) = sys.argv[1:14]
raw = json.loads(raw)
levels = [(int(r.split(" ", 1)[0]), json.loads(r.split(" ", 1)[1])) for r in sys.argv[14:]]
rejected = sum(float(l.rsplit(" ", 1)[1]) for l in metrics.splitlines()
               if l.startswith('voxgate_inference_tasks_total{') and 'outcome="rejected"' in l)
print("voxgate HTTP verify benchmark")
print(f"  machine: {os.cpu_count()} CPUs, load average {open('/proc/loadavg').read().split()[0]} "
      "at the end (other work on the machine skews every figure)")
print(f"  model:   {model}\n           id {model_id}, threshold {float(threshold):.4f}")
print(f"  server:  voxgate serve --dev, config/voxgate.yaml, {workers} inference workers, "
      "rate limit off")
print(f"  clips:   {nclips} x 3.0 s WAV (16 kHz s16) from 10 LibriSpeech test-other speakers, "
      f"each verified 1:1 against its enrolled speaker ({accepted}/{nclips} accepted)")
print()
de, eo = raw["decode_embed_per_s"], raw["embed_per_s"]
print(f"raw engine, {raw['threads']} threads, same clips: {de:.1f} clips/s decode+embed, "
      f"{eo:.1f} clips/s embed only, {raw['decode_per_s']:.1f} clips/s decode only")
print()
print(f"{'concurrency':>11} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
      f"{'requests':>9} {'errors':>7} {'HTTP/raw':>9}")
for c, r in levels:
    errors = sum(r[k] for k in ("errors_connect", "errors_read", "errors_write", "errors_status",
                                "errors_timeout"))
    print(f"{c:>11} {r['rps']:>9.1f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['max_ms']:>8.1f} "
          f"{r['requests']:>9} {errors:>7} {r['rps'] / de:>9.2f}")
print(f"(concurrency 1 keeps one of the {workers} inference workers busy at a time, so its ratio "
      f"tops out near 1/{workers})")
best = max(r["rps"] for _, r in levels)
print()
print(f"HTTP verify / raw engine (decode+embed): {best / de:.2f} at the best level "
      f"(goal >= 0.9); vs embed only: {best / eo:.2f}")
print(f"503 (inference queue full) during the run: {int(rejected)}")
print(f"server RSS: idle {int(idle) / 1024:.1f} MB (after enrolling), peak {int(peak) / 1024:.1f} MB "
      f"(VmHWM), at the end {int(end) / 1024:.1f} MB")
print(f"server exit status after SIGTERM: {exit_status}")
PY
