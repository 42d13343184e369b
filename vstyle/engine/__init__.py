"""One engine interface over several backends (torch, ONNX Runtime, TensorRT)."""

from .device import resolve_device, resolve_precision
from .engine import Engine, pad_to_multiple

__all__ = ["Engine", "pad_to_multiple", "resolve_device", "resolve_precision"]
