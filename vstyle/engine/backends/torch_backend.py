"""PyTorch eager (optionally torch.compile) backend on CPU or CUDA."""

from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import Tensor

from ...models import SCTNet
from ..device import torch_dtype


class TorchBackend:
    """Runs :class:`SCTNet` in inference mode with the chosen dtype and memory format."""

    name = "torch"

    def __init__(self, model: SCTNet, device: torch.device, precision: str = "fp32",
                 channels_last: bool = False, compile: bool = False) -> None:
        self.device = device
        self.precision = precision
        self.dtype = dtype = torch_dtype(precision)
        self.channels_last = channels_last
        if dtype != torch.float32:
            # A private copy: the engine keeps encoding styles with the fp32 model it holds.
            model = copy.deepcopy(model)
        model = model.to(device=device, dtype=dtype).eval()
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        # On CUDA, compile with CUDA graphs ("reduce-overhead"): one graph per input shape, which
        # video keeps fixed. Graph outputs live in static buffers, hence the clone in run().
        # On the CPU, inductor's "freezing" folds the weights in and pre-packs them for oneDNN.
        self._graphs = compile and device.type == "cuda"
        self._fn: Callable[..., Tensor]
        if not compile:
            self._fn = model
        elif self._graphs:
            self._fn = torch.compile(model, dynamic=True, mode="reduce-overhead")
        else:
            self._fn = torch.compile(model, dynamic=True, options={"freezing": True})

    @torch.inference_mode()
    def run(self, x: Tensor, sigma: Tensor, mean: Tensor, alpha: float) -> Tensor:
        x = x.to(self.dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        out = self._fn(x, sigma.to(self.dtype), mean.to(self.dtype), alpha)
        return out.clone() if self._graphs else out
