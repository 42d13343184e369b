"""Device and precision resolution for torch; the names and rules live in :mod:`.options`."""

from __future__ import annotations

import torch

from ..errors import VStyleError
from ..flags import flag
from .options import BACKENDS, check_device, check_precision, unsupported

_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cuda[:N]`` must really be available."""
    name = check_device(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise VStyleError(f"{flag('device')} {name} requested but no CUDA GPU is visible to torch "
                          f"(torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'})")
    device = torch.device(name)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise VStyleError(f"{flag('device')} {name}: torch sees {torch.cuda.device_count()} CUDA GPU(s)")
    return device


def torch_dtype(precision: str) -> torch.dtype:
    """The torch dtype of a precision name (for the backends that compute in torch)."""
    return _DTYPES[check_precision(precision)]


def resolve_precision(name: str, device: torch.device, backend: str = "torch") -> str:
    """``name`` if it can run on ``device`` with ``backend``, else a one-line error. The error names the
    backend only where another one could run it here: ``auto`` or a command without ``--backend``
    (training) may have chosen it, so it is named as a backend, not as a flag the user passed."""
    reason = unsupported(check_precision(name), device.type, backend)
    if reason is not None:
        hint = "; on the CPU use bf16 or fp32" if name == "fp16" and device.type != "cuda" else ""
        others = any(unsupported(name, device.type, b) is None for b in BACKENDS if b not in ("auto", backend))
        which = f" with the {backend} backend" if others else ""
        raise VStyleError(f"{flag('precision')} {name}{which} on {device}: {reason}{hint}")
    return name
