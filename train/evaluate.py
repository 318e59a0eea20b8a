"""Embedding extraction, verification metrics (EER, minDCF), calibration and the dev/test evaluation."""
import itertools

import numpy as np
import torch

import augment as A
from common import SR, features


@torch.no_grad()
def embed(model, feats, batch=32):
    """feats: list of [T, 80] global-mean-normalised arrays -> L2-normalised [N, 192] embeddings."""
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    out = [None] * len(feats)
    by_len = {}
    for i, f in enumerate(feats):
        by_len.setdefault(len(f), []).append(i)
    for _, idx in sorted(by_len.items()):
        for k in range(0, len(idx), batch):
            ii = idx[k:k + batch]
            e = model(torch.from_numpy(np.stack([feats[i] for i in ii]).astype(np.float32)).to(dev))
            e = torch.nn.functional.normalize(e, dim=1).cpu().numpy()
            for j, i in enumerate(ii):
                out[i] = e[j]
    model.train(was_training)
    return np.stack(out)


def trials(labels, groups=None):
    """All unordered pairs; returns (i, j, target). groups: optional id per item (pairs inside a group kept)."""
    i, j = np.array(list(itertools.combinations(range(len(labels)), 2))).T
    lab = np.asarray(labels)
    return i, j, lab[i] == lab[j]


def eer(scores, target):
    """Equal error rate and the score threshold at the EER point."""
    order = np.argsort(scores)
    s, t = scores[order], target[order]
    n_t, n_n = t.sum(), (~t).sum()
    # threshold just above s[k]: misses = targets at or below k, false alarms = non-targets above k
    fnr = np.concatenate([[0.0], np.cumsum(t) / n_t])
    fpr = np.concatenate([[1.0], 1.0 - np.cumsum(~t) / n_n])
    k = int(np.argmin(np.abs(fnr - fpr)))
    e = (fnr[k] + fpr[k]) / 2
    if k == 0:
        thr = s[0] - 1e-6
    elif k == len(s):
        thr = s[-1] + 1e-6
    else:
        thr = (s[k - 1] + s[k]) / 2
    return float(e), float(thr)


def min_dcf(scores, target, p_target=0.01, c_miss=1.0, c_fa=1.0):
    order = np.argsort(scores)
    t = target[order]
    n_t, n_n = t.sum(), (~t).sum()
    fnr = np.concatenate([[0.0], np.cumsum(t) / n_t])
    fpr = np.concatenate([[1.0], 1.0 - np.cumsum(~t) / n_n])
    dcf = c_miss * p_target * fnr + c_fa * (1 - p_target) * fpr
    return float(dcf.min() / min(c_miss * p_target, c_fa * (1 - p_target)))


def score_set(emb, labels):
    i, j, tgt = trials(labels)
    s = np.sum(emb[i] * emb[j], axis=1)
    return s, tgt


# --------------------------------------------------------------------------- calibration set
def calibration_segments(waves, labels, seg_s=3.0):
    """~3-s segments: each file is cut into floor(dur/3 s) segments (shorter files are one segment)."""
    feats, labs, srcs = [], [], []
    n = int(seg_s * SR)
    for k, (w, l) in enumerate(zip(waves, labels)):
        m = max(1, len(w) // n)
        for s in range(m):
            seg = w[s * n:(s + 1) * n] if len(w) >= n else w
            feats.append(features(seg))
            labs.append(l)
            srcs.append(k)
    return feats, labs, srcs


def calibrate(model, cal_feats, cal_labels):
    s, t = score_set(embed(model, cal_feats), cal_labels)
    e, thr = eer(s, t)
    return {"eer": e, "threshold": thr, "min_dcf_p0.01": min_dcf(s, t), "n_segments": len(cal_feats),
            "n_speakers": len(set(cal_labels)), "n_target_trials": int(t.sum()), "n_nontarget_trials": int((~t).sum())}


# --------------------------------------------------------------------------- dev/test (librispeech test-other)
def speech_start(w, frame=320):
    """First frame of speech by a simple energy VAD (20-ms frames, 35 dB below the loudest frame)."""
    n = len(w) // frame
    e = 10 * np.log10(np.mean(w[:n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    on = np.nonzero(e > max(e.max() - 35.0, -60.0))[0]
    return int(on[0]) * frame if len(on) else 0


def test_conditions(waves):
    cond = {}
    cond["clean_16k"] = [features(w) for w in waves]
    cond["g711_ulaw_8k"] = [features(A.g711_channel(w, "ulaw")) for w in waves]
    cut = []
    for w in waves:
        s = speech_start(w)
        cut.append(features(w[s:s + 2 * SR]))
    cond["first_2s_of_speech"] = cut
    return cond


def evaluate(model, conds, labels, threshold=None):
    res = {}
    for name, feats in conds.items():
        s, t = score_set(embed(model, feats), labels)
        e, thr = eer(s, t)
        r = {"eer": e, "min_dcf_p0.01": min_dcf(s, t), "eer_threshold": thr, "n_target": int(t.sum()),
             "n_nontarget": int((~t).sum())}
        if threshold is not None:
            r["fnr_at_cal_threshold"] = float(np.mean(s[t] < threshold))
            r["fpr_at_cal_threshold"] = float(np.mean(s[~t] >= threshold))
        res[name] = r
    return res
