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
Eager PyTorch in channels-last layout was within those margins on that loaded machine and starts at
once, so it was the CPU default for every job until the quiet measurements below; it still is for
short ones (``--compile`` is there for long jobs on the VGG model).

OpenVINO (``pip install 'vstyle[openvino]'``), on the quiet machine (2026-12-03, AMD EPYC 2 cores
with AVX-512 VNNI, shipped sctnet-mobile, 2 threads, 8 interleaved rounds,
``scripts/bench_cpu_realtime.py --size S``), ms per frame:

=====================  ==========  ==========  ==========
variant                256²        512²        1024²
=====================  ==========  ==========  ==========
eager, channels-last   27.3        75.1        342.9
ONNX Runtime           16.0        52.1        210.1
OpenVINO fp32          13.6        43.7        169.6
OpenVINO int8          7.8         29.0        105.7
=====================  ==========  ==========  ==========

OpenVINO fp32 was 1.7–2.0× eager at every size, ONNX Runtime 1.4–1.7×. Most of eager's deficit was
glibc's malloc mapping fresh pages for every frame's feature maps; since the process keeps freed memory
(:mod:`vstyle.process_settings`), the same machine, model and command (2026-12-07, 10 rounds at 256² and
512², 5 at 1024²) give, ms per frame:

=====================  ==========  ==========  ==========
variant                256²        512²        1024²
=====================  ==========  ==========  ==========
eager, channels-last   16.8        37.6        149.9
ONNX Runtime           8.3         31.5        171.7
OpenVINO fp32          5.8         20.0        107.6
OpenVINO int8          4.3         15.9        85.3
=====================  ==========  ==========  ==========

OpenVINO fp32 is still 1.4–2.9× eager (it saves 168 / 67 / 40 ms per megapixel at the three sizes);
ONNX Runtime is 2.0× eager at 256², 1.2× at 512² and slower at 1024², so ``auto`` no longer picks
it (``--backend ort`` stays). The first use of a model costs OpenVINO a one-off ONNX export (13 s for
the shipped model; it then compiles each frame shape in 0.1–0.3 s; all cached), which repays itself
after 13 s ÷ 0.067 s ≈ 200 megapixels at 512² (some 760 frames), 325 at 1024². So for fp32 on the
CPU ``auto`` takes OpenVINO when it is installed and the job says it will stylise at least
:data:`REPAY_MEGAPIXELS` (25 s or more of 512² video at 30 fps, a big folder, a live stream with no
frame limit); shorter jobs and single images stay on eager PyTorch, which starts at once. int8 runs
nowhere else: ``--precision int8`` means OpenVINO.

CUDA: a TensorRT engine when one is given (``--engine``), else eager PyTorch; building an engine
takes minutes, so ``auto`` never starts a build by itself.
"""

from __future__ import annotations

import torch

from .backends.openvino_backend import openvino_ready

#: Megapixels a CPU job must stylise before OpenVINO fp32 repays its one-off export (see above).
REPAY_MEGAPIXELS = 200.0


def pick_backend(device: torch.device, engine_path: str | None, precision: str = "fp32",
                 megapixels: float | None = None, compile: bool = False) -> str:
    """``trt`` for CUDA with an engine file; ``openvino`` for int8 (CPU); for fp32 on the CPU,
    ``openvino`` when it is installed and the job reaches its :data:`REPAY_MEGAPIXELS`
    (``megapixels``: its estimate, ``math.inf`` for a stream without end, ``None`` when unknown),
    unless ``compile`` asks for torch.compile; otherwise ``torch`` (channels-last eager)."""
    if device.type == "cuda" and engine_path:
        return "trt"
    if precision == "int8":
        return "openvino"
    if (device.type == "cpu" and precision == "fp32" and not compile and megapixels is not None
            and megapixels >= REPAY_MEGAPIXELS and openvino_ready()):
        return "openvino"
    return "torch"
