"""Device and precision choice, with one-line errors for impossible combinations."""

from __future__ import annotations

import torch

from ..errors import VStyleError

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cuda[:N]`` must really be available."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise VStyleError("--device cuda requested but no CUDA GPU is visible to torch "
                              f"(torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'})")
        return torch.device(name)
    raise VStyleError(f"unknown device {name!r}; use auto, cpu or cuda")


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """fp32 everywhere, fp16 on CUDA only, bf16 on CPU and CUDA."""
    if name not in PRECISIONS:
        raise VStyleError(f"unknown precision {name!r}; use {', '.join(PRECISIONS)}")
    if name == "fp16" and device.type != "cuda":
        raise VStyleError("fp16 needs a CUDA device; on the CPU use bf16 or fp32")
    return PRECISIONS[name]
