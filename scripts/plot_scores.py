#!/usr/bin/python3
"""DET curve and score histograms of a `voxgate eval --scores` (or `calibrate --scores`) file.

    scripts/plot_scores.py SCORES.tsv OUT.png [--title TEXT] [--column normalized|score]
                           [--threshold NAME=VALUE ...]

Left: the DET curve (false rejects against false accepts, on normal-deviate axes as usual in
speaker recognition) of the raw cosine and, when the file has it, of the AS-Norm score. Right:
the target and impostor histograms of --column, with the given thresholds drawn on it.
Needs Debian's python3-matplotlib (scripts/setup.sh --tests installs it).
"""
import argparse
import csv
import math
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def probit(p):
    # Inverse of the standard normal CDF by bisection on erf (no SciPy needed).
    p = min(max(p, 1e-6), 1 - 1e-6)
    lo, hi = -8.0, 8.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def det(targets, impostors):
    """(false accept rate, miss rate) at every threshold, sweeping upward."""
    trials = sorted([(s, 1) for s in targets] + [(s, 0) for s in impostors])
    nt, nn = len(targets), len(impostors)
    misses, rejected = 0, 0
    far, frr = [1.0], [0.0]
    for s, is_target in trials:
        if is_target:
            misses += 1
        else:
            rejected += 1
        far.append((nn - rejected) / nn)
        frr.append(misses / nt)
    return far, frr


def eer(far, frr):
    return min((abs(a - b), (a + b) / 2) for a, b in zip(far, frr))[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scores")
    ap.add_argument("out")
    ap.add_argument("--title", default="")
    ap.add_argument("--column", default="normalized")
    ap.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args()
    with open(args.scores, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows:
        sys.exit(f"plot_scores: no trials in {args.scores}")
    columns = [c for c in ("score", "normalized") if c in rows[0]]
    if args.column not in columns:
        sys.exit(f"plot_scores: no column {args.column} (have {', '.join(columns)})")

    fig, (ax_det, ax_hist) = plt.subplots(1, 2, figsize=(12, 5))
    ticks = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4]
    for column, label in (("score", "raw cosine"), ("normalized", "AS-Norm")):
        if column not in columns:
            continue
        tar = [float(r[column]) for r in rows if r["target"] == "1"]
        imp = [float(r[column]) for r in rows if r["target"] == "0"]
        far, frr = det(tar, imp)
        ax_det.plot([probit(x) for x in far], [probit(y) for y in frr],
                    label=f"{label} (EER {100 * eer(far, frr):.2f} %)")
    ax_det.set_xticks([probit(t) for t in ticks], [f"{100 * t:g}" for t in ticks])
    ax_det.set_yticks([probit(t) for t in ticks], [f"{100 * t:g}" for t in ticks])
    ax_det.set_xlim(probit(0.0005), probit(0.5))
    ax_det.set_ylim(probit(0.0005), probit(0.5))
    ax_det.set_xlabel("false accepts (%)")
    ax_det.set_ylabel("false rejects (%)")
    ax_det.grid(True, alpha=0.3)
    ax_det.legend(loc="upper right")
    ax_det.set_title("DET curve")

    tar = [float(r[args.column]) for r in rows if r["target"] == "1"]
    imp = [float(r[args.column]) for r in rows if r["target"] == "0"]
    lo, hi = min(tar + imp), max(tar + imp)
    bins = [lo + (hi - lo) * i / 60 for i in range(61)]
    ax_hist.hist(imp, bins=bins, density=True, alpha=0.6, label=f"impostors ({len(imp)})")
    ax_hist.hist(tar, bins=bins, density=True, alpha=0.6, label=f"same speaker ({len(tar)})")
    for spec in args.threshold:
        name, _, value = spec.partition("=")
        ax_hist.axvline(float(value), color="k", linestyle="--", linewidth=1)
        ax_hist.text(float(value), ax_hist.get_ylim()[1] * 0.95, f" {name}", rotation=90,
                     va="top", fontsize=8)
    ax_hist.set_xlabel("AS-Norm score" if args.column == "normalized" else "cosine")
    ax_hist.set_ylabel("density")
    ax_hist.legend(loc="upper left")
    ax_hist.set_title(f"score distributions (impostor mean {statistics.mean(imp):.2f}, "
                      f"same-speaker mean {statistics.mean(tar):.2f})", fontsize=10)
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
