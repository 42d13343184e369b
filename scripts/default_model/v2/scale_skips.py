"""Scale a v2 model's skip features (the unstylised encoder detail its decoder adds at strides 2 and 4).

    python scripts/default_model/v2/scale_skips.py IN.safetensors OUT.safetensors --gain 0.75 --name NAME

The skip projections are linear 1×1 convolutions with no bias, so multiplying their weights by the gain
scales what the photo's own texture adds to each decoder level, the same in every backend and export.
docs/default_model.md ("Seventh stretch") measured the trade: less photo texture, more of the style's,
at some cost in recognisability. The provenance records the gain and the source file's SHA-256.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from vstyle.weights.modelfile import file_sha256, save_model
from weight_files import check_new_output, load_source


def main() -> None:
    """Parse the arguments, scale, write (fp16, atomically; refuses to overwrite the input)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--gain", type=float, required=True, help="Factor on the skip projections (0–1).")
    parser.add_argument("--name", required=True, help="Model name for the provenance.")
    parser.add_argument("--overwrite", action="store_true", help="Replace an existing output file.")
    args = parser.parse_args()
    if not 0 <= args.gain <= 1:
        parser.error("--gain must be between 0 and 1")
    check_new_output(parser, args.output, [args.source], args.overwrite)
    model, provenance = load_source(parser, args.source)
    skips = getattr(model.decoder, "skips", None)
    if not skips:
        parser.error(f"{args.source} has no skip features")
    with torch.no_grad():
        for projection in skips:
            projection.proj.weight.mul_(args.gain)
    provenance.update(name=args.name, skip_gain=args.gain, skip_gain_source_sha256=file_sha256(args.source))
    save_model(model, args.output, provenance, dtype=torch.float16)
    print(f"wrote {args.output} (skip projections × {args.gain})")


if __name__ == "__main__":
    main()
