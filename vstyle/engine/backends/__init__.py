"""Inference backends: one ``run`` call on a padded batch, whatever executes it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
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


@runtime_checkable
class FrameBackend(Backend, Protocol):
    """A backend that also takes whole uint8 frames: scaling to [0, 1], padding (as
    :func:`vstyle.engine.engine.pad_plan` says), cropping and rounding back to uint8 all run inside its
    graph, so the host makes no float copies of the frames (on a 2-core CPU those took a sixth of the
    frame time)."""

    def run_frames(self, frames: np.ndarray, sigma: Tensor, mean: Tensor, alpha: float) -> np.ndarray:
        """``frames``: N×H×W×3 uint8 RGB, any size; returns the stylised N×H×W×3 uint8 frames."""
        ...
