"""The per-frame graph that ONNX Runtime and TensorRT run: frames + style code → stylised frames.

The style enters as inputs (Σ, μ, α) rather than as constants, so one exported file serves every
style. The boundary is always float32 whatever the compute precision: runtimes then bind the same
buffers for fp32 and fp16 files, and the casts sit inside the graph where the model code already
keeps instance normalisation in fp32 (relu4_1 statistics overflow fp16).
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from ..models import SCTNet

#: Graph input names, in call order, and the output name (shared by the ONNX file and the engine).
INPUT_NAMES = ("frames", "sigma", "mean", "alpha")
OUTPUT_NAME = "stylized"
#: Largest side the exported dynamic dimensions allow (TensorRT engines narrow this with a profile).
MAX_SIDE = 8192
MAX_BATCH = 256


class FrameGraph(nn.Module):
    """``forward(frames N×3×H×W, sigma K×K, mean C, alpha (1,)) -> N×3×H×W``, all float32.

    H and W must be multiples of ``model.multiple`` (the engine pads frames before calling).
    ``dtype`` is the compute precision; the wrapped model is a private copy in that dtype.
    """

    def __init__(self, model: SCTNet, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.net = copy.deepcopy(model).to(device="cpu", dtype=dtype).eval()
        self.dtype = dtype

    def forward(self, frames: Tensor, sigma: Tensor, mean: Tensor, alpha: Tensor) -> Tensor:
        dt = self.dtype
        # alpha is a tensor here, so SCTNet always blends: α·t + (1−α)·fc equals t at α = 1.
        out = self.net(frames.to(dt), sigma.to(dt), mean.to(dt), alpha.to(dt))
        return out.float()


def style_dims(model: SCTNet) -> tuple[int, int]:
    """(K, C): the style code's rank (Σ is K×K) and channel count (μ has C entries)."""
    return int(model.sct.rank), int(model.sct.channels)


def example_inputs(model: SCTNet, batch: int = 2, height_cells: int = 5, width_cells: int = 7) -> tuple[Tensor, ...]:
    """Tracing inputs on the CPU. Batch, height and width differ from each other and from 0/1 so the
    exporter cannot specialise or alias any of the dynamic dimensions."""
    k, c = style_dims(model)
    m = model.multiple
    frames = torch.rand(batch, 3, height_cells * m, width_cells * m)
    return frames, torch.rand(k, k) * 0.1, torch.rand(c), torch.ones(1)


def input_specs(model: SCTNet) -> dict[str, list[int | str]]:
    """Shapes of the graph inputs and output (symbolic names for the dynamic dimensions)."""
    k, c = style_dims(model)
    return {"frames": ["batch", 3, "height", "width"], "sigma": [k, k], "mean": [c], "alpha": [1],
            OUTPUT_NAME: ["batch", 3, "height", "width"]}
