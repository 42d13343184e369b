"""Pipeline overhead: model-only FPS (frames already in memory) vs end-to-end ``vstyle run`` FPS.

Both on the same clip segment, the same engine and style, in one process; the end-to-end side
calls :func:`vstyle.jobs.video.stylize_video` (probe, decode thread, engine, encode thread with
H.264 + audio copy, atomic rename), exactly what ``vstyle run`` does after parsing. The two are
measured in alternating rounds so load changes on a shared machine hit both alike; the ratio of
the medians is reported (1.0 = the pipeline hides all decode/encode work behind the model),
against the faster of model-only from the main thread and from a worker thread. The process's CPU
time per frame is reported beside them (model-only from the main thread, and end to end).

    python scripts/bench_pipeline.py --size 512 --frames 24
    python scripts/bench_pipeline.py --model weights/default.safetensors --device cuda --frames 240
    python scripts/bench_pipeline.py --backend openvino --precision int8 --threads 2 --frames 48
    python scripts/bench_pipeline.py --backend openvino --precision int8 --threads 2 --preset ultrafast
    python scripts/bench_pipeline.py --clip ../shared/data/video/fox.mp4 --frames 240 --rounds 5 --preset ultrafast \
        --host-only   # the CPU the pipeline itself takes per frame, the network taken out
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from vstyle.process_settings import apply_process_settings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CLIP = ROOT.parent / "shared" / "data" / "video" / "big_buck_bunny_cut.mp4"
DEFAULT_STYLE = ROOT.parent / "shared" / "data" / "styles" / "asheville.jpg"


def load_or_build_model(spec: str | None, arch: str):  # -> SCTNet
    """``--model`` if given, else the shipped default model, else seeded random weights of ``arch``
    (speed does not depend on the weights)."""
    import torch

    from vstyle.errors import VStyleError
    from vstyle.models import build
    from vstyle.weights import load_model

    if spec is not None:
        return load_model(spec), spec
    try:
        return load_model(None), "default"
    except VStyleError:
        pass
    torch.manual_seed(0)
    config = {"mode": "photo"} if arch == "sctnet" else {}
    return build(arch, config).eval(), f"random {arch} {config or ''}".strip()


def model_only(engine, code, frames: list[np.ndarray], batch: int, worker: bool) -> float:
    """FPS of engine.stylize over frames already decoded and scaled (upload + compute + download).

    ``worker``: run in a fresh thread, as the pipeline's compute thread does. Torch's CPU thread
    team behaves differently when driven from the main thread (on a loaded machine the difference
    is large), so both are measured and the ratio is taken against the faster one.
    """
    result: list[float] = []

    def run() -> None:
        t0 = time.perf_counter()
        for i in range(0, len(frames), batch):
            engine.stylize(np.stack(frames[i:i + batch]), code)
        result.append(len(frames) / (time.perf_counter() - t0))

    if worker:
        t = threading.Thread(target=run)
        t.start()
        t.join()
    else:
        run()
    return result[0]


class PassThrough:
    """Stands in for the engine in ``--host-only`` runs: hands back a copy of each frame, so what the
    process spends is the pipeline's own work (decode, scale, queues, colour conversion, encode)."""

    def __init__(self, engine) -> None:  # the real engine: its device and description
        self.device, self.model, self._describe = engine.device, engine.model, engine.describe

    def stylize(self, frames: np.ndarray, code, alpha: float = 1.0, preserve_color: bool = False) -> np.ndarray:
        return np.array(frames, copy=True)

    def describe(self) -> dict[str, str]:
        return {**self._describe(), "backend": "pass-through (host only)"}


def host_only(engine, code, clip: Path, opts, rounds: int) -> dict:
    """CPU and wall ms per frame of ``vstyle run``'s job with the network taken out (median of rounds)."""
    from vstyle.jobs.video import stylize_video

    cpu, wall = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            t0, c0 = time.perf_counter(), time.process_time()
            summary = stylize_video(PassThrough(engine), code, clip, Path(tmp) / "out.mp4", opts)
            cpu.append((time.process_time() - c0) * 1000 / summary["frames"])
            wall.append((time.perf_counter() - t0) * 1000 / summary["frames"])
    return {"frames": summary["frames"], "host_cpu_ms_per_frame": round(statistics.median(cpu), 2),
            "host_wall_ms_per_frame": round(statistics.median(wall), 2),
            "rounds": {"cpu_ms": [round(x, 2) for x in cpu], "wall_ms": [round(x, 2) for x in wall]}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    ap.add_argument("--style", type=Path, default=DEFAULT_STYLE)
    ap.add_argument("--model", default=None, help="model name or file [default: shipped model, else random]")
    ap.add_argument("--arch", default="sctnet-mobile", choices=["sctnet-mobile", "sctnet"],
                    help="architecture of the random model used when there is no trained one")
    ap.add_argument("--size", type=int, default=512, help="--max-size: longer side stylised")
    ap.add_argument("--frames", type=int, default=24, help="frames from the start of the clip")
    ap.add_argument("--rounds", type=int, default=2, help="alternating model-only / end-to-end rounds")
    ap.add_argument("--batch", type=int, default=0, help="frames per engine call (0 = auto)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--backend", default="auto", help="engine backend (auto, torch, ort, openvino, …)")
    ap.add_argument("--precision", default="fp32", help="engine precision (fp32, int8, …)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--preset", default=None, help="x264 preset of the end-to-end side (default: vstyle run's)")
    ap.add_argument("--host-only", action="store_true",
                    help="time only the pipeline around the network (the engine hands frames back unchanged)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args()
    apply_process_settings()  # what vstyle run's process runs with

    from vstyle.engine import Engine
    from vstyle.io.images import read_image
    from vstyle.io.video_source import VideoReader, probe_video
    from vstyle.pipeline import auto_batch
    from vstyle.jobs.video import VideoOptions, processing_size, stylize_video

    net, model_name = load_or_build_model(args.model, args.arch)
    engine = Engine(net, device=args.device, backend=args.backend, precision=args.precision, threads=args.threads)
    code = engine.style_code(read_image(args.style))
    probe = probe_video(args.clip)
    duration = args.frames / float(probe.fps)
    info = probe_video(args.clip, 0.0, duration)
    w, h = processing_size(*info.square_size, args.size, None)
    batch = args.batch or auto_batch(engine.device.type, h, w)
    if args.host_only:
        opts = VideoOptions(max_size=args.size, duration=duration, batch=batch, overwrite=True, preset=args.preset)
        result = {"clip": str(args.clip), "size": [w, h], "preset": args.preset, **host_only(engine, code, args.clip,
                                                                                           opts, args.rounds)}
        print(json.dumps(result, indent=2) if args.json else
              f"{result['frames']} frames at {w}×{h}, host only: {result['host_cpu_ms_per_frame']} ms of CPU and "
              f"{result['host_wall_ms_per_frame']} ms wall per frame")
        return
    with VideoReader(info, (w, h)) as reader:
        frames = [f.image for f in reader.frames()]
    engine.stylize(np.stack(frames[:batch]), code)  # warm-up (allocations, kernel selection)
    opts = VideoOptions(max_size=args.size, duration=duration, batch=batch, overwrite=True, preset=args.preset)

    main_fps: list[float] = []
    worker_fps: list[float] = []
    e2e_fps: list[float] = []
    # Process CPU (all threads) per frame, model-only (main thread) and end to end: on a CPU the network
    # and the pipeline share the cores, and these say where the time went (--host-only: the pipeline alone).
    model_cpu: list[float] = []
    e2e_cpu: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mp4"
        for r in range(args.rounds):
            c0 = time.process_time()
            main_fps.append(model_only(engine, code, frames, batch, worker=False))
            model_cpu.append((time.process_time() - c0) * 1000 / len(frames))
            worker_fps.append(model_only(engine, code, frames, batch, worker=True))
            c0 = time.process_time()
            summary = stylize_video(engine, code, args.clip, out, opts)
            e2e_cpu.append((time.process_time() - c0) * 1000 / len(frames))
            assert summary["frames"] == len(frames), summary
            e2e_fps.append(summary["frames"] / summary["seconds"])
            print(f"round {r + 1}: model-only {main_fps[-1]:.3f} fps (main thread), {worker_fps[-1]:.3f} fps "
                  f"(worker thread); end-to-end {e2e_fps[-1]:.3f} fps; CPU per frame {model_cpu[-1]:.2f} ms "
                  f"model-only, {e2e_cpu[-1]:.2f} ms end to end", file=sys.stderr)
    mm, mw, e = (statistics.median(v) for v in (main_fps, worker_fps, e2e_fps))
    mc, ec = statistics.median(model_cpu), statistics.median(e2e_cpu)
    m = max(mm, mw)
    result = {"clip": str(args.clip), "frames": len(frames), "size": [w, h], "batch": batch,
              "model": model_name, **engine.describe(), "threads": args.threads,
              "model_only_fps": round(m, 3), "model_only_main_thread_fps": round(mm, 3),
              "model_only_worker_thread_fps": round(mw, 3), "end_to_end_fps": round(e, 3), "ratio": round(e / m, 3),
              "model_only_cpu_ms_per_frame": round(mc, 2), "end_to_end_cpu_ms_per_frame": round(ec, 2),
              "rounds": {"model_only_main": [round(x, 3) for x in main_fps],
                         "model_only_worker": [round(x, 3) for x in worker_fps],
                         "end_to_end": [round(x, 3) for x in e2e_fps],
                         "model_only_cpu_ms": [round(x, 2) for x in model_cpu],
                         "end_to_end_cpu_ms": [round(x, 2) for x in e2e_cpu]},
              "codec": summary["codec"], "preset": args.preset, "audio": summary["audio"]}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{len(frames)} frames at {w}×{h}, batch {batch}, {model_name} on {engine.device}: "
              f"model-only {m:.3f} fps (main thread {mm:.3f}, worker thread {mw:.3f}), end-to-end {e:.3f} fps, "
              f"ratio {e / m:.3f}; CPU per frame {mc:.2f} ms model-only, {ec:.2f} ms end to end")


if __name__ == "__main__":
    main()
