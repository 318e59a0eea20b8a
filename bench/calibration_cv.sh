#!/usr/bin/env bash
# Two-fold cross-validation of `voxgate calibrate` on the starter model's held-out speakers:
# calibrate on half of the speakers (alternate speakers of each set), then judge the other half's
# trials (the same design: enrolled from 40 % of each file's speech, probes of 1.5-8 s from the
# rest, impostors within a set) with that calibration (`calibrate --check`), in the wideband and
# through G.711. The second half are speakers that neither the model nor the calibration saw:
# what `security_level` holds on new voices.
#   bench/calibration_cv.sh [build]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
list=models/voxgate-starter.calibration-set.tsv
root=../shared/speech
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Fold of each speaker: alternate over the sorted speakers of each set.
grep -v '^#' "$list" | sort -t$'\t' -k2,2 | awk -F'\t' -v dir="$tmp" '
  { split($2, p, "/"); set = p[1]
    if (!($2 in fold)) { fold[$2] = n[set]++ % 2 }
    print > (dir "/fold" fold[$2] ".tsv") }'
for f in 0 1; do
  other=$((1 - f))
  "$build/voxgate" calibrate --list "$tmp/fold$f.tsv" --root "$root" \
    --cohort-list models/voxgate-starter.manifest.tsv --out "$tmp/fold$f.calibration.json" \
    > "$tmp/cal$f.txt"
  echo "== calibrated on fold $f ($(cut -f2 "$tmp/fold$f.tsv" | sort -u | wc -l) speakers)," \
    "judged on fold $other ($(cut -f2 "$tmp/fold$other.tsv" | sort -u | wc -l) speakers)"
  "$build/voxgate" calibrate --list "$tmp/fold$other.tsv" --root "$root" \
    --check "$tmp/fold$f.calibration.json" | tail -n +3
done
