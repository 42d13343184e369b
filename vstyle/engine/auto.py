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

OpenVINO (``pip install 'vstyle[openvino]'``), measured side by side with these on the shipped
sctnet-mobile at 512², 2 threads (README "CPU real time", ``scripts/bench_cpu_realtime.py``): in
fp32 it does the same CPU work per frame as eager channels-last (96 vs 96 ms) and its wall time
ranged from 0.78× to 1.15× eager's over four runs on the loaded machine, after a one-off export and
compile; so fp32 stays on eager PyTorch. Its int8 model does 0.62× the CPU work (1.3× faster in
wall time), and int8 runs nowhere else: ``--precision int8`` means OpenVINO.

CUDA: a TensorRT engine when one is given (``--engine``), else eager PyTorch; building an engine
takes minutes, so ``auto`` never starts a build by itself.
"""

from __future__ import annotations

import torch


def pick_backend(device: torch.device, engine_path: str | None, precision: str = "fp32") -> str:
    """``trt`` for CUDA with an engine file; ``openvino`` for int8 (CPU); otherwise ``torch`` (channels-last eager)."""
    if device.type == "cuda" and engine_path:
        return "trt"
    if precision == "int8":
        return "openvino"
    return "torch"
