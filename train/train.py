#!/usr/bin/python3
"""Voxgate starter speaker-embedding model: one command, end to end.

  /usr/bin/python3 train/train.py --out models/voxgate-starter.onnx

Steps: prep (decode + augment + fbank, cached in train/work/cache) -> train ECAPA-TDNN-lite with AAM-softmax
(keeps the best checkpoint by calibration EER) -> EER threshold -> export ONNX + metadata -> `voxgate calibrate`
(security levels, AS-Norm cohort, LLR) -> evaluate on librispeech test-other -> write manifest / eval json.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

# Debian's torch links the reference (netlib) BLAS, ~40x slower than OpenBLAS for the 1x1 convs and linears.
# If train/setup_openblas.sh extracted OpenBLAS under train/work/openblas, re-exec with it (no system change).
# On a shared, oversubscribed CPU, spinning OpenMP/OpenBLAS worker threads cost ~10x: make them sleep, and let
# OpenBLAS run single-threaded inside torch's own intra-op threads (must be set before torch is imported).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
_OB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work", "openblas", "usr", "lib",
                   "x86_64-linux-gnu", "openblas-pthread")
if os.path.isdir(_OB) and _OB not in os.environ.get("LD_LIBRARY_PATH", ""):
    os.environ["LD_LIBRARY_PATH"] = _OB + ":" + os.environ.get("LD_LIBRARY_PATH", "")
    os.execv(sys.executable, [sys.executable] + sys.argv)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import data  # noqa: E402
import evaluate as ev  # noqa: E402
from common import EMB_DIM, REPO, WORK, seed_all  # noqa: E402
from model import AAMSoftmax, ECAPALite  # noqa: E402


def log(msg, fh=None):
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)


def make_batch(feats, ix, items, rng, crop, specaug=True):
    x = np.empty((len(items), crop, 80), np.float32)
    for b, i in enumerate(items):
        o, n = int(ix["offs"][i]), int(ix["lens"][i])
        if n >= crop:
            s = int(rng.integers(n - crop + 1))
            f = feats[o + s:o + s + crop]
        else:  # short utterance: repeat it
            f = np.tile(feats[o:o + n], (crop // n + 1, 1))[:crop]
        f = f.astype(np.float32)
        f -= f.mean(axis=0, keepdims=True)  # per-crop global-mean, as at serving time
        if specaug and rng.random() < 0.5:
            w = int(rng.integers(1, 9))
            s = int(rng.integers(0, 80 - w))
            f[:, s:s + w] = 0.0
        x[b] = f
    return torch.from_numpy(x), torch.from_numpy(ix["cls"][items].astype(np.int64))


def lr_at(p, peak, warm=0.04, floor=0.02):
    if p < warm:
        return peak * (0.1 + 0.9 * p / warm)
    q = min(1.0, (p - warm) / (1 - warm))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * q)))


def margin_at(p, m, start=0.05, end=0.30):
    return 0.0 if p < start else m * min(1.0, (p - start) / (end - start))


def phase_at(p, a, rng):
    """(crop frames, margin) of a step at progress p. Before the large-margin fine-tuning (the last
    a.lmft_frac of the run) each batch takes a crop length drawn from [0.75, 1.25] x a.crop, so the
    network sees short and long evidence alike; the fine-tuning trains on longer crops with a larger
    margin (Thienpondt et al. 2021) while the learning rate is already low."""
    if a.lmft_frac > 0 and p >= 1.0 - a.lmft_frac:
        return a.lmft_crop, a.lmft_margin
    return int(rng.integers(int(a.crop * 0.75), int(a.crop * 1.25) + 1)), margin_at(p, a.margin)


def build_model(a):
    return ECAPALite(channels=a.channels, mfa=a.mfa, emb=EMB_DIM, stride=a.stride, scale=a.res2_scale)


def train(a, calib_feats, calib_labels):
    feats, ix = data.load_train_feats()
    n_cls = int(ix["cls"].max()) + 1
    log(f"train features: {feats.shape[0]} frames, {len(ix['offs'])} blocks, {n_cls} classes")
    dev = torch.device(a.device)
    model = build_model(a).to(dev)
    head = AAMSoftmax(EMB_DIM, n_cls, margin=a.margin, scale=a.scale).to(dev)
    log(f"model params: {sum(p.numel() for p in model.parameters())}")
    opt = torch.optim.AdamW(list(model.parameters()) + list(head.parameters()), lr=a.lr, weight_decay=a.wd)
    rng = np.random.default_rng(a.seed)
    n = len(ix["offs"])
    steps_per_epoch = n // a.batch
    t0 = time.time()
    budget = a.time_budget_min * 60.0
    best = {"eer": 9.0}
    step, epoch, last_eval = 0, 0, time.time()
    done = False
    while not done:
        perm = rng.permutation(n)
        tl, ta, tn = 0.0, 0.0, 0
        for k in range(steps_per_epoch):
            p = (step / a.steps) if a.steps else (time.time() - t0) / budget
            if p >= 1.0:
                done = True
                break
            lr = lr_at(p, a.lr)
            crop, m = phase_at(p, a, rng)
            for g in opt.param_groups:
                g["lr"] = lr
            x, y = make_batch(feats, ix, perm[k * a.batch:(k + 1) * a.batch], rng, crop)
            x, y = x.to(dev), y.to(dev)
            loss, acc = head(model(x), y, margin=m)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            step += 1
            tl, ta, tn = tl + loss.item(), ta + acc.item(), tn + 1
            if step % 25 == 0:
                log(f"ep {epoch} step {step} ({k + 1}/{steps_per_epoch}) p={p:.3f} lr={lr:.2e} m={m:.3f} crop={crop} "
                    f"loss={tl / tn:.3f} acc={ta / tn:.3f} {(time.time() - t0) / step:.2f}s/step")
            if time.time() - last_eval > a.eval_every_min * 60:
                best = maybe_save(a, model, calib_feats, calib_labels, step, epoch, p, best)
                last_eval = time.time()
        if tn:
            log(f"== epoch {epoch} done: loss={tl / tn:.3f} acc={ta / tn:.3f} steps={step} "
                f"elapsed={(time.time() - t0) / 60:.1f} min")
        epoch += 1
    best = maybe_save(a, model, calib_feats, calib_labels, step, epoch, 1.0, best)
    torch.save({"model": model.cpu().state_dict(), "args": vars(a), "step": step}, os.path.join(WORK, "last.pt"))
    log(f"training done in {(time.time() - t0) / 60:.1f} min, {step} steps; best cal EER {best['eer']:.4f} "
        f"at step {best.get('step')}")
    return best


def maybe_save(a, model, calib_feats, calib_labels, step, epoch, p, best):
    c = ev.calibrate(model, calib_feats, calib_labels)
    log(f"   calibration EER {c['eer'] * 100:.2f}% minDCF {c['min_dcf_p0.01']:.3f} thr {c['threshold']:.3f} "
        f"(step {step}, p={p:.2f})")
    # prefer later checkpoints on ties: the calibration set is small
    if c["eer"] <= best["eer"]:
        best = {"eer": c["eer"], "step": step, "epoch": epoch}
        torch.save({"model": {k: v.cpu() for k, v in model.state_dict().items()}, "args": vars(a), "step": step,
                    "cal": c},
                   os.path.join(WORK, "best.pt"))
        log("   saved best checkpoint")
    return best


def finalize(a, train_items, calib_items, calib_feats, calib_labels, test_items, waves_te, train_minutes):
    import export

    ck = torch.load(os.path.join(WORK, a.checkpoint), map_location="cpu")
    model = build_model(a)
    model.load_state_dict(ck["model"])
    model.eval()
    cal = ev.calibrate(model, calib_feats, calib_labels)
    thr = cal["threshold"]
    log(f"calibration: EER {cal['eer'] * 100:.2f}% threshold {thr:.4f}")
    out = os.path.join(REPO, a.out) if not os.path.isabs(a.out) else a.out
    stem = out[:-5] if out.endswith(".onnx") else out
    n_params = sum(p.numel() for p in model.parameters())
    comment = (f"ECAPA-TDNN-lite C={a.channels} MFA={a.mfa} res2={a.res2_scale} stride={a.stride} ({n_params / 1e6:.2f}M params), "
               f"AAM-softmax; trained on CPU on ~7 h / {len(set(l for _, l in train_items))} speakers "
               "(speechocean762, Common Voice zh-CN/fa/multilingual, LibriSpeech train-clean-100 subset) with "
               "noise/reverb/telephone(G.711, Opus) augmentation; input 80-dim Kaldi fbank, global-mean")
    export.export(model, out, {
        # "framework" names the runtime contract sherpa-onnx dispatches on (3D-Speaker: float
        # samples, Kaldi fbank, global-mean); "trainer" says who made the weights.
        "framework": "3d-speaker", "trainer": "voxgate", "sample_rate": "16000", "output_dim": str(EMB_DIM),
        "feature_normalize_type": "global-mean", "normalize_samples": "1", "language": "multilingual",
        "comment": comment, "threshold": f"{thr:.4f}", "model_version": a.model_version})
    data.write_manifest(stem + ".manifest.tsv", train_items)
    by_set = {}
    for p, l in calib_items:
        by_set.setdefault(p.split("/")[0], set()).add(l)
    calj = {"threshold": round(thr, 4), "eer": round(cal["eer"], 4), "min_dcf_p0.01": round(cal["min_dcf_p0.01"], 4),
            "n_segments": cal["n_segments"], "n_speakers": cal["n_speakers"], "n_files": len(calib_items),
            "n_target_trials": cal["n_target_trials"], "n_nontarget_trials": cal["n_nontarget_trials"],
            "speakers_per_set": {k: len(v) for k, v in by_set.items()},
            "librispeech_heldout_seed": a.seed, "checkpoint_step": ck.get("step")}
    # The held-out speakers, for `voxgate calibrate` (security levels, AS-Norm cohort, LLR).
    with open(stem + ".calibration-set.tsv", "w") as fh:
        fh.write(f"# Held-out speakers of {os.path.basename(stem)} (never trained on): paths relative to ../shared/speech\n")
        for p, l in calib_items:
            fh.write(f"{p}\t{l}\n")
    calibrate_with_voxgate(out, stem)
    # evaluation on the dev/test set (never used for training or calibration)
    conds = ev.test_conditions(waves_te)
    res = ev.evaluate(model, conds, [l for _, l in test_items], thr)
    for k, r in res.items():
        log(f"test-other {k}: EER {r['eer'] * 100:.2f}% minDCF(0.01) {r['min_dcf_p0.01']:.3f} "
            f"FNR/FPR@thr {r['fnr_at_cal_threshold'] * 100:.1f}%/{r['fpr_at_cal_threshold'] * 100:.1f}%")
    speed = export.pytorch_speed(model)
    summary = {"test_other": res, "calibration": {k: v for k, v in calj.items() if k != "files"},
               "params": n_params, "onnx_bytes": os.path.getsize(out), "pytorch_1thread_ms_3s": speed,
               "train_minutes": train_minutes, "checkpoint_step": ck.get("step"), "args": vars(a)}
    with open(os.path.join(WORK, "eval.json"), "w") as fh:
        json.dump(summary, fh, indent=1)
    log(f"params {n_params}, onnx {os.path.getsize(out)} bytes, pytorch 1-thread 3-s forward {speed:.1f} ms")
    return summary


def calibrate_with_voxgate(out, stem):
    """Runs `voxgate calibrate` (the serving path: decode, VAD, fbank, ONNX Runtime) on the held-out
    speakers with the training speakers as the AS-Norm cohort; it writes <stem>.calibration.json
    and .cohort.f32 beside the model. Without a built voxgate it says what to run."""
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    cmd = [os.path.join(root, "build", "voxgate"), "calibrate", "--model", out,
           "--list", stem + ".calibration-set.tsv", "--root", os.path.join(root, "..", "shared", "speech"),
           "--cohort-list", stem + ".manifest.tsv"]
    if not os.path.exists(cmd[0]):
        log("build/voxgate not found: build it (scripts/build.sh), then run: " + " ".join(cmd))
        return
    log("calibrating: " + " ".join(cmd))
    subprocess.run(cmd, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="models/voxgate-starter.onnx")
    ap.add_argument("--channels", type=int, default=128, help="TDNN channels C (ECAPA-TDNN: 512/1024)")
    ap.add_argument("--mfa", type=int, default=384, help="multi-layer feature aggregation channels (3*C usual)")
    ap.add_argument("--res2-scale", type=int, default=4)
    ap.add_argument("--stride", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--crop", type=int, default=200, help="mean training crop in frames (10 ms), varied +-25 %%")
    ap.add_argument("--lmft-frac", type=float, default=0.15, help="last part of the run: large-margin fine-tuning")
    ap.add_argument("--lmft-crop", type=int, default=300, help="crop (frames) during the large-margin fine-tuning")
    ap.add_argument("--lmft-margin", type=float, default=0.3, help="AAM margin during the large-margin fine-tuning")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--wd", type=float, default=1e-3)
    ap.add_argument("--margin", type=float, default=0.2)
    ap.add_argument("--scale", type=float, default=30.0)
    ap.add_argument("--time-budget-min", type=float, default=80.0,
                    help="wall-clock training budget; the LR/margin schedule follows elapsed/budget")
    ap.add_argument("--steps", type=int, default=0, help="if > 0: fixed number of steps (deterministic schedule)")
    ap.add_argument("--eval-every-min", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="torch device for training, e.g. cuda")
    ap.add_argument("--procs", type=int, default=2, help="processes for data prep")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--n-libri-cal", type=int, default=30)
    ap.add_argument("--n-cal-per-set", type=int, default=40,
                    help="speakers of each of data.CAL_FROM_SETS held out of training for calibration")
    ap.add_argument("--skip-train", action="store_true", help="only calibrate/export/evaluate a checkpoint")
    ap.add_argument("--checkpoint", default="best.pt", help="checkpoint under train/work/ to export")
    ap.add_argument("--model-version", default="0.1.0")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    seed_all(a.seed)
    os.makedirs(WORK, exist_ok=True)
    t = time.time()
    train_items, calib_items, test_items, waves_cal, waves_te = data.prepare(a.procs, a.seed, a.n_libri_cal,
                                                                               a.n_cal_per_set)
    log(f"prep done in {time.time() - t:.0f}s: train {len(train_items)} files, calib {len(calib_items)}, "
        f"test {len(test_items)}")
    calib_labels_f = [l for _, l in calib_items]
    calib_feats, calib_labels, _ = ev.calibration_segments(waves_cal, calib_labels_f)
    t = time.time()
    if not a.skip_train:
        train(a, calib_feats, calib_labels)
    train_minutes = (time.time() - t) / 60
    finalize(a, train_items, calib_items, calib_feats, calib_labels, test_items, waves_te, train_minutes)


if __name__ == "__main__":
    main()
