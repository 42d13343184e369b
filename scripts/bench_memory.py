"""Flat memory: peak RSS of ``vstyle run`` on a 2-minute clip vs a 10-second one.

Generates both clips (small resolution, 24 fps, AAC audio) in a temporary folder, stylises each in
its own ``python -m vstyle run`` subprocess and reads that child's peak RSS (``ru_maxrss`` from
``os.wait4``). The pipeline's queues are bounded, so the difference should be small (bar: < 300 MB).

    python scripts/bench_memory.py
    python scripts/bench_memory.py --lengths 10 120 --size 160x90 --model weights/default.safetensors
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STYLE = ROOT.parent / "shared" / "data" / "styles" / "asheville.jpg"


def make_clip(path: Path, seconds: float, width: int, height: int, fps: int = 24) -> Path:
    """A moving gradient with a 440 Hz stereo tone, H.264 + AAC."""
    import av

    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.codec_context.options = {"preset": "ultrafast"}
        aus = out.add_stream("aac", rate=48000)
        aus.codec_context.layout = "stereo"
        y, x = np.mgrid[0:height, 0:width]
        for i in range(int(seconds * fps)):
            rgb = np.stack([(x + 3 * i) % 256, (y + 2 * i) % 256, (x + y + i) % 256], -1).astype(np.uint8)
            out.mux(vs.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(vs.encode(None))
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48000, frame_size=1024)
        n = int(seconds * 48000)
        for start in range(0, n, 48000):
            t = np.arange(start, min(n, start + 48000)) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
            frame.sample_rate = 48000
            for f in resampler.resample(frame):
                out.mux(aus.encode(f))
        for f in resampler.resample(None):
            out.mux(aus.encode(f))
        out.mux(aus.encode(None))
    return path


def random_model(folder: Path, arch: str) -> Path:
    """Seeded random weights (memory does not depend on the weights)."""
    import torch

    from vstyle.models import architectures, build
    from vstyle.weights import save_model

    if arch == "auto":
        # The CLI subprocess must be able to load it: only architectures registered on import count.
        arch = "sctnet-mobile" if "sctnet-mobile" in architectures() else "sctnet"
    torch.manual_seed(0)
    config = {"mode": "photo"} if arch == "sctnet" else {}
    return save_model(build(arch, config), folder / f"{arch}-{config.get('mode', 'art')}.safetensors",
                      {"bench": "random"})


def peak_rss_run(args: list[str], log_dir: Path) -> tuple[float, dict, float]:
    """Run ``python -m vstyle ARGS``; (peak RSS in MB, its --json summary, wall seconds)."""
    out_path, err_path = log_dir / "stdout.txt", log_dir / "stderr.txt"
    t0 = time.perf_counter()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "vstyle", *args], stdout=out, stderr=err, cwd=ROOT)
        # wait4 reaps this child and returns its own rusage (RUSAGE_CHILDREN would mix runs).
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"vstyle {' '.join(args)} failed:\n{err_path.read_text()}")
    return usage.ru_maxrss / 1024, json.loads(out_path.read_text()), wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lengths", type=float, nargs=2, default=[10, 120], metavar=("SHORT_S", "LONG_S"))
    ap.add_argument("--size", default="160x90", help="clip size WxH")
    ap.add_argument("--model", default=None, help="model file [default: random --arch weights]")
    ap.add_argument("--arch", default="auto", choices=["auto", "sctnet-mobile", "sctnet"],
                    help="random model architecture (auto: sctnet-mobile if registered, else sctnet photo)")
    ap.add_argument("--style", type=Path, default=DEFAULT_STYLE)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))

    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        model = args.model or str(random_model(tmp, args.arch))
        results = []
        for seconds in args.lengths:
            clip = make_clip(tmp / f"clip_{seconds:g}s.mp4", seconds, w, h)
            rss, summary, wall = peak_rss_run(["run", str(clip), "--style", str(args.style), "--model", model,
                                               "--max-size", "0", "-o", str(tmp / f"out_{seconds:g}s.mp4"),
                                               "--device", "cpu", "--json"], tmp)
            results.append({"seconds": seconds, "frames": summary["frames"], "peak_rss_mb": round(rss, 1),
                            "wall_s": round(wall, 1)})
            print(f"{seconds:g} s clip ({summary['frames']} frames, {w}×{h}): peak RSS {rss:.1f} MB, "
                  f"{wall:.1f} s", file=sys.stderr)
    growth = results[1]["peak_rss_mb"] - results[0]["peak_rss_mb"]
    print(json.dumps({"model": args.model or Path(model).stem + " (random)", "runs": results,
                      "growth_mb": round(growth, 1), "within_300_mb": growth < 300}, indent=2))


if __name__ == "__main__":
    main()
