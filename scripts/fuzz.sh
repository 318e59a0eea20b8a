#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, build-fuzz/) and runs each for a fixed budget
# from its committed seed corpus fuzz/corpus/<target>/. A crash, leak, sanitizer report or timeout
# fails the run; the input that caused it is copied into fuzz/corpus/<target>/ as a regression seed
# (commit it with the fix) and printed as base64.
#   scripts/fuzz.sh [--seconds N] [target...]     default: every target, 30 s each
# Long runs (hours) outside CI: scripts/fuzz.sh --seconds 3600 sip_fuzz; see docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=30
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/*/*_fuzz.cc; do targets+=("$(basename "$f" .cc)"); done
fi

build=${VOXGATE_FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVOXGATE_FUZZ=ON \
    -DVOXGATE_BUILD_TESTS=OFF -DVOXGATE_BUILD_BENCH=OFF >/dev/null
fi
t0=$(date +%s)
ninja -C "$build" "${targets[@]}"
echo "fuzz.sh: built ${#targets[@]} targets in $(($(date +%s) - t0)) s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
printf '%-22s %10s %9s %6s %6s %s\n' target execs exec/s cov new result
for t in "${targets[@]}"; do
  seeds="fuzz/corpus/$t"
  [ -d "$seeds" ] || { echo "fuzz.sh: no seed corpus $seeds (python3 fuzz/make_corpus.py)" >&2; failed+=("$t"); continue; }
  mkdir -p "$work/$t/new" "$work/$t/art"
  log="$work/$t/log"
  status=0
  # New inputs go to a scratch folder; the committed seeds are read only. -timeout: one input may
  # take at most 10 s (a hang is a finding); rss: 2 GB per input.
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$build/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/$t/art/" "$work/$t/new" "$seeds" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  newu=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  result=ok
  if [ "$status" -ne 0 ]; then
    result="FAILED (exit $status)"
    failed+=("$t")
    for a in "$work/$t/art"/*; do
      [ -f "$a" ] || continue
      keep="$seeds/regression-$(basename "$a")"
      cp "$a" "$keep"
      echo "fuzz.sh: $t: reproducer kept as $keep (base64: $(head -c 4096 "$a" | base64 -w0))"
    done
    grep -E 'ERROR|SUMMARY|runtime error|==[0-9]+==|#[0-9]+ 0x' "$log" | head -40 || true
  fi
  printf '%-22s %10s %9s %6s %6s %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${newu:-?}" "$result"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, ${seconds} s each, no findings"
