"""Plot the default model's training losses across its stages (one continuous step axis).

Terms are drawn unweighted (each divided by its stage's λ from the run's config.json): the stages
use different weights, so weighted terms and their total would jump at every stage boundary.

    python scripts/default_model/plot_losses.py runs/dm/stage1 runs/dm/stage2 -o docs/default_model_losses.png
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

TERMS = ("style", "ccpl", "teacher_pix", "teacher_feat", "content")


def _read(run: Path) -> dict[str, np.ndarray]:
    with open(run / "losses.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) if r.get(k) not in (None, "") else np.nan for r in rows])
            for k in rows[0]}


def _weights(run: Path) -> dict[str, float]:
    recipe = json.loads((run / "config.json").read_text())["recipe"]
    return {t: float(recipe[f"lambda_{t}"]) for t in TERMS}


def _smooth(y: np.ndarray, n: int) -> np.ndarray:
    if len(y) < n:
        return y
    return np.convolve(y, np.ones(n) / n, mode="valid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders, in training order")
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/default_model_losses.png"))
    parser.add_argument("--smooth", type=int, default=25, help="moving-average window (steps)")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=90)
    offset = 0
    for i, run in enumerate(args.runs):
        data, weights = _read(run), _weights(run)
        steps = data["step"] + offset
        for j, term in enumerate(TERMS):
            if term not in data or weights[term] == 0:
                continue
            y = _smooth(data[term] / weights[term], args.smooth)
            ax.plot(steps[len(steps) - len(y):], y, color=f"C{j}", lw=1.2, label=term if i == 0 else None)
        offset = int(steps[-1])
        if i < len(args.runs) - 1:
            ax.axvline(offset, color="grey", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("step (dotted: next stage)")
    ax.set_ylabel(f"unweighted loss ({args.smooth}-step mean)")
    ax.legend(fontsize=7, ncol=3)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output)
    print(f"{args.output} ({args.output.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
