#!/usr/bin/python3
"""CAM++ (Wang et al., "CAM++: A Fast and Efficient Network for Speaker Verification Using Context-Aware
Masking", Interspeech 2023), the speaker-embedding network production users load from 3D-Speaker, and its
ONNX export exactly as 3D-Speaker / sherpa-onnx ship it.

Written for Voxgate from the paper and 3D-Speaker's published description; the module and parameter names
follow 3D-Speaker's so that one of its checkpoints (e.g. `campplus_cn_common.bin`) loads with
`load_state_dict` unchanged.

  front end (FCM): 2-D conv 3x3 (1->32), two stages of two 2-D residual blocks (the first of each stage halves
      the frequency axis), a 3x3 conv halving frequency again: 80 mel bins -> 32 x 10 = 320 channels
  TDNN 320->128, kernel 5, stride 2 (20-ms frames from here on)
  three densely connected blocks of CAM layers (12, 24 and 16 layers, growth 32, bottleneck 128, kernel 3,
      dilation 1, 2, 2), each followed by a transit layer halving the channels; a CAM layer masks its local
      TDNN output with a context vector from the utterance mean plus 100-frame segment means
  BN-ReLU, mean + standard-deviation pooling, 1x1 projection to the embedding, BN without affine.

  /usr/bin/python3 train/campplus.py --out campplus.onnx                 random weights (tests, benchmarks)
  /usr/bin/python3 train/campplus.py --checkpoint campplus_cn_common.bin --out campplus.onnx
"""
import argparse
import os
import sys
import warnings
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


def bn_relu(channels, affine=True):
    """BatchNorm1d then ReLU, named like 3D-Speaker's "batchnorm-relu" (parameters under .batchnorm)."""
    return nn.Sequential(OrderedDict([("batchnorm", nn.BatchNorm1d(channels, affine=affine)),
                                      ("relu", nn.ReLU())]))


class ResBlock2d(nn.Module):
    """Two 3x3 convolutions with a residual path; `stride` subsamples the frequency axis only."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=(stride, 1), padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=(stride, 1), bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class FrontEnd(nn.Module):
    """FCM: [B, F, T] -> [B, C * F/8, T]."""

    def __init__(self, feat_dim=80, channels=32, blocks=2):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.layer1 = nn.Sequential(*[ResBlock2d(channels, channels, 2 if i == 0 else 1) for i in range(blocks)])
        self.layer2 = nn.Sequential(*[ResBlock2d(channels, channels, 2 if i == 0 else 1) for i in range(blocks)])
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=(2, 1), padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.out_channels = channels * (feat_dim // 8)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
        y = F.relu(self.bn2(self.conv2(self.layer2(self.layer1(y)))))
        b, c, f, t = y.shape
        return y.reshape(b, c * f, t)


class Tdnn(nn.Module):
    def __init__(self, cin, cout, kernel, stride=1, dilation=1):
        super().__init__()
        self.linear = nn.Conv1d(cin, cout, kernel, stride=stride, padding=(kernel - 1) // 2 * dilation,
                                dilation=dilation, bias=False)
        self.nonlinear = bn_relu(cout)

    def forward(self, x):
        return self.nonlinear(self.linear(x))


class ContextMask(nn.Module):
    """The CAM layer: a local TDNN output scaled by a sigmoid mask computed from the utterance-level
    mean plus the mean of the 100-frame segment each frame falls in."""

    SEGMENT = 100

    def __init__(self, cin, cout, kernel, dilation, reduction=2):
        super().__init__()
        self.linear_local = nn.Conv1d(cin, cout, kernel, padding=(kernel - 1) // 2 * dilation, dilation=dilation,
                                      bias=False)
        self.linear1 = nn.Conv1d(cin, cin // reduction, 1)
        self.linear2 = nn.Conv1d(cin // reduction, cout, 1)

    def segment_means(self, x):
        n = self.SEGMENT
        means = F.avg_pool1d(x, kernel_size=n, stride=n, ceil_mode=True)  # [B, C, ceil(T / n)]
        b, c, s = means.shape
        return means.unsqueeze(-1).expand(b, c, s, n).reshape(b, c, s * n)[..., :x.shape[-1]]

    def forward(self, x):
        context = x.mean(-1, keepdim=True) + self.segment_means(x)
        mask = torch.sigmoid(self.linear2(F.relu(self.linear1(context))))
        return self.linear_local(x) * mask


class DenseCamLayer(nn.Module):
    def __init__(self, cin, growth, bottleneck, kernel, dilation):
        super().__init__()
        self.nonlinear1 = bn_relu(cin)
        self.linear1 = nn.Conv1d(cin, bottleneck, 1, bias=False)
        self.nonlinear2 = bn_relu(bottleneck)
        self.cam_layer = ContextMask(bottleneck, growth, kernel, dilation)

    def forward(self, x):
        return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))


class DenseCamBlock(nn.ModuleDict):
    """Each layer sees the block input and every earlier layer's output (DenseNet-style concatenation)."""

    def __init__(self, layers, cin, growth, bottleneck, kernel, dilation):
        super().__init__(OrderedDict(
            (f"tdnnd{i + 1}", DenseCamLayer(cin + i * growth, growth, bottleneck, kernel, dilation))
            for i in range(layers)))

    def forward(self, x):
        for layer in self.values():
            x = torch.cat([x, layer(x)], dim=1)
        return x


class Transit(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.nonlinear = bn_relu(cin)
        self.linear = nn.Conv1d(cin, cout, 1, bias=False)

    def forward(self, x):
        return self.linear(self.nonlinear(x))


class StatsPool(nn.Module):
    def forward(self, x):
        return torch.cat([x.mean(dim=-1), x.std(dim=-1, unbiased=True)], dim=-1)


class Embed(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.linear = nn.Conv1d(cin, cout, 1, bias=False)
        self.nonlinear = nn.Sequential(OrderedDict([("batchnorm", nn.BatchNorm1d(cout, affine=False))]))

    def forward(self, x):
        return self.nonlinear(self.linear(x.unsqueeze(-1)).squeeze(-1))


class CAMPPlus(nn.Module):
    """[B, T, 80] global-mean-normalised Kaldi fbank -> [B, embedding_size]."""

    def __init__(self, feat_dim=80, embedding_size=192, growth=32, bn_size=4, init_channels=128):
        super().__init__()
        self.head = FrontEnd(feat_dim)
        layers = [("tdnn", Tdnn(self.head.out_channels, init_channels, 5, stride=2))]
        c = init_channels
        for i, (n, dilation) in enumerate(zip((12, 24, 16), (1, 2, 2))):
            layers.append((f"block{i + 1}", DenseCamBlock(n, c, growth, bn_size * growth, 3, dilation)))
            c += n * growth
            layers.append((f"transit{i + 1}", Transit(c, c // 2)))
            c //= 2
        layers += [("out_nonlinear", bn_relu(c)), ("stats", StatsPool()), ("dense", Embed(2 * c, embedding_size))]
        self.xvector = nn.Sequential(OrderedDict(layers))
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.xvector(self.head(x.permute(0, 2, 1)))


def sherpa_metadata(embedding_size, language="Chinese", comment="", url=""):
    """The metadata_props sherpa-onnx's scripts/3dspeaker/export-onnx.py writes (and Voxgate reads)."""
    return {"framework": "3d-speaker", "language": language, "url": url, "comment": comment, "sample_rate": 16000,
            "output_dim": embedding_size, "normalize_samples": 1, "feature_normalize_type": "global-mean"}


def export(model, path, metadata):
    """torch.onnx.export as sherpa-onnx exports 3D-Speaker models: opset 13, input "x" [N, T, 80] with dynamic
    N and T, output "embedding". Its dynamic_axes name "embeddings" (not the output's name), so the output's
    declared batch size stays what tracing saw; that quirk is kept on purpose, runtimes meet it in the wild."""
    import onnx
    model.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.rand(1, 100, 80), path, opset_version=13, input_names=["x"],
                          output_names=["embedding"], dynamic_axes={"x": {0: "N", 1: "T"}, "embeddings": {0: "N"}})
    m = onnx.load(path)
    for k, v in metadata.items():
        p = m.metadata_props.add()
        p.key, p.value = k, str(v)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def kaldi_fbank(wave):
    """Features as 3D-Speaker computes them: Kaldi fbank of float samples in [-1, 1], global mean removed."""
    import torchaudio
    f = torchaudio.compliance.kaldi.fbank(wave.unsqueeze(0), num_mel_bins=80, frame_length=25, frame_shift=10,
                                          dither=0.0, sample_frequency=16000, window_type="povey")
    return f - f.mean(dim=0, keepdim=True)


def settle_batchnorm(model, batches):
    """Gives a randomly initialised network the BatchNorm statistics of real inputs (cumulative averages over
    `batches`), so that its activations stay in range and its embeddings depend on the input."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        for b in batches:
            model(b)
    model.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="ONNX file to write")
    ap.add_argument("--checkpoint", help="3D-Speaker CAM++ state dict (.bin/.pt); random weights without it")
    ap.add_argument("--embedding-size", type=int, default=192, help="192 (zh-cn common) or 512 (VoxCeleb)")
    ap.add_argument("--seed", type=int, default=20261207, help="seed of the random weights")
    ap.add_argument("--settle-wav", nargs="*", default=[],
                    help="16 kHz speech files whose fbank sets the random network's BatchNorm statistics")
    ap.add_argument("--language", default="Chinese")
    ap.add_argument("--comment", default="")
    ap.add_argument("--wav", help="also embed this 16 kHz file with PyTorch (torchaudio fbank) ...")
    ap.add_argument("--expected", help="... and write the embedding here as float32")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    model = CAMPPlus(embedding_size=a.embedding_size)
    if a.checkpoint:
        model.load_state_dict(torch.load(a.checkpoint, map_location="cpu"))
        comment = a.comment or f"3D-Speaker CAM++ from {os.path.basename(a.checkpoint)}"
    else:
        if a.settle_wav:
            import torchaudio
            # 2-s crops of every file, one batch (BatchNorm needs more than one row in training mode)
            crops = [c for w in a.settle_wav for c in kaldi_fbank(torchaudio.load(w)[0][0]).split(200)
                     if c.shape[0] == 200]
            settle_batchnorm(model, [torch.stack([c - c.mean(dim=0) for c in crops])])
        comment = a.comment or f"CAM++ with random weights (seed {a.seed}), not trained: for tests and benchmarks"
    model.eval()
    export(model, a.out, sherpa_metadata(a.embedding_size, a.language, comment))
    n = sum(p.numel() for p in model.parameters())
    print(f"{a.out}: CAM++ {n / 1e6:.2f}M parameters, {os.path.getsize(a.out) / 1e6:.1f} MB", file=sys.stderr)
    if a.wav and a.expected:
        import numpy as np
        import torchaudio
        wave, sr = torchaudio.load(a.wav)
        assert sr == 16000, f"{a.wav}: {sr} Hz, want 16000"
        with torch.no_grad():
            e = model(kaldi_fbank(wave[0]).unsqueeze(0))[0]
        np.ascontiguousarray(e.numpy(), dtype="<f4").tofile(a.expected)


if __name__ == "__main__":
    main()
