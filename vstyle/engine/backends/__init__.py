"""Inference backends: one ``run`` call on a padded batch, whatever executes it."""

from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor


class Backend(Protocol):
    """Runs the per-frame graph: padded frames + style code → stylised frames (unclamped)."""

    name: str
    device: torch.device
    #: What really runs (a TensorRT engine's own, fixed when it was built).
    precision: str

    def run(self, x: Tensor, sigma: Tensor, mean: Tensor, alpha: float) -> Tensor:
        """``x``: N×3×H×W in [0, 1] on ``device``, H and W multiples of the model stride."""
        ...
