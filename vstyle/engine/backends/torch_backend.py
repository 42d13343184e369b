"""PyTorch eager (optionally torch.compile) backend on CPU or CUDA."""

from __future__ import annotations

import torch
from torch import Tensor

from ...models import SCTNet


class TorchBackend:
    """Runs :class:`SCTNet` in inference mode with the chosen dtype and memory format."""

    name = "torch"

    def __init__(self, model: SCTNet, device: torch.device, dtype: torch.dtype = torch.float32,
                 channels_last: bool = False, compile: bool = False) -> None:
        self.device = device
        self.dtype = dtype
        self.channels_last = channels_last
        model = model.to(device=device, dtype=dtype).eval()
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self._fn = torch.compile(model, dynamic=True) if compile else model

    @torch.inference_mode()
    def run(self, x: Tensor, sigma: Tensor, mean: Tensor, alpha: float) -> Tensor:
        x = x.to(self.dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self._fn(x, sigma.to(self.dtype), mean.to(self.dtype), alpha)
