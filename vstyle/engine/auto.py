"""``--backend auto``: the fastest available backend for a device (see README "Backends")."""

from __future__ import annotations

import torch


def pick_backend(device: torch.device, engine_path: str | None) -> str:
    """TensorRT when an engine file is given on CUDA; otherwise torch eager."""
    if device.type == "cuda" and engine_path:
        return "trt"
    return "torch"
