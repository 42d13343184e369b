"""Gatys-style optimisation of one still: the output's pixels are optimised, coarse to fine.

Every stage works at a fraction of the final size: its start is the previous stage's best image
scaled up (the first stage's is the initial image scaled down), its content and style images are
scaled by the same factor so strokes keep their size relative to the picture. The best image of the
current stage (lowest loss seen) is kept, so an interrupted run still has a result
(:meth:`StillOptimizer.best`). Which optimiser and which stages are the default was measured: see
``docs/optimize.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import VStyleError
from ..train.lossnets import LossLayers, LossNet
from .objective import StillObjective

OPTIMIZERS = ("adam", "lbfgs")
#: Smallest working side: the content tap (stride 8) still has a few positions.
MIN_SIDE = 32
#: L-BFGS loss evaluations per outer step; the jitter shift changes between outer steps only.
LBFGS_INNER = 10

StepCallback = Callable[[int, float], None]  # (evaluations done in total, loss of the last one)


@dataclass(frozen=True)
class OptimizeSettings:
    """How to optimise a still (defaults measured in ``docs/optimize.md``)."""

    steps: int = 200
    optimizer: str = "adam"
    lr: float = 0.02
    #: Fractions of the final size, coarse to fine, and each one's share of ``steps``.
    scales: tuple[float, ...] = (0.5, 1.0)
    shares: tuple[float, ...] = (0.8, 0.2)
    style_weight: float = 30.0
    content_weight: float = 1.0
    jitter: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise VStyleError(f"unknown optimiser {self.optimizer!r}; use {', '.join(OPTIMIZERS)}")
        if self.steps < 0:
            raise VStyleError(f"steps must be at least 0, got {self.steps}")
        if not self.scales or len(self.scales) != len(self.shares) or any(not 0 < s <= 1 for s in self.scales):
            raise VStyleError("scales must be fractions in (0, 1], one share of the steps each")

    def stage_steps(self) -> list[int]:
        """Steps of each stage: ``steps`` split by ``shares`` (the last stage takes the rounding)."""
        total = float(sum(self.shares))
        counts = [int(self.steps * s / total) for s in self.shares[:-1]]
        return [*counts, self.steps - sum(counts)]


def image_tensor(image: "object", device: torch.device) -> Tensor:
    """H×W×3 uint8 numpy → 1×3×H×W float [0, 1] on ``device``."""
    import numpy as np

    arr = np.ascontiguousarray(image)
    return torch.from_numpy(arr).to(device).permute(2, 0, 1)[None].float().div_(255.0)


def resize_tensor(x: Tensor, size: tuple[int, int]) -> Tensor:
    """N×C×H×W to (H, W): area-like (antialiased) when shrinking, bicubic when growing, clamped."""
    if tuple(x.shape[-2:]) == size:
        return x
    shrink = size[0] * size[1] < x.shape[-2] * x.shape[-1]
    mode = "bilinear" if shrink else "bicubic"
    return F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=shrink).clamp_(0, 1)


def _scaled(size: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(MIN_SIDE, round(size[0] * scale)), max(MIN_SIDE, round(size[1] * scale))


class StillOptimizer:
    """Optimise one image: ``content`` (1×3×H×W [0, 1]) is kept, ``styles`` (1×3×h×w each, at the scale
    wanted against the full-size content) are matched with blend ``weights``; ``init`` (default: the
    content) is where the pixels start."""

    def __init__(self, loss_net: LossNet, layers: LossLayers, content: Tensor, styles: Sequence[Tensor],
                 weights: Sequence[float], settings: OptimizeSettings, *, alpha: float = 1.0,
                 init: Tensor | None = None) -> None:
        if init is not None and init.shape != content.shape:
            raise ValueError(f"init is {tuple(init.shape)}, content {tuple(content.shape)}")
        self.net, self.layers = loss_net, layers
        self.content, self.styles, self.weights = content, list(styles), list(weights)
        self.settings, self.alpha = settings, alpha
        self.size: tuple[int, int] = (int(content.shape[2]), int(content.shape[3]))
        self._best = (init if init is not None else content).detach().clone()
        self._best_loss = float("inf")
        self.done = 0
        self.history: list[float] = []  # loss of every evaluation, in order

    def best(self) -> Tensor:
        """The best image so far, at the final size, in [0, 1] (the initial image before any step)."""
        return resize_tensor(self._best, self.size)

    @property
    def best_loss(self) -> float:
        """Loss of :meth:`best` at its stage's size (inf before the first step)."""
        return self._best_loss

    def run(self, on_step: StepCallback = lambda n, loss: None) -> Tensor:
        """Run every stage; returns :meth:`best`. A KeyboardInterrupt leaves :meth:`best` usable."""
        gen = torch.Generator().manual_seed(self.settings.seed)
        for scale, steps in zip(self.settings.scales, self.settings.stage_steps()):
            if steps:
                self._stage(scale, steps, gen, on_step)
        return self.best()

    def _objective(self, size: tuple[int, int], scale: float) -> StillObjective:
        content = resize_tensor(self.content, size)
        styles = [resize_tensor(s, _scaled((s.shape[-2], s.shape[-1]), scale)) if scale < 1 else s for s in self.styles]
        st = self.settings
        return StillObjective(self.net, self.layers, content, styles, self.weights, alpha=self.alpha,
                              style_weight=st.style_weight, content_weight=st.content_weight, jitter=st.jitter)

    def _keep(self, x: Tensor, loss: float, on_step: StepCallback) -> None:
        self.done += 1
        self.history.append(loss)
        if loss < self._best_loss:
            self._best_loss = loss
            self._best = x.detach().clamp(0, 1).clone()
        on_step(self.done, loss)

    def _stage(self, scale: float, steps: int, gen: torch.Generator, on_step: StepCallback) -> None:
        size = _scaled(self.size, scale)
        objective = self._objective(size, scale)
        x = resize_tensor(self._best, size).clone(memory_format=torch.contiguous_format).requires_grad_(True)
        self._best_loss = float("inf")  # losses of another size do not compare
        if self.settings.optimizer == "adam":
            opt = torch.optim.Adam([x], lr=self.settings.lr)
            for _ in range(steps):
                opt.zero_grad(set_to_none=True)
                loss, _ = objective(x, objective.random_shift(gen))
                loss.backward()
                self._keep(x, float(loss.detach()), on_step)
                opt.step()
                with torch.no_grad():
                    x.clamp_(0, 1)
            return
        # No line search, so every iteration is exactly one loss evaluation and the budget is exact;
        # the shift stays fixed within an outer step, whose iterations build on one function.
        lbfgs = torch.optim.LBFGS([x], lr=1.0, history_size=20, tolerance_grad=0.0, tolerance_change=0.0)
        left = steps
        while left > 0:
            shift, inner = objective.random_shift(gen), min(LBFGS_INNER, left)
            lbfgs.param_groups[0].update(max_iter=inner, max_eval=inner)

            def closure(shift: tuple[int, int] = shift) -> Tensor:
                lbfgs.zero_grad(set_to_none=True)
                loss, _ = objective(x, shift)
                loss.backward()
                self._keep(x, float(loss.detach()), on_step)
                return loss

            lbfgs.step(closure)
            left -= inner
            with torch.no_grad():
                x.clamp_(0, 1)
