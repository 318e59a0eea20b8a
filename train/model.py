"""ECAPA-TDNN-lite speaker encoder (SE-Res2 blocks, multi-layer aggregation, attentive statistics pooling)
and the AAM-softmax head. Input [B, T, 80] global-mean-normalised fbank, output [B, 192].

Differences from full ECAPA-TDNN (C=512/1024) to fit CPU training and a <= 15 ms / 3 s single-thread budget:
fewer channels, and the first conv has stride 2 (20-ms frame rate inside the network), which halves the cost
of everything after it.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Conv1d(nn.Conv1d):
    """nn.Conv1d whose 1x1 case runs as a matmul in PyTorch (about 2x faster forward+backward on CPU with this
    torch build); identical parameters and maths, and a plain Conv node in the ONNX export."""

    def forward(self, x):
        if self.kernel_size[0] == 1 and self.stride[0] == 1 and not torch.onnx.is_in_onnx_export():
            y = torch.matmul(self.weight.squeeze(2), x)
            return y if self.bias is None else y + self.bias[:, None]
        return super().forward(x)


class SE(nn.Module):
    def __init__(self, c, bottleneck=128):
        super().__init__()
        self.fc1 = Conv1d(c, bottleneck, 1)
        self.fc2 = Conv1d(bottleneck, c, 1)

    def forward(self, x):
        s = x.mean(dim=2, keepdim=True)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))


class ConvReluBn(nn.Module):
    def __init__(self, cin, cout, k=1, dilation=1, stride=1):
        super().__init__()
        self.conv = Conv1d(cin, cout, k, stride=stride, dilation=dilation, padding=dilation * (k // 2))
        self.bn = nn.BatchNorm1d(cout)

    def forward(self, x):
        return self.bn(F.relu(self.conv(x)))


class Res2(nn.Module):
    def __init__(self, c, k, dilation, scale):
        super().__init__()
        self.scale = scale
        w = c // scale
        self.convs = nn.ModuleList([ConvReluBn(w, w, k, dilation) for _ in range(scale - 1)])

    def forward(self, x):
        xs = torch.chunk(x, self.scale, dim=1)
        out = [xs[0]]
        y = None
        for i, conv in enumerate(self.convs):
            y = xs[i + 1] if i == 0 else xs[i + 1] + y
            y = conv(y)
            out.append(y)
        return torch.cat(out, dim=1)


class SERes2Block(nn.Module):
    def __init__(self, c, k, dilation, scale=8, se_bottleneck=128):
        super().__init__()
        self.block = nn.Sequential(ConvReluBn(c, c), Res2(c, k, dilation, scale), ConvReluBn(c, c),
                                   SE(c, se_bottleneck))

    def forward(self, x):
        return x + self.block(x)


class AttentiveStatsPool(nn.Module):
    """Channel- and context-dependent attentive statistics pooling (ECAPA)."""

    def __init__(self, c, att=128):
        super().__init__()
        self.att = nn.Sequential(Conv1d(3 * c, att, 1), nn.ReLU(), nn.BatchNorm1d(att), nn.Tanh(),
                                 Conv1d(att, c, 1))

    @staticmethod
    def _stats(x, w):
        mu = (x * w).sum(dim=2, keepdim=True)
        var = ((x * x) * w).sum(dim=2, keepdim=True) - mu * mu
        return mu, torch.sqrt(var.clamp(min=1e-5))

    def forward(self, x):
        mu = x.mean(dim=2, keepdim=True)
        sd = torch.sqrt(((x * x).mean(dim=2, keepdim=True) - mu * mu).clamp(min=1e-5))
        ctx = torch.cat([x, mu.expand_as(x), sd.expand_as(x)], dim=1)
        w = torch.softmax(self.att(ctx), dim=2)
        mu, sd = self._stats(x, w)
        return torch.cat([mu, sd], dim=1).squeeze(2)


class ECAPALite(nn.Module):
    def __init__(self, n_mels=80, channels=256, mfa=768, emb=192, stride=2, scale=8, dilations=(2, 3, 4)):
        super().__init__()
        self.front = ConvReluBn(n_mels, channels, 5, stride=stride)
        self.blocks = nn.ModuleList([SERes2Block(channels, 3, d, scale) for d in dilations])
        self.mfa = Conv1d(channels * len(dilations), mfa, 1)
        self.pool = AttentiveStatsPool(mfa)
        self.bn_pool = nn.BatchNorm1d(2 * mfa)
        self.fc = nn.Linear(2 * mfa, emb)
        self.bn_emb = nn.BatchNorm1d(emb)

    def forward(self, feature):  # [B, T, 80]
        x = self.front(feature.transpose(1, 2))
        outs = []
        for b in self.blocks:
            x = b(x)
            outs.append(x)
        x = F.relu(self.mfa(torch.cat(outs, dim=1)))
        x = self.bn_pool(self.pool(x))
        return self.bn_emb(self.fc(x))


class AAMSoftmax(nn.Module):
    def __init__(self, emb, n_classes, margin=0.2, scale=30.0):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_classes, emb))
        nn.init.xavier_normal_(self.weight, gain=1)
        self.margin, self.scale = margin, scale

    def forward(self, x, label, margin=None):
        m = self.margin if margin is None else margin
        cos = F.linear(F.normalize(x), F.normalize(self.weight)).clamp(-1 + 1e-7, 1 - 1e-7)
        sin = torch.sqrt(1.0 - cos * cos)
        phi = cos * math.cos(m) - sin * math.sin(m)
        # keep the target logit monotonic past theta + m > pi (standard ArcFace fallback)
        phi = torch.where(cos > math.cos(math.pi - m), phi, cos - math.sin(math.pi - m) * m)
        onehot = F.one_hot(label, cos.shape[1]).to(cos.dtype)
        logits = self.scale * (onehot * phi + (1 - onehot) * cos)
        return F.cross_entropy(logits, label), (cos.argmax(dim=1) == label).float().mean()
