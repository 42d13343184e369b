"""Pictures of an evaluation: a contact sheet (content | style | each method) and a side-by-side video."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..io.atomic import atomic_output
from ..io.images import resize
from .runner import Sample

LABEL_H = 16
PAD = 4
WHITE = (255, 255, 255)


def _box(samples: Sequence[Sample]) -> tuple[int, int]:
    """Tile size (width, height) that holds every clip's frames."""
    frames = [s.content[0] if s.content.ndim == 4 else s.content for s in samples]
    return max(f.shape[1] for f in frames), max(f.shape[0] for f in frames)


def _fit(image: np.ndarray, box: tuple[int, int]) -> Image.Image:
    """Scale ``image`` to fit ``box`` (keeping its aspect) and centre it on white."""
    bw, bh = box
    h, w = image.shape[:2]
    scale = min(bw / w, bh / h)
    small = resize(image, max(1, round(w * scale)), max(1, round(h * scale)))
    tile = Image.new("RGB", box, WHITE)
    tile.paste(Image.fromarray(small), ((bw - small.shape[1]) // 2, (bh - small.shape[0]) // 2))
    return tile


def _row(images: Sequence[np.ndarray], labels: Sequence[str], box: tuple[int, int]) -> Image.Image:
    """Tiles side by side, each with its label above it."""
    bw, bh = box
    row = Image.new("RGB", (len(images) * (bw + PAD) + PAD, bh + LABEL_H + PAD), WHITE)
    draw = ImageDraw.Draw(row)
    for k, (img, label) in enumerate(zip(images, labels)):
        x = PAD + k * (bw + PAD)
        row.paste(_fit(img, box), (x, LABEL_H))
        draw.text((x + 2, 2), label, fill=(0, 0, 0))
    return row


def _middle(frames: np.ndarray) -> np.ndarray:
    """The middle frame of an N×H×W×3 clip; a single H×W×3 image as it is."""
    return frames[len(frames) // 2] if frames.ndim == 4 else frames


def contact_sheet(samples: Sequence[Sample]) -> Image.Image:
    """One row per (clip, style): content | style | every method's middle frame."""
    box = _box(samples)
    rows = []
    for s in samples:
        labels = [f"{s.clip} (content)", f"style: {s.style}", *s.outputs]
        rows.append(_row([_middle(s.content), s.style_image, *(_middle(v) for v in s.outputs.values())], labels, box))
    sheet = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows) + PAD), WHITE)
    y = 0
    for r in rows:
        sheet.paste(r, (0, y))
        y += r.height
    return sheet


def write_contact_sheet(samples: Sequence[Sample], path: Path, overwrite: bool) -> Path:
    """Save :func:`contact_sheet` as PNG, atomically."""
    sheet = contact_sheet(samples)
    with atomic_output(path, overwrite=overwrite) as tmp:
        sheet.save(tmp, format="PNG")
    return path


def safe_name(label: str) -> str:
    """A method, clip or style label as a file name: characters other than letters, digits, ``.-_`` become ``_``."""
    return "".join(c if c.isascii() and (c.isalnum() or c in ".-_") else "_" for c in label) or "_"


def write_frames(samples: Sequence[Sample], folder: Path, overwrite: bool) -> set[Path]:
    """Each method's output (the middle frame of a clip, the still itself) as
    ``folder/<content>/<style>/<method>.png``; returns the paths written."""
    from ..io.images import write_image

    written: set[Path] = set()
    for s in samples:
        for label, frames in s.outputs.items():
            frame = frames[len(frames) // 2] if frames.ndim == 4 else frames
            path = folder / safe_name(s.clip) / safe_name(s.style) / f"{safe_name(label)}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            write_image(path, frame, overwrite=overwrite)
            written.add(path)
    return written


def write_side_by_side(samples: Sequence[Sample], path: Path, overwrite: bool) -> Path:
    """An mp4 (H.264 where available) playing each (clip, style) in turn: content | every method, labelled.

    Samples must hold every frame (``evaluate(..., keep_all_frames=True)``). Plays at the first clip's rate.
    """
    from ..io.video_sink import VideoWriter

    box = _box(samples)  # every frame has the same layout, so the same size
    first = _side_by_side_frame(samples[0], 0, box)
    fps = Fraction(samples[0].fps).limit_denominator(1001)
    with atomic_output(path, overwrite=overwrite) as tmp:
        with VideoWriter(tmp, first.width, first.height, fps=fps, time_base=1 / fps) as writer:
            pts = 0
            for s in samples:
                for i in range(len(s.content)):
                    writer.write(np.asarray(_side_by_side_frame(s, i, box)), pts, 1)
                    pts += 1
    return path


def _side_by_side_frame(s: Sample, i: int, box: tuple[int, int]) -> Image.Image:
    labels = [f"{s.clip} × {s.style}", *s.outputs]
    return _row([s.content[i], *(v[i] for v in s.outputs.values())], labels, box)
