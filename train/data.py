"""Data listing (speaker-label rules from the SOURCES.md files), decoding and the precomputed feature cache.

Cache (train/work/cache/, git-ignored):
  waves_<split>.pkl      decoded float32 16 kHz waveforms (decoded once with the ffmpeg CLI)
  feats_train.npy        all raw fbank frames (float16) of every training segment x augmentation version
  index_train.npz        offsets/lengths/class/version/segment for each block of feats_train.npy
"""
import glob
import multiprocessing as mp
import os
import pickle
import random
import subprocess
import time

import numpy as np
import torch

import augment as A
from common import SPEECH, SR, WORK, fbank

CACHE = os.path.join(WORK, "cache")
LIBRI_TRAIN = "resemblyzer-librispeech/librispeech_train-clean-100"
LIBRI_TEST = "resemblyzer-librispeech/librispeech_test-other"
TRAIN_SETS = ["speechocean762", "commonvoice-zh-CN", "commonvoice-multilingual", "commonvoice-fa"]
# Augmented versions computed once per training segment. "speed0.9" and "speed1.1" are speed-perturbed copies
# that count as extra speaker classes (Kaldi/WeSpeaker practice); drop them for a quicker run.
VERSIONS = ["clean", "telephone", "noisy_reverb", "speed0.9", "speed1.1"]
# Training-pool speakers held out for calibration (security levels, LLR): speakers with at least
# CAL_MIN_FILES files, drawn with the run's seed. More impostor trials than the dev-free sets alone give.
CAL_FROM_SETS = ["speechocean762", "commonvoice-zh-CN"]
CAL_MIN_FILES = 4
LIBRI_SEG_S = 3.5  # librispeech_train-clean-100 has one ~14-s file per speaker: chop it into segments


def _rel(p):
    return os.path.relpath(p, SPEECH)


def list_sets(n_libri_cal=30, seed=1234, n_cal_per_set=40):
    """Return (train, calib, test) lists of (relative path, speaker label)."""
    train, calib = [], []
    for s in TRAIN_SETS:
        spk_dirs = [d for d in sorted(glob.glob(os.path.join(SPEECH, "train", s, "*"))) if os.path.isdir(d)]
        held = set()
        if s in CAL_FROM_SETS and n_cal_per_set > 0:
            eligible = [d for d in spk_dirs if len(glob.glob(os.path.join(d, "*.opus"))) >= CAL_MIN_FILES]
            held = set(random.Random(seed).sample(eligible, n_cal_per_set))
        for spk_dir in spk_dirs:
            # Common Voice: the folder is the client_id (multilingual: across all languages in the folder)
            label = f"{s}/{os.path.basename(spk_dir)}"
            for f in sorted(glob.glob(os.path.join(spk_dir, "*.opus"))):
                (calib if spk_dir in held else train).append((_rel(f), label))
    libri = sorted(glob.glob(os.path.join(SPEECH, LIBRI_TRAIN, "*.flac")))
    spk_of = {f: os.path.basename(f).split("-")[0] for f in libri}
    spks = sorted(set(spk_of.values()))
    cal_spk = set(random.Random(seed).sample(spks, n_libri_cal))
    for f in libri:
        (calib if spk_of[f] in cal_spk else train).append((_rel(f), f"librispeech/{spk_of[f]}"))
    for f in sorted(glob.glob(os.path.join(SPEECH, "aishell1-sample", "AISHELL_Sample_data", "*.wav"))):
        calib.append((_rel(f), "aishell1/" + os.path.basename(f)[6:11]))
    for f in sorted(glob.glob(os.path.join(SPEECH, "sr-data", "**", "*.wav"), recursive=True)):
        b = os.path.basename(f)
        if "3d-speaker" in f:  # speakerN of the zh-cn and the en model page are different recordings/people
            parts = b.split("_")
            label = f"sr-data/3d-speaker-{parts[2]}-{parts[0]}"
        else:
            label = "sr-data/" + b.split("-")[0]
        calib.append((_rel(f), label))
    test = []
    for f in sorted(glob.glob(os.path.join(SPEECH, LIBRI_TEST, "*", "*.flac"))):
        test.append((_rel(f), "librispeech-test-other/" + os.path.basename(os.path.dirname(f))))
    assert not (set(p for p, _ in train) & set(p for p, _ in test + calib))
    return train, calib, test


def decode(rel):
    out = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", os.path.join(SPEECH, rel),
                          "-f", "f32le", "-ac", "1", "-ar", str(SR), "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, np.float32).copy()


def decoded(name, items, procs=2):
    path = os.path.join(CACHE, f"waves_{name}.pkl")
    if os.path.exists(path):
        with open(path, "rb") as fh:
            d = pickle.load(fh)
        if d["paths"] == [p for p, _ in items]:
            return d["waves"]
    os.makedirs(CACHE, exist_ok=True)
    t = time.time()
    with mp.Pool(procs) as pool:
        waves = pool.map(decode, [p for p, _ in items], chunksize=16)
    with open(path, "wb") as fh:
        pickle.dump({"paths": [p for p, _ in items], "waves": waves}, fh, protocol=4)
    print(f"decoded {len(items)} {name} files in {time.time() - t:.0f}s", flush=True)
    return waves


def segments(items, waves):
    """Training segments: every file is one segment, except librispeech files (chopped)."""
    segs = []  # (item index, start sample, end sample)
    for i, ((p, _), w) in enumerate(zip(items, waves)):
        if p.startswith(LIBRI_TRAIN):
            n = max(1, int(round(len(w) / (LIBRI_SEG_S * SR))))
            b = np.linspace(0, len(w), n + 1).astype(int)
            segs += [(i, b[k], b[k + 1]) for k in range(n)]
        else:
            segs.append((i, 0, len(w)))
    return segs


_POOL = None


def _init(pool):
    global _POOL
    _POOL = pool
    torch.set_num_threads(1)


def _augment_one(args):
    seg_id, w, seed = args
    rng = np.random.default_rng(seed)
    v = {}
    v["clean"] = w
    # low-rate Opus (2 ffmpeg processes, the costliest step) only in part of the telephone version
    v["telephone"] = A.telephone(A.volume(w, rng), rng, p_opus=0.1)
    # noise/reverb; a third of these also go through the telephone channel afterwards
    v["noisy_reverb"] = A.volume(A.noisy(w, rng, _POOL), rng)
    if rng.random() < 0.33:
        v["noisy_reverb"] = A.telephone(v["noisy_reverb"], rng)
    for f in ((0.9, 1.1) if "speed0.9" in VERSIONS else ()):
        ws = A.speed(w, f)
        r = rng.random()  # speed copies also see the channel mix
        if r < 0.35:
            ws = A.telephone(ws, rng)
        elif r < 0.6:
            ws = A.noisy(ws, rng, _POOL)
        v[f"speed{f}"] = A.volume(ws, rng)
    return seg_id, [fbank(v[k]).astype(np.float16) for k in VERSIONS]


def prepare(procs=2, seed=1234, n_libri_cal=30, n_cal_per_set=40):
    """Decode everything once and precompute fbank of clean + augmented versions. Cached."""
    train, calib, test = list_sets(n_libri_cal, seed, n_cal_per_set)
    idx_path = os.path.join(CACHE, "index_train.npz")
    feats_path = os.path.join(CACHE, "feats_train.npy")
    waves_tr = decoded("train", train, procs)
    waves_cal = decoded("calib", calib, procs)
    waves_te = decoded("test", test, procs)
    if os.path.exists(idx_path) and os.path.exists(feats_path):
        return train, calib, test, waves_cal, waves_te
    segs = segments(train, waves_tr)
    spk = sorted(set(l for _, l in train))
    spk_id = {s: k for k, s in enumerate(spk)}
    rng = np.random.default_rng(seed)
    babble_pool = []
    for k in rng.choice(len(segs), 400, replace=False):
        i, a, b = segs[k]
        babble_pool.append(waves_tr[i][a:b])
    jobs = [(k, waves_tr[i][a:b], seed * 100003 + k) for k, (i, a, b) in enumerate(segs)]
    t = time.time()
    results = [None] * len(segs)
    with mp.Pool(procs, initializer=_init, initargs=(babble_pool,)) as pool:
        for n, (k, fs) in enumerate(pool.imap_unordered(_augment_one, jobs, chunksize=8)):
            results[k] = fs
            if n % 1000 == 0:
                print(f"  augment+fbank {n}/{len(segs)} {time.time() - t:.0f}s", flush=True)
    offs, lens, cls, ver, seg = [], [], [], [], []
    total = sum(f.shape[0] for fs in results for f in fs)
    feats = np.lib.format.open_memmap(feats_path + ".tmp", mode="w+", dtype=np.float16, shape=(total, 80))
    o = 0
    n_spk = len(spk)
    for k, fs in enumerate(results):
        c = spk_id[train[segs[k][0]][1]]
        for v, f in enumerate(fs):
            feats[o:o + len(f)] = f
            offs.append(o)
            lens.append(len(f))
            # speed copies are new classes
            cls.append(c + n_spk * (1 if VERSIONS[v] == "speed0.9" else 2 if VERSIONS[v] == "speed1.1" else 0))
            ver.append(v)
            seg.append(k)
            o += len(f)
    feats.flush()
    del feats
    os.replace(feats_path + ".tmp", feats_path)
    np.savez(idx_path, offs=np.array(offs, np.int64), lens=np.array(lens, np.int32), cls=np.array(cls, np.int32),
             ver=np.array(ver, np.int8), seg=np.array(seg, np.int32), n_spk=n_spk, speakers=np.array(spk))
    print(f"features: {len(segs)} segments x {len(VERSIONS)} versions, {total} frames, "
          f"{n_spk} speakers ({max(cls) + 1} classes) in {time.time() - t:.0f}s", flush=True)
    return train, calib, test, waves_cal, waves_te


def load_train_feats():
    ix = dict(np.load(os.path.join(CACHE, "index_train.npz")))
    feats = np.load(os.path.join(CACHE, "feats_train.npy"), mmap_mode="r")
    return np.ascontiguousarray(feats), ix


def write_manifest(path, train):
    with open(path, "w") as fh:
        fh.write("path\tspeaker\n")
        for p, l in train:
            fh.write(f"{p}\t{l}\n")


if __name__ == "__main__":
    prepare()
