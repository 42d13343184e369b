"""``--backend auto``: the fastest backend available for a device, from measurements (README "Backends").

CPU, 2-core Xeon (Cascade Lake, AVX-512 without native bf16), torch 2.14.1, onnxruntime 1.32,
``OMP_WAIT_POLICY=PASSIVE``, ``vstyle bench`` with interleaved runs, ms per frame:

=====================  ==========  ==========  =================  ==========
variant                art 256²    art 512²    mobile 256²/512²   mobile 720p
=====================  ==========  ==========  =================  ==========
eager, channels-last   756         3710        124 / 197          781
eager, NCHW            1050        4657        206 / 400          1790
torch.compile          655         3271        –                  –
ONNX Runtime           941         3355        67 / 202           672
eager bf16             2681        11078       –                  –
=====================  ==========  ==========  =================  ==========

(sctnet-mobile columns measured before its 8-px inference margin, which adds about 4 % at 512².)

No backend wins everywhere: torch.compile leads the VGG model by 13 % at 512² but compiles for
minutes in each new process; ONNX Runtime leads at some sizes and trails at others, and first
needs a one-off ONNX export (15–40 s) and up to 1.7× the memory; bf16 is emulated on this CPU.
Eager PyTorch in channels-last layout is within those margins and starts at once, so it is the
CPU default (``--backend ort`` / ``--compile`` are there for long jobs).

OpenVINO (``pip install 'vstyle[openvino]'``), measured side by side with the same baselines
(README "CPU real time"), runs the shipped sctnet-mobile at 512² in fp32 well ahead of eager
channels-last, and int8 faster again. So on the CPU ``auto`` means OpenVINO for sctnet-mobile in
fp32 whenever OpenVINO and the ONNX exporter are installed (the first use of a model exports and
compiles it once, about half a minute, then both are cached), and ``--precision int8`` always
means OpenVINO. The VGG models were not measured under OpenVINO and stay on eager PyTorch.

CUDA: a TensorRT engine when one is given (``--engine``), else eager PyTorch; building an engine
takes minutes, so ``auto`` never starts a build by itself.
"""

from __future__ import annotations

import importlib.util

import torch

#: Architectures measured faster under OpenVINO than under eager PyTorch on the CPU (fp32).
OPENVINO_ARCHS = ("sctnet-mobile",)


def openvino_ready() -> bool:
    """Whether OpenVINO and the ONNX exporter it compiles from are importable."""
    return all(importlib.util.find_spec(m) is not None for m in ("openvino", "onnx", "onnxscript"))


def pick_backend(device: torch.device, engine_path: str | None, precision: str = "fp32", arch: str = "") -> str:
    """``trt`` for CUDA with an engine file; ``openvino`` for int8, and for fp32 ``arch`` in
    :data:`OPENVINO_ARCHS` on the CPU when :func:`openvino_ready`; otherwise ``torch`` (channels-last eager)."""
    if device.type == "cuda" and engine_path:
        return "trt"
    if device.type == "cpu" and (precision == "int8"
                                 or (precision == "fp32" and arch in OPENVINO_ARCHS and openvino_ready())):
        return "openvino"
    return "torch"
