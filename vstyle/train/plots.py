"""Pictures of a run: the loss curves (PNG, matplotlib Agg) and content | style | output sample grids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..io.atomic import replace_on_success
from .log import read_log

GRID_ROWS = 4
GAP = 2


def plot_losses(csv_path: Path, png_path: Path, smooth: float = 0.9) -> bool:
    """One panel per loss column (raw and exponentially smoothed, log scale). False if nothing to plot."""
    columns, rows = read_log(csv_path)
    skip = {"step", "lr", "elapsed_s"}
    names = [c for c in columns if c not in skip]
    if not rows or not names:
        return False
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    data = np.asarray(rows, dtype=np.float64)
    steps = data[:, columns.index("step")]
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 2.2 * len(names)), sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        y = data[:, columns.index(name)]
        ax.plot(steps, y, lw=0.6, alpha=0.35, color="tab:blue")
        ax.plot(steps, _ema(y, smooth), lw=1.4, color="tab:blue")
        ax.set_ylabel(name)
        if np.all(y[np.isfinite(y)] > 0):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    try:
        with replace_on_success(png_path) as tmp:
            fig.savefig(tmp, dpi=90, format="png")
    finally:
        plt.close(fig)
    return True


def _ema(y: np.ndarray, k: float) -> np.ndarray:
    out = np.empty_like(y)
    acc = np.nan
    for i, v in enumerate(y):
        acc = v if not np.isfinite(acc) else k * acc + (1 - k) * v
        out[i] = acc
    return out


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """N×3×H×W float in [0, 1] (clamped) → N×H×W×3 uint8."""
    return (x.detach().float().clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def sample_grid(content: torch.Tensor, style: torch.Tensor, output: torch.Tensor, rows: int = GRID_ROWS) -> np.ndarray:
    """Up to ``rows`` rows of content | style | output (white gaps), as H×W×3 uint8."""
    n = min(rows, content.shape[0])
    cols = [to_uint8(t[:n]) for t in (content, style, output)]
    h, w = cols[0].shape[1:3]
    grid = np.full((n * h + (n - 1) * GAP, 3 * w + 2 * GAP, 3), 255, dtype=np.uint8)
    for r in range(n):
        for c, images in enumerate(cols):
            grid[r * (h + GAP): r * (h + GAP) + h, c * (w + GAP): c * (w + GAP) + w] = images[r]
    return grid
