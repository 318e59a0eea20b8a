#!/usr/bin/env python3
"""Reference fbank features for tests/dsp/fbank_test.cc, from torchaudio.compliance.kaldi.fbank.

usage: gen_fbank_ref.py OUT_DIR      (run by tests/data/make_fixtures.sh)

Writes into OUT_DIR/fbank/:
  <wave>.f32              the waveform as torchaudio decodes it (mono float32, raw little-endian);
                          the C++ test reads this file, so decoders cannot hide or fake a difference
  <wave>.<config>.f32     torchaudio's features, row-major [num_frames x dim] float32, computed
                          as models see them: float32 waveform in, float32 arithmetic
  <wave>.<config>.exact.f32  the same call on the waveform cast to float64 (stored as float32):
                          the exact Kaldi result, free of torchaudio's float32 rounding, which on
                          bins 90+ dB below a frame's energy reaches 1e-2 in the log domain
  index.json              {"waves": [{name, file, num_samples, sample_rate_hz, source}],
                           "cases": [{wave, config_name, config: FbankConfig fields, file,
                                      exact_file, num_frames, dim}]}
Speech comes from ../shared/speech next to the repository (VOXGATE_SPEECH_DIR overrides).
"""

import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi

REPO = Path(__file__).resolve().parents[2]
SPEECH = Path(os.environ.get("VOXGATE_SPEECH_DIR", REPO.parent / "shared" / "speech"))

# FbankConfig defaults (src/dsp/fbank.h), except mean_normalize: the plain Kaldi pipeline is the
# base case and mean normalisation is a case of its own.
BASE = dict(sample_rate_hz=16000, num_mel_bins=80, frame_length_ms=25.0, frame_shift_ms=10.0,
            preemphasis=0.97, remove_dc_offset=True, window_type="povey", low_freq_hz=20.0,
            high_freq_hz=0.0, snip_edges=True, scale_to_int16=False, mean_normalize=False)

# name -> overrides of BASE. Every FbankConfig field differs from BASE in at least one case.
CONFIGS = {
    "kaldi": {},
    "cmn": dict(mean_normalize=True),  # 3D-Speaker: kaldi fbank, then minus the per-bin mean
    "wespeaker": dict(scale_to_int16=True, mean_normalize=True),
    "int16": dict(scale_to_int16=True),
    "hamming": dict(window_type="hamming"),
    "hanning": dict(window_type="hanning"),
    "rectangular": dict(window_type="rectangular"),
    "blackman": dict(window_type="blackman"),
    "band": dict(num_mel_bins=64, low_freq_hz=100.0, high_freq_hz=-400.0),
    "band_abs": dict(num_mel_bins=40, low_freq_hz=0.0, high_freq_hz=7000.0),
    "long_frame": dict(frame_length_ms=40.0, frame_shift_ms=15.0),  # 640 samples -> 1024-point FFT
    "plain": dict(preemphasis=0.0, remove_dc_offset=False),
    "no_snip": dict(snip_edges=False),
}
CONFIGS_8K = {"8k": dict(sample_rate_hz=8000, num_mel_bins=40)}  # 200 samples -> 256-point FFT
# Configurations run on every wave; the others run on the first wave only (keeps fixtures small).
ALL_WAVES = ("kaldi", "cmn", "wespeaker")


def torch_fbank(wave: torch.Tensor, cfg: dict) -> torch.Tensor:
    x = wave.unsqueeze(0)
    if cfg["scale_to_int16"]:
        x = x * (1 << 15)
    feats = kaldi.fbank(x, num_mel_bins=cfg["num_mel_bins"], frame_length=cfg["frame_length_ms"],
                        frame_shift=cfg["frame_shift_ms"], dither=0.0,
                        sample_frequency=float(cfg["sample_rate_hz"]),
                        window_type=cfg["window_type"],
                        preemphasis_coefficient=cfg["preemphasis"],
                        remove_dc_offset=cfg["remove_dc_offset"], low_freq=cfg["low_freq_hz"],
                        high_freq=cfg["high_freq_hz"], snip_edges=cfg["snip_edges"],
                        use_energy=False, use_log_fbank=True, use_power=True,
                        round_to_power_of_two=True)
    if cfg["mean_normalize"]:
        feats = feats - feats.mean(dim=0, keepdim=True)
    return feats


def load(path: Path) -> torch.Tensor:
    wave, sr = torchaudio.load(str(path))
    if sr != 16000:
        sys.exit(f"gen_fbank_ref: {path} is {sr} Hz, want 16000")
    return wave.mean(dim=0) if wave.shape[0] > 1 else wave[0]


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1]) / "fbank"
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)

    libri = SPEECH / "resemblyzer-librispeech" / "librispeech_test-other"
    aishell = SPEECH / "aishell1-sample" / "AISHELL_Sample_data"
    if not libri.is_dir() or not aishell.is_dir():
        sys.exit(f"gen_fbank_ref: real speech not found under {SPEECH} (set VOXGATE_SPEECH_DIR)")
    speakers = sorted(p for p in libri.iterdir() if p.is_dir())[:3]
    sources = [sorted(s.glob("*.flac"))[0] for s in speakers]
    sources.append(sorted(aishell.glob("*.wav"))[0])

    waves = {}  # name -> (tensor, sample rate, source description)
    for src in sources:
        waves[src.stem] = (load(src), 16000, str(src.relative_to(SPEECH)))
    first = sources[-1].stem  # the Mandarin utterance carries the per-option cases
    w16 = waves[first][0]
    # Edge cases cut from the middle of real speech: one sample short of a frame, exactly one.
    mid = w16.shape[0] // 2
    waves["short_399"] = (w16[mid:mid + 399].clone(), 16000, f"{first}[{mid}:+399]")
    waves["short_400"] = (w16[mid:mid + 400].clone(), 16000, f"{first}[{mid}:+400]")
    w8 = torchaudio.functional.resample(w16, 16000, 8000)
    waves[first + "_8k"] = (w8, 8000, f"{first} resampled to 8 kHz by torchaudio")

    cases = []

    def add(wave_name: str, config_name: str, overrides: dict) -> None:
        cfg = dict(BASE, **overrides)
        wave = waves[wave_name][0]
        window_size = int(cfg["sample_rate_hz"] * cfg["frame_length_ms"] * 0.001)
        if wave.shape[0] < window_size and cfg["snip_edges"]:
            # torchaudio asserts on a clip shorter than one window; Kaldi (and we) give no frames.
            feats = exact = torch.zeros(0, cfg["num_mel_bins"])
        else:
            feats = torch_fbank(wave, cfg)
            exact = torch_fbank(wave.double(), cfg)
            assert feats.dtype == torch.float32 and exact.dtype == torch.float64
        file = f"{wave_name}.{config_name}.f32"
        exact_file = f"{wave_name}.{config_name}.exact.f32"
        feats.contiguous().numpy().astype("<f4").tofile(out / file)
        exact.contiguous().numpy().astype("<f4").tofile(out / exact_file)
        cases.append(dict(wave=wave_name, config_name=config_name, config=cfg, file=file,
                          exact_file=exact_file, num_frames=int(feats.shape[0]),
                          dim=int(feats.shape[1])))

    for name in waves:
        if name.startswith("short_") or name.endswith("_8k"):
            continue
        for config_name, overrides in CONFIGS.items():
            if config_name in ALL_WAVES or name == first:
                add(name, config_name, overrides)
    for short in ("short_399", "short_400"):
        add(short, "kaldi", CONFIGS["kaldi"])
        add(short, "cmn", CONFIGS["cmn"])
    for config_name, overrides in CONFIGS_8K.items():
        add(first + "_8k", config_name, overrides)

    index_waves = []
    for name, (wave, sr, source) in waves.items():
        file = f"{name}.f32"
        wave.contiguous().numpy().astype("<f4").tofile(out / file)
        index_waves.append(dict(name=name, file=file, num_samples=int(wave.shape[0]),
                                sample_rate_hz=sr, source=source))
    index = dict(generator="tests/data/gen_fbank_ref.py",
                 torch=torch.__version__, torchaudio=torchaudio.__version__,
                 waves=index_waves, cases=cases)
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    total = sum(c["num_frames"] for c in cases)
    print(f"gen_fbank_ref: {len(index_waves)} waves, {len(cases)} cases, {total} frames -> {out}")


if __name__ == "__main__":
    main()
