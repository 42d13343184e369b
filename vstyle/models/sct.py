"""Simple Covariance Transformation (reference §1.3), with the style side split out for caching."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

EPS = 1e-5


def _chain(specs: Sequence[tuple[int, int, int]]) -> nn.Sequential:
    """Convs (kernel, in, out) with padding 0 and a ReLU between consecutive convs (not after the last)."""
    layers: list[nn.Module] = []
    for i, (k, cin, cout) in enumerate(specs):
        if i:
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(cin, cout, k))
    return nn.Sequential(*layers)


def instance_norm(x: Tensor) -> Tensor:
    """(x − μ)/sqrt(unbiased var + 1e-5) per sample and channel, computed in fp32 (relu4_1 overflows fp16).

    Two passes (the mean, then the sum of squares of x − μ) rather than ``Tensor.var``: the same value
    to float rounding, about ten times faster on the CPU (``var``'s kernel took 2 ms of a 512² frame's
    45 in eager mode on a 2-core EPYC, 2026-12-06), and x − μ is needed anyway.
    """
    xf = x.float()
    d = xf - xf.mean(dim=(2, 3), keepdim=True)
    var = d.square().sum(dim=(2, 3), keepdim=True) / (d.shape[2] * d.shape[3] - 1)
    return (d / torch.sqrt(var + EPS)).to(x.dtype)


class SCT(nn.Module):
    """cnet / snet / uncompress around one feature level with C channels.

    ``cnet`` and ``snet`` are lists of (kernel, in, out); the official artistic and photo
    layouts come from :meth:`artistic` and :meth:`photo`. Keys match the official files.
    """

    def __init__(self, cnet: Sequence[tuple[int, int, int]], snet: Sequence[tuple[int, int, int]]) -> None:
        super().__init__()
        self.channels = cnet[0][1]
        self.rank = cnet[-1][2]
        if snet[0][1] != self.channels or snet[-1][2] != self.rank:
            raise ValueError("cnet and snet must map the same C channels to the same rank")
        self.cnet = _chain(cnet)
        self.snet = _chain(snet)
        self.uncompress = nn.Conv2d(self.rank, self.channels, 1)
        # snet's valid convs shrink the map by this many pixels per side pair.
        self.style_shrink = sum(k - 1 for k, _, _ in snet)

    @classmethod
    def artistic(cls) -> "SCT":
        """relu4_1, C = 512 (14 official tensors)."""
        return cls([(1, 512, 256), (1, 256, 128), (1, 128, 32)], [(3, 512, 256), (3, 256, 128), (1, 128, 32)])

    @classmethod
    def photo(cls) -> "SCT":
        """relu3_1, C = 256 (10 official tensors)."""
        return cls([(1, 256, 128), (1, 128, 32)], [(3, 256, 128), (1, 128, 32)])

    @classmethod
    def sized(cls, channels: int, rank: int = 32) -> "SCT":
        """The artistic layout scaled to ``channels`` (used by the mobile architecture)."""
        h1, h2 = max(rank, channels // 2), max(rank, channels // 4)
        return cls([(1, channels, h1), (1, h1, h2), (1, h2, rank)], [(3, channels, h1), (3, h1, h2), (1, h2, rank)])

    def style_stats(self, fs: Tensor) -> tuple[Tensor, Tensor]:
        """Σ (B×K×K, divided by M, uncentred) and μs (B×C) of style features ``fs``."""
        mean = fs.mean(dim=(2, 3))
        s = self.snet(fs - mean[:, :, None, None]).flatten(2).float()
        sigma = torch.bmm(s, s.transpose(1, 2)) / s.shape[2]
        return sigma.to(fs.dtype), mean

    def transform(self, fc: Tensor, sigma: Tensor, mean: Tensor) -> Tensor:
        """uncompress(Σ · cnet(IN(fc))) + μs; ``sigma`` is K×K or B×K×K, ``mean`` is C or B×C."""
        c = self.cnet(instance_norm(fc))
        b, k, h, w = c.shape
        g = torch.matmul(sigma.to(c.dtype), c.reshape(b, k, h * w)).reshape(b, k, h, w)
        return self.uncompress(g) + mean.to(c.dtype).reshape(-1, self.channels, 1, 1)

    def forward(self, fc: Tensor, fs: Tensor) -> Tensor:
        """The official two-input SCT (batch sizes of content and style must match)."""
        sigma, mean = self.style_stats(fs)
        return self.transform(fc, sigma, mean)
