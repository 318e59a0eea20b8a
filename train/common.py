"""Shared constants and the serving-exact feature front end."""
import os
import random

import numpy as np
import torch
import torchaudio

SR = 16000
N_MELS = 80
EMB_DIM = 192

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEECH = os.path.normpath(os.path.join(REPO, "..", "shared", "speech"))
WORK = os.path.join(REPO, "train", "work")


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fbank(wav: np.ndarray) -> np.ndarray:
    """Raw 80-dim Kaldi fbank of a float waveform in [-1, 1] at 16 kHz (NOT mean-normalised).

    Identical arguments to the C++ engine. Frames are independent, so a crop of this matrix equals the
    fbank of the corresponding waveform crop; mean normalisation is applied per crop/utterance later.
    """
    w = torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32))
    if w.numel() < 400:  # kaldi needs at least one 25-ms frame
        w = torch.nn.functional.pad(w, (0, 400 - w.numel()))
    f = torchaudio.compliance.kaldi.fbank(
        w[None], num_mel_bins=N_MELS, frame_length=25, frame_shift=10, dither=0.0,
        sample_frequency=SR, window_type="povey")
    return f.numpy()


def global_mean(feat: np.ndarray) -> np.ndarray:
    """3D-Speaker 'global-mean' normalisation: subtract the per-bin mean over frames."""
    feat = np.asarray(feat, dtype=np.float32)
    return feat - feat.mean(axis=0, keepdims=True)


def features(wav: np.ndarray) -> np.ndarray:
    """What the serving engine feeds the model for one utterance: [T, 80] float32."""
    return global_mean(fbank(wav))
