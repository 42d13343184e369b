"""Average the weights of v2 model files of one layout (a "model soup" of runs from the same start).

    python scripts/default_model/v2/average_weights.py OUT.safetensors A.safetensors:1 B.safetensors:1 --name NAME

Runs fine-tuned from one checkpoint stay in one basin of the loss, so their weighted mean is a model too;
docs/default_model.md ("After the seventh stretch") measured it against the runs it mixes. Each input is
FILE:WEIGHT (weights need not sum to 1); the output is fp16, written atomically, and its provenance is
the first file's with the name, the inputs' SHA-256 and their weights.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from vstyle.errors import VStyleError
from vstyle.weights.modelfile import file_sha256, load_model, read_metadata, save_model
from weight_files import check_new_output


def _input(spec: str) -> tuple[Path, float]:
    """FILE:WEIGHT → (path, weight)."""
    path, sep, weight = spec.rpartition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"{spec!r} is not FILE:WEIGHT")
    try:
        w = float(weight)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{weight!r} is not a number") from None
    if w <= 0:
        raise argparse.ArgumentTypeError(f"the weight of {path} must be positive")
    return Path(path), w


def main() -> None:
    """Parse the arguments, average, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("inputs", type=_input, nargs="+", metavar="FILE:WEIGHT")
    parser.add_argument("--name", required=True, help="Model name for the provenance.")
    parser.add_argument("--overwrite", action="store_true", help="Replace an existing output file.")
    args = parser.parse_args()
    if len(args.inputs) < 2:
        parser.error("give at least two files to average")
    check_new_output(parser, args.output, [path for path, _ in args.inputs], args.overwrite)
    try:
        models = [load_model(path) for path, _ in args.inputs]
        provenance = read_metadata(args.inputs[0][0]).get("provenance", {})
    except VStyleError as exc:
        parser.exit(1, f"error: {exc}\n")
    states = [m.state_dict() for m in models]
    if any(s.keys() != states[0].keys() or any(s[k].shape != states[0][k].shape for k in s) for s in states):
        parser.error("the files do not share one layout")
    total = sum(w for _, w in args.inputs)
    mean = {k: sum(s[k].float() * (w / total) for s, (_, w) in zip(states, args.inputs)) for k in states[0]}
    models[0].load_state_dict(mean)
    provenance.update(name=args.name, averaged=[{"sha256": file_sha256(p), "weight": w} for p, w in args.inputs])
    save_model(models[0], args.output, provenance, dtype=torch.float16)
    print(f"wrote {args.output} (mean of {len(args.inputs)} files)")


if __name__ == "__main__":
    main()
