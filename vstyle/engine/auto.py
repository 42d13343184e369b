"""``--backend auto``: the fastest backend available for a device, from measurements (README "Backends").

CPU (2-core Xeon Cascade Lake, AVX-512 without bf16, torch 2.14.1, onnxruntime 1.32, art model,
``vstyle bench``, interleaved runs): at 512×512, eager channels-last 4.85 s/frame, ONNX Runtime
4.77 s, torch.compile 4.05 s, eager NCHW 6.60 s, bf16 15 s. ONNX Runtime's lead over eager
channels-last is within run-to-run noise on that shared machine (and it used more CPU time:
3.75 s vs 3.53 s), while it first needs a one-off ONNX export (15–30 s) and 1.7× the memory;
torch.compile spends ~3 minutes compiling in every new process for no CPU-time gain. So the CPU
default is eager PyTorch in channels-last layout, the fastest option that starts at once.

CUDA: a TensorRT engine when one is given (``--engine``), else eager PyTorch; building an engine
takes minutes, so ``auto`` never starts a build by itself.
"""

from __future__ import annotations

import torch


def pick_backend(device: torch.device, engine_path: str | None) -> str:
    """``trt`` for CUDA with an engine file, otherwise ``torch`` (channels-last eager)."""
    if device.type == "cuda" and engine_path:
        return "trt"
    return "torch"
