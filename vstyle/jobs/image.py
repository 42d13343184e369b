"""The image job: still images in, stylised images out (named by :mod:`.naming`, written atomically)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..errors import VStyleError
from ..io.atomic import check_writable, make_folder
from .engine import EngineSpec, check_style_files, load_style_code, style_paths, stylize_still
from .naming import image_output, style_label

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class ImageOptions:
    """How to stylise stills: ``max_size`` (None: full size), back to the input's size, strength, colours."""

    max_size: int | None = 1024
    keep_size: bool = False
    alpha: float = 1.0
    preserve_color: bool = False
    overwrite: bool = False


def prepare_images(content: Sequence[Path], output: Path | None, styles: Sequence[str],
                   overwrite: bool) -> tuple[list[Path], list[np.ndarray]]:
    """Each input's output path (checked writable; the ``-o`` folder made) and its pixels, so a bad file
    fails before any model work."""
    from ..io.images import read_image

    many = len(content) > 1
    label = style_label(styles)
    targets = [image_output(c, output, many, label) for c in content]
    seen: dict[Path, Path] = {}  # resolved output → the input writing it
    for src, dst in zip(content, targets):
        first = seen.get(dst.resolve())
        if first is not None:  # one result would replace the other, or fail on it half-way through
            if first.resolve() == src.resolve():
                raise VStyleError(f"{src} is given twice")
            raise VStyleError(f"{first} and {src} would both be written to {dst}; put them in separate runs")
        seen[dst.resolve()] = src
    styles_read = style_paths(styles)
    check_style_files(styles_read)
    images = [read_image(c) for c in content]
    if output is not None and (many or not output.suffix):  # -o names a folder: made once the run is sound
        make_folder(output)
    for src, dst in zip(content, targets):
        check_writable(dst, overwrite, inputs=(src, *styles_read))
    return targets, images


def run_images(content: Sequence[Path], output: Path | None, styles: Sequence[str], style_size: int | None,
               opts: ImageOptions, engine: EngineSpec,
               on_image: Callable[[], None] | None = None) -> dict[str, Any]:
    """Stylise every ``content`` image and return the summary (one entry per image). Outputs are
    checked and the inputs read before the model loads, so a bad file fails before any model work;
    ``on_image`` is called after each image."""
    from ..io.images import fitted_size, write_image

    targets, images = prepare_images(content, output, styles, opts.overwrite)
    pixels = sum(w * h for w, h in (fitted_size(i.shape[1], i.shape[0], opts.max_size) for i in images))
    eng = dataclasses.replace(engine, megapixels=pixels / 1e6).build()
    code = load_style_code(eng, styles, style_size)
    results = []
    for src, dst, img in zip(content, targets, images):
        t0 = time.perf_counter()
        out = stylize_still(eng, code, img, max_size=opts.max_size, keep_size=opts.keep_size, alpha=opts.alpha,
                            preserve_color=opts.preserve_color)
        seconds = time.perf_counter() - t0
        write_image(dst, out, overwrite=opts.overwrite, metadata_from=src)
        results.append({"input": str(src), "output": str(dst), "width": int(out.shape[1]),
                        "height": int(out.shape[0]), "seconds": round(seconds, 4)})
        if on_image is not None:
            on_image()
    return {"images": results, "styles": list(styles), "alpha": opts.alpha, "preserve_color": opts.preserve_color,
            **eng.describe(), "model": eng.model.source_path, "notes": first_frame_notes(content)}


def first_frame_notes(content: Sequence[Path]) -> list[str]:
    """A line for each input with several frames (an animated GIF or WebP): only its first is painted."""
    from ..io.images import frame_count
    from ..io.video_source import VIDEO_SUFFIXES

    notes = []
    for src in content:
        n = frame_count(src) or 1
        if n > 1:
            whole = f"; vstyle run {src.name} paints them all" if src.suffix.lower() in VIDEO_SUFFIXES else ""
            notes.append(f"{src.name} has {n} frames; an image is painted from its first{whole}")
    return notes
