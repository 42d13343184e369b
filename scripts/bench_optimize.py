"""Which optimiser and which stages `vstyle image --optimize` uses: L-BFGS vs Adam, one scale vs coarse to fine.

Every configuration gets the same compute budget, --budget loss evaluations (forward + backward) at
full size; an evaluation at half size costs about a quarter of one, so the coarse-to-fine runs spend
half the budget on 2·budget coarse steps and the other half on budget/2 full-size ones. The score is
the loss of the result measured the same way for every configuration (at full size, averaged over
the 9 shifts of ±1 px, not the noisy jittered loss the optimiser sees), next to the wall time. Photos
and styles default to ones outside the eye panel (the panel judges the result). On a shared CPU
compare times only within one invocation, as ratios.

    python scripts/bench_optimize.py [--size 384] [--budget 60] [--threads 2] [--style-weight 300]
        [--config NAME] [--pairs 0,1] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from vstyle.process_settings import apply_process_settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PAIRS = [("content/chicago.jpg", "styles/starry_night.jpg"), ("content/bulldog.jpg", "styles/great_wave.jpg")]
CONFIGS = {  # name -> (optimizer, scales, share of the steps per scale, steps per full-size budget step)
    "adam 1x": ("adam", (1.0,), (1.0,), 1.0),
    "adam 0.5x+1x": ("adam", (0.5, 1.0), (0.8, 0.2), 2.5),
    "lbfgs 1x": ("lbfgs", (1.0,), (1.0,), 1.0),
    "lbfgs 0.5x+1x": ("lbfgs", (0.5, 1.0), (0.8, 0.2), 2.5),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=384, help="longer side of the photos (default 384)")
    ap.add_argument("--budget", type=int, default=60, help="full-size loss evaluations' worth of work (default 60)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--style-weight", type=float, default=300.0, help="for every configuration (default 300)")
    ap.add_argument("--config", action="append", choices=list(CONFIGS), help="only these (repeat; default all)")
    ap.add_argument("--pairs", default=None, help="only these (photo, style) pairs: indices, e.g. 0,1 (default all)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()
    apply_process_settings()  # as vstyle image's process runs
    torch.set_num_threads(args.threads)

    from vstyle.io.images import fit_within, read_image
    from vstyle.optimize.objective import StillObjective, build_still_loss_net
    from vstyle.optimize.still import OptimizeSettings, StillOptimizer, image_tensor

    net, layers = build_still_loss_net()
    cpu = torch.device("cpu")
    rows = []
    configs = {k: v for k, v in CONFIGS.items() if not args.config or k in args.config}
    pairs = [PAIRS[int(i)] for i in args.pairs.split(",")] if args.pairs else PAIRS
    for photo, style in pairs:
        content = image_tensor(fit_within(read_image(SHARED / photo), args.size), cpu)
        style_t = image_tensor(fit_within(read_image(SHARED / style), args.size), cpu)
        scorer = StillObjective(net, layers, content, [style_t], [1.0], jitter=1, style_weight=args.style_weight)
        for name, (optimizer, scales, shares, per_budget) in configs.items():
            settings = OptimizeSettings(steps=round(args.budget * per_budget), optimizer=optimizer, scales=scales,
                                        shares=shares, style_weight=args.style_weight)
            opt = StillOptimizer(net, layers, content, [style_t], [1.0], settings)
            t0 = time.perf_counter()
            out = opt.run()
            seconds = time.perf_counter() - t0
            with torch.no_grad():
                loss = sum(float(scorer(out, (dy, dx))[0]) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9
            rows.append({"photo": Path(photo).stem, "style": Path(style).stem, "config": name,
                         "steps": settings.stage_steps(), "seconds": round(seconds, 1), "loss": round(loss, 4)})
            print(f"{rows[-1]}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    heads = [f"{Path(a).stem} × {Path(b).stem}: loss, s" for a, b in pairs]
    print(f"| config | {' | '.join(heads)} |")
    print("|---|" + "---|" * len(pairs))
    for name in configs:
        cells = [f"{r['loss']:.3f}, {r['seconds']:.0f}" for r in rows if r["config"] == name]
        print(f"| {name} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
