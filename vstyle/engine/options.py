"""Engine option names (devices, precisions, backends) and the one check of what runs where.

Torch-free, so the CLI lists the choices and rejects impossible combinations without loading torch;
the engine, ``bench``, ``train`` and ``eval`` ask the same functions.
"""

from __future__ import annotations

import re

from ..errors import VStyleError
from ..flags import flag

#: ``--device`` values; ``cuda:N`` picks one GPU.
DEVICES = ("auto", "cpu", "cuda")
#: Precisions torch computes in (training, the torch backend).
TORCH_PRECISIONS = ("fp32", "fp16", "bf16")
#: Compute precisions by name; the name travels down to the backend that needs a dtype. ``int8``:
#: int8 convolutions in a quantised graph (OpenVINO); frames stay float32.
PRECISIONS = (*TORCH_PRECISIONS, "int8")
#: Inference backends; ``auto`` picks one for the device and precision (see :mod:`vstyle.engine.auto`).
BACKENDS = ("auto", "torch", "ort", "trt", "openvino")
#: Precisions an exported graph (ONNX file, TensorRT engine) is stored in.
GRAPH_PRECISIONS = ("fp32", "fp16")

_CUDA_INDEX = re.compile(r"^cuda:\d+$")


def check_device(name: str) -> str:
    """``name`` if it is a device name (``auto``, ``cpu``, ``cuda`` or ``cuda:N``), else a one-line error."""
    if name in DEVICES or _CUDA_INDEX.match(name):
        return name
    raise VStyleError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N")


def check_precision(name: str) -> str:
    """``name`` if it is a known precision, else a one-line error."""
    if name not in PRECISIONS:
        raise VStyleError(f"unknown precision {name!r}; use {', '.join(PRECISIONS)}")
    return name


def unsupported(precision: str, device_type: str, backend: str = "torch") -> str | None:
    """Why ``precision`` cannot run on a ``device_type`` (``cpu`` or ``cuda``) device with ``backend``;
    None when it can. The one place these rules live (optional runtimes being installed is the
    backends' own check)."""
    if precision == "fp16" and device_type != "cuda":
        return "fp16 needs CUDA"
    if precision == "int8" and backend != "openvino":
        return f"int8 runs with OpenVINO only ({flag('backend')} openvino, on the CPU)"
    if backend == "openvino" and device_type != "cpu":
        return "OpenVINO runs on the CPU only"
    if backend == "ort" and precision not in GRAPH_PRECISIONS:
        return "ONNX Runtime path is fp32/fp16"
    if backend == "trt":
        if precision not in GRAPH_PRECISIONS:
            return "TensorRT engines are built fp32/fp16"
        if device_type != "cuda":
            return "TensorRT runs on CUDA only"
    return None
