"""One engine interface over several backends (torch, ONNX Runtime, TensorRT, OpenVINO).

Names resolve lazily so that :mod:`vstyle.engine.options` (what the CLI lists) never loads torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .device import resolve_device, resolve_precision
    from .engine import Engine
    from .padding import pad_to_multiple

__all__ = ["Engine", "pad_to_multiple", "resolve_device", "resolve_precision"]
_HOMES = {"Engine": ".engine", "pad_to_multiple": ".padding", "resolve_device": ".device",
          "resolve_precision": ".device"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
