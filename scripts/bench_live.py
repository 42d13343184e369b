"""Live-mode speed: ``vstyle live`` headless with a video file as the camera, per model and --max-size.

Two runs per setting, through the real command (``--json`` summary):
  * throughput: ``--frames N`` reads the file without dropping, so stylise fps is the loop's ceiling;
  * live: the file plays at its own rate like a camera; frames the loop cannot keep up with are dropped.
Models are seeded random weights of the official-size architectures (speed does not depend on the
weights); pass --model PATH to time a trained file instead.

    python scripts/bench_live.py --sizes 256 512 --frames 20
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CLIP = ROOT.parent / "shared" / "data" / "video" / "big_buck_bunny_cut.mp4"
DEFAULT_STYLE = ROOT.parent / "shared" / "data" / "styles" / "asheville.jpg"


def random_models(folder: Path) -> dict[str, Path]:
    """Seeded random models of each registered architecture worth timing."""
    import torch

    from vstyle.models import architectures, build
    from vstyle.weights import save_model

    configs = {"sctnet-art": ("sctnet", {"mode": "art"}), "sctnet-photo": ("sctnet", {"mode": "photo"})}
    if "sctnet-mobile" in architectures():
        configs["sctnet-mobile"] = ("sctnet-mobile", {})
    out = {}
    for name, (arch, config) in configs.items():
        torch.manual_seed(0)
        out[name] = save_model(build(arch, config), folder / f"{name}.safetensors", {"bench": "random"})
    return out


def live(model: Path, clip: Path, style: Path, size: int, extra: list[str], threads: int | None) -> dict:
    """One headless ``vstyle live`` run; its JSON summary."""
    cmd = [sys.executable, "-m", "vstyle", "live", "--camera", str(clip), "--no-window", "--model", str(model),
           "--style", str(style), "--max-size", str(size), "--device", "cpu", "--json", *extra]
    if threads:
        cmd += ["--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--frames", type=int, default=20, help="frames for the throughput run")
    ap.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    ap.add_argument("--style", type=Path, default=DEFAULT_STYLE)
    ap.add_argument("--model", type=Path, action="append", help="time these model files instead")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models = {p.stem: p for p in args.model} if args.model else random_models(Path(tmp))
        print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        print(f"{'model':16} {'size':>5} {'frame':>9} | {'fps (no drop)':>13} {'ms/frame':>8} | "
              f"{'live fps':>8} {'latency ms':>10} {'dropped':>7}")
        for name, path in models.items():
            for size in args.sizes:
                thr = live(path, args.clip, args.style, size, ["--frames", str(args.frames)], args.threads)
                real = live(path, args.clip, args.style, size, [], args.threads)
                import cv2

                cap = cv2.VideoCapture(str(args.clip))
                w, h = cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
                cap.release()
                s = min(1.0, size / max(w, h))
                frame = f"{round(w * s)}x{round(h * s)}"
                fps = thr["stylize_fps"]
                print(f"{name:16} {size:5d} {frame:>9} | {fps:13.2f} {1000 / fps if fps else 0:8.0f} | "
                      f"{real['stylize_fps']:8.2f} {real['latency_ms']:10.0f} {real['dropped']:7d}", flush=True)
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
