"""Contrastive Coherence Preserving Loss (CCPL, reference §3).

Per feature level: pick ``num_centres`` random interior positions (shared by the whole batch and
by the generated and content images), form the 8 centre − neighbour difference vectors of each,
project them with a small trainable head (C → C → C/4, L2-normalised) and ask every generated
vector to match the content vector in the same slot against the other slots of the same image
(InfoNCE with temperature τ). The key (content) branch is detached.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: (dy, dx) of the 8 neighbours, in the reference order; slot k·num_centres + j = direction k of centre j.
NEIGHBOURS: tuple[tuple[int, int], ...] = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
NORM_EPS = 1e-7


def projector(channels: int) -> nn.Sequential:
    """The CCPL head for a C-channel level: Linear C→C, ReLU, Linear C→C/4 (default PyTorch init)."""
    return nn.Sequential(nn.Linear(channels, channels), nn.ReLU(), nn.Linear(channels, max(1, channels // 4)))


def sample_centres(height: int, width: int, num: int, generator: torch.Generator | None = None,
                   device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """``num`` distinct, uniformly random interior positions (rows, cols) of an H×W map.

    Interior means 1 ≤ y ≤ H−2 and 1 ≤ x ≤ W−2, so all 8 neighbours exist without padding.
    """
    interior = (height - 2) * (width - 2)
    if height < 3 or width < 3 or interior < num:
        raise ValueError(f"CCPL needs feature maps with at least {num} interior positions, got {height}×{width}; "
                         "use larger crops or fewer centres")
    pick = torch.randperm(interior, generator=generator)[:num]
    ys = pick // (width - 2) + 1
    xs = pick % (width - 2) + 1
    return ys.to(device), xs.to(device)


def difference_vectors(feat: Tensor, ys: Tensor, xs: Tensor) -> Tensor:
    """B×(8·N)×C vectors f(centre) − f(neighbour) for the N centres (direction-major slots)."""
    width = feat.shape[3]
    centres = ys * width + xs
    offsets = torch.tensor([dy * width + dx for dy, dx in NEIGHBOURS], device=centres.device)
    neighbours = (offsets[:, None] + centres[None, :]).reshape(-1)
    # One gather for all 9·N positions: its backward allocates one zero map instead of nine.
    picked = feat.flatten(2)[:, :, torch.cat([centres, neighbours])]
    n = centres.numel()
    return (picked[:, :, :n].repeat(1, 1, len(NEIGHBOURS)) - picked[:, :, n:]).transpose(1, 2)


def _project(head: nn.Module, vectors: Tensor) -> Tensor:
    v = head(vectors).float()
    return v / (v.norm(dim=-1, keepdim=True) + NORM_EPS)


def info_nce(q: Tensor, k: Tensor, tau: float) -> Tensor:
    """Mean cross-entropy of each query against its own key, with the other keys of the same image as negatives.

    ``q``, ``k``: B×S×D unit vectors. Row i of the S×S similarity matrix holds the positive on the
    diagonal and the S−1 negatives elsewhere, which is the reference's [positive, negatives] layout.
    """
    b, s, _ = q.shape
    logits = torch.bmm(q, k.transpose(1, 2)) / tau
    target = torch.arange(s, device=q.device).repeat(b)
    return F.cross_entropy(logits.reshape(b * s, s), target)


class CCPL(nn.Module):
    """The CCPL term over several feature levels; owns one trainable projector head per level.

    ``layers`` names the levels (keys of ``heads``), ``channels`` their widths.
    """

    def __init__(self, layers: Sequence[str], channels: Sequence[int], num_centres: int = 8,
                 tau: float = 0.07) -> None:
        super().__init__()
        if len(layers) != len(channels) or not layers:
            raise ValueError("CCPL needs one channel count per layer and at least one layer")
        if tau <= 0:
            raise ValueError("CCPL temperature must be positive")
        self.layers = tuple(layers)
        self.heads = nn.ModuleDict({name: projector(c) for name, c in zip(layers, channels)})
        self.num_centres = num_centres
        self.tau = tau

    def forward(self, generated: Sequence[Tensor], content: Sequence[Tensor],
                generator: torch.Generator | None = None) -> Tensor:
        """Sum over levels of the per-level InfoNCE loss; features are listed in ``layers`` order."""
        total = generated[0].new_zeros((), dtype=torch.float32)
        for name, fg, fc in zip(self.layers, generated, content):
            head = self.heads[name]
            ys, xs = sample_centres(fg.shape[2], fg.shape[3], self.num_centres, generator, fg.device)
            q = _project(head, difference_vectors(fg, ys, xs))
            with torch.no_grad():
                k = _project(head, difference_vectors(fc, ys, xs))
            total = total + info_nce(q, k, self.tau)
        return total
