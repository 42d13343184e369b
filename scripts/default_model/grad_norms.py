"""Per-term gradient norms of a training recipe: which loss term actually steers the model.

Loss values say little about balance; what a term does to the weights is the norm of its gradient on
the trainable parameters (SCT, decoder; the CCPL heads are left out). For a few batches of a recipe
(and optionally a starting model), prints each weighted term's value and gradient norm, and their
medians. Run from the repository root, e.g.

    python scripts/default_model/grad_norms.py scripts/default_model/v2/recipe.json \\
        --init runs/default-v2/stageA.safetensors --batches 4 --set lambda_style=30
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("recipe", type=Path, help="recipe JSON (as for vstyle train --config)")
    ap.add_argument("--init", default=None, help="start from this model (name or .safetensors)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a recipe key (JSON value), e.g. lambda_style=30; repeatable")
    ap.add_argument("--batches", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    from vstyle.train.config import Recipe, RunOptions, read_config_file, split_settings
    from vstyle.train.trainer import Trainer

    settings = read_config_file(args.recipe)
    for item in args.set:
        key, _, value = item.partition("=")
        settings[key] = json.loads(value)
    if args.init:
        settings["init"] = args.init
    recipe_keys, _ = split_settings(settings)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(Path(tmp) / "run", Recipe.from_dict(recipe_keys),
                          RunOptions(steps=1, workers=0, sample_every=0, threads=args.threads))
        params = [p for p in trainer.model.trainable_parameters() if p.requires_grad]
        rows: dict[str, list[tuple[float, float]]] = {}
        for k in range(args.batches):
            content, style = trainer.dataset[k]
            _, parts, _ = trainer.losses(content, style, k)
            for name, value in parts.items():
                grads = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
                norm = torch.sqrt(sum((g.float() ** 2).sum() for g in grads if g is not None)).item()
                rows.setdefault(name, []).append((value.item(), norm))
    print(f"{'term':<14} {'value':>10} {'grad norm':>10}   (medians over {args.batches} batches)")
    for name, vals in rows.items():
        value, grad = statistics.median(v for v, _ in vals), statistics.median(g for _, g in vals)
        print(f"{name:<14} {value:>10.4g} {grad:>10.4g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
