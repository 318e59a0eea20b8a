#!/usr/bin/env python3
"""Tiny ONNX speaker-embedding models for the EmbeddingModel tests, written into OUT_DIR.

Each model is a real (if untrained) speaker-embedding network with a dynamic time axis:
fbank [1, T, F] -> Conv1d -> ReLU -> Conv1d -> ReLU -> mean+std statistics pooling -> Linear -> [1, D],
with random weights from a fixed seed. Files:

  tiny_sherpa.onnx          input "x" [1,T,80] -> "embedding" [1,32]; sherpa-onnx 3D-Speaker-style
                            metadata (framework, sample_rate, output_dim, normalize_samples=1,
                            feature_normalize_type=global-mean, language, comment, url) plus
                            Voxgate's "threshold"
  tiny_nometa.onnx          input "feature" [1,T,80] -> "output" [B?,16] with a symbolic output
                            dimension and no metadata at all
  tiny_wespeaker.onnx       input "feats" [1,T,80] -> "embs" [1,24]; WeSpeaker-style metadata
                            (framework=wespeaker, normalize_samples=0, sample_rate=8000, no
                            feature_normalize_type, no threshold)
  tiny_badmeta.onnx         as tiny_sherpa but with sample_rate="fast" (malformed metadata)
  tiny_rank2.onnx           input "x" [T,80] (wrong rank) -> [1,32]
  tiny_corrupt.onnx         random bytes
  tiny_features.f32         the fixed feature input, float32 [157 x 80]
  tiny_<name>.expected.f32  the PyTorch output for that input (float32 [D])
  tiny_<name>.sha256        sha256 hex of the .onnx file (to check ModelInfo::id independently)

Usage: gen_tiny_models.py OUT_DIR   (run by make_fixtures.sh with Debian's /usr/bin/python3)
"""

import hashlib
import os
import sys
import warnings

import numpy as np
import onnx
import torch

OPSET = 15
NUM_FRAMES = 157


class TinySpeakerNet(torch.nn.Module):
    def __init__(self, feat_dim: int, embed_dim: int, channels_first: bool = False):
        super().__init__()
        self.conv1 = torch.nn.Conv1d(feat_dim, 48, kernel_size=5, padding=2)
        self.conv2 = torch.nn.Conv1d(48, 64, kernel_size=3, padding=1, dilation=1)
        self.proj = torch.nn.Linear(128, embed_dim)
        self.rank2_input = channels_first

    def forward(self, x):
        if self.rank2_input:  # [T, F] -> [1, T, F]
            x = x.unsqueeze(0)
        h = x.transpose(1, 2)  # [1, F, T]
        h = torch.relu(self.conv1(h))
        h = torch.relu(self.conv2(h))
        mean = h.mean(dim=2)
        std = torch.sqrt(((h - mean.unsqueeze(2)) ** 2).mean(dim=2) + 1e-5)
        return self.proj(torch.cat([mean, std], dim=1))


def export(model, example, path, input_name, output_name, dynamic_axes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            path,
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=True,
        )


def set_metadata(path, metadata):
    m = onnx.load(path)
    del m.metadata_props[:]
    for key, value in metadata.items():
        p = m.metadata_props.add()
        p.key = key
        p.value = str(value)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def write_f32(path, array):
    np.ascontiguousarray(array, dtype="<f4").tofile(path)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(20240607)
    np.random.seed(20240607)

    features = np.random.randn(NUM_FRAMES, 80).astype(np.float32)
    write_f32(os.path.join(out, "tiny_features.f32"), features)
    x = torch.from_numpy(features).unsqueeze(0)  # [1, T, 80]

    specs = [
        # name, embed_dim, input, output, output dims dynamic, metadata
        ("sherpa", 32, "x", "embedding", False, {
            "framework": "3d-speaker",
            "sample_rate": 16000,
            "output_dim": 32,
            "normalize_samples": 1,
            "feature_normalize_type": "global-mean",
            "language": "English",
            "url": "https://example.invalid/tiny",
            "comment": "tiny random test model, not trained",
            "threshold": "0.42",
        }),
        ("nometa", 16, "feature", "output", True, None),
        ("wespeaker", 24, "feats", "embs", False, {
            "framework": "wespeaker",
            "sample_rate": 8000,
            "output_dim": 24,
            "normalize_samples": 0,
            "language": "Chinese",
            "comment": "tiny wespeaker-style test model",
        }),
    ]
    for name, dim, input_name, output_name, dynamic_out, metadata in specs:
        model = TinySpeakerNet(80, dim).eval()
        path = os.path.join(out, f"tiny_{name}.onnx")
        axes = {input_name: {1: "T"}}
        if dynamic_out:
            axes[output_name] = {0: "B", 1: "D"}
        export(model, x, path, input_name, output_name, axes)
        if metadata is not None:
            set_metadata(path, metadata)
        with torch.no_grad():
            expected = model(x).numpy().reshape(-1)
        write_f32(os.path.join(out, f"tiny_{name}.expected.f32"), expected)
        with open(os.path.join(out, f"tiny_{name}.sha256"), "w") as f:
            f.write(sha256(path) + "\n")
        if name == "sherpa":
            bad = os.path.join(out, "tiny_badmeta.onnx")
            export(model, x, bad, input_name, output_name, axes)
            set_metadata(bad, dict(metadata, sample_rate="fast"))

    rank2 = TinySpeakerNet(80, 32, channels_first=True).eval()
    export(rank2, x[0], os.path.join(out, "tiny_rank2.onnx"), "x", "embedding", {"x": {0: "T"}})

    rng = np.random.default_rng(7)
    with open(os.path.join(out, "tiny_corrupt.onnx"), "wb") as f:
        f.write(rng.integers(0, 256, size=20000, dtype=np.uint8).tobytes())


if __name__ == "__main__":
    main()
