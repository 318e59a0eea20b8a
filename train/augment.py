"""Waveform augmentation for a phone/voice gateway (numpy + torchaudio + ffmpeg CLI only).

All functions take float32 mono 16 kHz waveforms in [-1, 1] and a numpy Generator.
"""
import subprocess

import numpy as np
import torch
import torchaudio.functional as AF

SR = 16000


# --------------------------------------------------------------------------- G.711 (ITU-T, as in g711.c)
_SEG_UEND = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_SEG_AEND = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def _to_pcm16(x):
    return np.clip(np.round(np.asarray(x, np.float64) * 32768.0), -32768, 32767).astype(np.int32)


def ulaw_encode(x):
    pcm = _to_pcm16(x) >> 2  # 14-bit
    neg = pcm < 0
    mask = np.where(neg, 0x7F, 0xFF)
    mag = np.where(neg, -pcm, pcm)
    mag = np.minimum(mag, 8159) + 0x21
    seg = np.searchsorted(_SEG_UEND, mag, side="left")
    u = (np.minimum(seg, 7) << 4) | ((mag >> (np.minimum(seg, 7) + 1)) & 0xF)
    u = np.where(seg >= 8, 0x7F, u)
    return ((u ^ mask) & 0xFF).astype(np.uint8)


def ulaw_decode(code):
    u = (~code.astype(np.int32)) & 0xFF
    t = ((u & 0x0F) << 3) + 0x84
    t = t << ((u & 0x70) >> 4)
    pcm = np.where(u & 0x80, 0x84 - t, t - 0x84)
    return (pcm / 32768.0).astype(np.float32)


def alaw_encode(x):
    pcm = _to_pcm16(x) >> 3  # 13-bit
    neg = pcm < 0
    mask = np.where(neg, 0x55, 0xD5)
    mag = np.where(neg, -pcm - 1, pcm)
    seg = np.searchsorted(_SEG_AEND, mag, side="left")
    s = np.minimum(seg, 7)
    a = (s << 4) | np.where(s < 2, (mag >> 1) & 0xF, (mag >> s) & 0xF)
    a = np.where(seg >= 8, 0x7F, a)
    return ((a ^ mask) & 0xFF).astype(np.uint8)


def alaw_decode(code):
    a = code.astype(np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    pcm = np.where(a & 0x80, t, -t)
    return (pcm / 32768.0).astype(np.float32)


def resample(x, orig, new):
    if orig == new:
        return x.astype(np.float32)
    return AF.resample(torch.from_numpy(np.ascontiguousarray(x, np.float32)), orig, new).numpy()


def opus_roundtrip(x8, bitrate_k, sr=8000):
    """Encode/decode through libopus via the ffmpeg CLI (narrowband at 8 kHz)."""
    enc = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "f32le", "-ar", str(sr), "-ac", "1", "-i", "-",
         "-c:a", "libopus", "-b:a", f"{bitrate_k}k", "-application", "voip", "-f", "ogg", "-"],
        input=np.ascontiguousarray(x8, np.float32).tobytes(), capture_output=True, check=True).stdout
    dec = subprocess.run(["ffmpeg", "-v", "error", "-i", "-", "-f", "f32le", "-ac", "1", "-ar", str(sr), "-"],
                         input=enc, capture_output=True, check=True).stdout
    y = np.frombuffer(dec, np.float32)
    if len(y) >= len(x8):
        return y[:len(x8)].copy()
    return np.pad(y, (0, len(x8) - len(y)))


def packet_loss(x, rng, sr, rate, frame_ms=20):
    n = sr * frame_ms // 1000
    y = x.copy()
    nf = len(x) // n
    lost = np.nonzero(rng.random(nf) < rate)[0]
    repeat = rng.random() < 0.5  # zero-fill or repeat-previous concealment
    for i in lost:
        if repeat and i > 0:
            y[i * n:(i + 1) * n] = y[(i - 1) * n:i * n]
        else:
            y[i * n:(i + 1) * n] = 0.0
    return y


def telephone(x, rng, codec=None, loss=True, p_opus=0.0):
    """16 kHz -> 8 kHz narrowband, optional 300 Hz high-pass, G.711 u/A-law (or low-rate Opus), packet loss,
    -> 16 kHz."""
    y = resample(x, SR, 8000)
    if rng.random() < 0.7:
        y = AF.highpass_biquad(torch.from_numpy(y), 8000, 300.0).numpy()
    peak = np.abs(y).max() + 1e-9
    y = y * (10 ** (rng.uniform(-20, -3) / 20) / peak)  # line level
    if codec is None:
        r = rng.random()
        codec = "opus" if r < p_opus else ("ulaw" if r < p_opus + (1 - p_opus) / 2 else "alaw")
    if codec == "ulaw":
        y = ulaw_decode(ulaw_encode(y))
    elif codec == "alaw":
        y = alaw_decode(alaw_encode(y))
    elif codec == "opus":
        y = opus_roundtrip(y, int(rng.choice([6, 8, 10, 12])))
    if loss:
        y = packet_loss(y, rng, 8000, rng.uniform(0.01, 0.05))
    return resample(y, 8000, SR)


def g711_channel(x, law="ulaw"):
    """Deterministic telephone channel for evaluation: 8 kHz, G.711, back to 16 kHz (no loss)."""
    y = resample(x, SR, 8000)
    y = ulaw_decode(ulaw_encode(y)) if law == "ulaw" else alaw_decode(alaw_encode(y))
    return resample(y, 8000, SR)


# --------------------------------------------------------------------------- noise / reverb / speed
def colored_noise(n, rng, kind):
    w = rng.standard_normal(n).astype(np.float32)
    if kind == "white":
        return w
    spec = np.fft.rfft(w)
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec = spec / (np.sqrt(f) if kind == "pink" else f)  # pink 1/f power, brown 1/f^2 power
    y = np.fft.irfft(spec, n).astype(np.float32)
    return y / (y.std() + 1e-9)


def add_noise(x, noise, snr_db):
    px = np.mean(x ** 2) + 1e-10
    pn = np.mean(noise ** 2) + 1e-10
    return x + noise * np.sqrt(px / (pn * 10 ** (snr_db / 10)))


def babble(n, rng, pool, k=None):
    k = k or int(rng.integers(3, 7))
    out = np.zeros(n, np.float32)
    for _ in range(k):
        s = pool[int(rng.integers(len(pool)))]
        if len(s) < n:
            s = np.tile(s, n // len(s) + 1)
        o = int(rng.integers(len(s) - n + 1))
        seg = s[o:o + n]
        out += seg / (seg.std() + 1e-9)
    return out


def synth_rir(rng, rt60):
    n = int(SR * min(1.2 * rt60, 1.0))
    t = np.arange(n) / SR
    h = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60)  # -60 dB at rt60
    pre = int(rng.integers(0, int(0.004 * SR)))
    h[:pre] = 0.0
    h[pre] = max(abs(h).max(), 1.0) * rng.uniform(1.0, 3.0)  # direct path
    return (h / np.sqrt(np.sum(h ** 2))).astype(np.float32)


def reverb(x, rng):
    h = synth_rir(rng, rng.uniform(0.2, 0.8))
    n = len(x) + len(h) - 1
    nf = 1 << (n - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, nf) * np.fft.rfft(h, nf), nf)[:len(x)]
    return y.astype(np.float32)


def speed(x, factor):
    """Speed perturbation (tempo + pitch), Kaldi style: resample by 1/factor."""
    if factor == 1.0:
        return x
    orig, new = {0.9: (9, 10), 1.1: (11, 10)}[factor]
    return resample(x, orig, new)  # 0.9 -> more samples (slower, lower pitch), 1.1 -> fewer


def noisy(x, rng, pool, snr=(5.0, 20.0), p_reverb=0.7):
    y = reverb(x, rng) if rng.random() < p_reverb else x
    kind = rng.choice(["white", "pink", "brown", "babble", "babble"])
    nz = babble(len(y), rng, pool) if kind == "babble" else colored_noise(len(y), rng, kind)
    return add_noise(y, nz, rng.uniform(*snr)).astype(np.float32)


def volume(x, rng, lo_db=-12.0, hi_db=6.0):
    y = x * 10 ** (rng.uniform(lo_db, hi_db) / 20)
    peak = np.abs(y).max()
    if peak > 0.99:  # avoid hard clipping
        y = y * (0.99 / peak)
    return y.astype(np.float32)
