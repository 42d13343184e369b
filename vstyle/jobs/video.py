"""The video job: one file in, one stylised file out (probe → reader → pipeline → writer, written
atomically), audio kept. :func:`run_video` is ``vstyle run``; :func:`stylize_video` is shared with the
batch job and the pipeline benchmark.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from .. import sizes
from ..errors import VStyleError
from ..io.atomic import atomic_output, check_writable
from ..io.images import IMAGE_SUFFIXES
from ..io.video_sink import VideoWriter, even_size
from ..io.video_source import Frame, VideoInfo, VideoReader, probe_video
from ..pipeline import auto_batch, run_pipeline
from .engine import EngineSpec, load_style_code, style_paths
from .naming import style_label, video_output

if TYPE_CHECKING:
    from ..engine.stylizer import StyleEngine
    from ..models import StyleCode


@dataclass(frozen=True)
class VideoOptions:
    """How to process a video (the CLI's flags)."""

    max_size: int | None = None
    size: tuple[int, int] | None = None
    keep_size: bool = False
    start: float = 0.0
    duration: float | None = None
    codec: str | None = None
    crf: int | None = None
    preset: str | None = None
    bitrate: int | None = None
    audio: bool = True
    batch: int | None = None
    alpha: float = 1.0
    preserve_color: bool = False
    overwrite: bool = False
    keep_partial: bool = False


def processing_size(width: int, height: int, max_size: int | None, size: tuple[int, int] | None) -> tuple[int, int]:
    """The size frames are stylised at: ``size`` if given, else scaled down (never up) so the longer
    side is at most ``max_size``, rounded to even sides when scaled."""
    if size is not None:
        return size
    if not max_size or max(width, height) <= max_size:
        return width, height
    scale = max_size / max(width, height)
    return even_size(round(width * scale / 2) * 2, round(height * scale / 2) * 2)


def video_megapixels(info: VideoInfo, opts: VideoOptions) -> float:
    """Megapixels stylising the probed segment takes (the engine's ``auto`` weighs one-off costs by it)."""
    w, h = processing_size(*info.square_size, opts.max_size, opts.size)
    return info.frames * w * h / 1e6


def run_video(src: Path, output: Path | None, styles: Sequence[str], style_size: int | None, opts: VideoOptions,
              engine: EngineSpec, on_progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Stylise ``src`` into ``output`` (see :func:`~vstyle.jobs.naming.video_output`) and return the
    summary. Bad inputs and outputs fail before the model loads; the output is checked once."""
    from ..io.video_sink import pick_encoder

    dst = video_output(src, output, style_label(styles))
    check_writable(dst, opts.overwrite, inputs=(src, *style_paths(styles)))
    info = probe_video(src, opts.start, opts.duration)
    pick_encoder(opts.codec)
    eng = dataclasses.replace(engine, megapixels=video_megapixels(info, opts)).build()
    code = load_style_code(eng, styles, style_size)
    summary = stylize_video(eng, code, src, dst, opts, on_progress=on_progress, info=info)
    summary.update(styles=list(styles), alpha=opts.alpha, preserve_color=opts.preserve_color)
    if info.frames == 1 and src.suffix.lower() in IMAGE_SUFFIXES:  # most likely the wrong command
        summary["notes"] = [*summary.get("notes", []), f"{src} is a still image, so {dst} is a one-frame video; "
                            f"for a picture use: vstyle image {src}"]
    return summary


def stylize_video(engine: StyleEngine, code: StyleCode, src: str | Path, dst: str | Path, opts: VideoOptions,
                  on_progress: Callable[[int, int], None] | None = None,
                  info: VideoInfo | None = None, pts_offset: int = 0) -> dict[str, Any]:
    """Stylise ``src`` into ``dst`` and return the ``--json`` summary.

    ``on_progress(done, total)`` is called from this thread while frames flow. ``info`` may be
    passed if the caller already probed ``src`` with the same segment. The caller has checked ``dst``
    with :func:`~vstyle.io.atomic.check_writable` (once, before the model loaded). On any error or
    Ctrl-C no file is left under ``dst`` (with ``keep_partial`` a playable ``<stem>.partial<ext>`` is kept).
    ``pts_offset`` (source time base) is added to every frame's timestamp: a piece of a longer
    video keeps its place in the whole (see ``io/video_segments.py``).
    """
    src, dst = Path(src), Path(dst)
    info = info or probe_video(src, opts.start, opts.duration)
    # Stylised in square pixels, so strokes are not stretched on screen; written so unless --keep-size.
    proc_w, proc_h = processing_size(*info.square_size, opts.max_size, opts.size)
    out_w, out_h = (info.width, info.height) if opts.keep_size else (proc_w, proc_h)
    keeps_sar = opts.size is None and (out_w, out_h) == (info.width, info.height)
    batch = opts.batch or auto_batch(engine.device.type, proc_h, proc_w)
    t0 = time.perf_counter()
    with atomic_output(dst, overwrite=opts.overwrite, keep_partial=opts.keep_partial, checked=True) as tmp:
        writer = VideoWriter(tmp, out_w, out_h, info.fps, info.time_base, codec=opts.codec, crf=opts.crf,
                             preset=opts.preset, bitrate=opts.bitrate,
                             sample_aspect_ratio=info.sample_aspect_ratio if keeps_sar else None,
                             audio_from=info if opts.audio else None, name=dst, created=info.creation_time)
        ok = False
        try:
            with VideoReader(info, (proc_w, proc_h)) as reader:
                pairs = ((f.image, f) for f in reader.frames())

                def write(image: np.ndarray, f: Frame) -> None:
                    writer.write(image, f.pts + pts_offset, f.duration)

                progress = (lambda done: on_progress(done, info.frames)) if on_progress else None
                stats = run_pipeline(pairs, engine, code, write, batch=batch, alpha=opts.alpha,
                                     preserve_color=opts.preserve_color, on_progress=progress)
            ok = True
        finally:
            # A kept partial is finalised so it plays; one about to be deleted is just closed (fast).
            writer.close(flush=ok or opts.keep_partial, complete=ok)
    seconds = time.perf_counter() - t0
    described = writer.describe()
    return {
        "input": str(src), "output": str(dst), "frames": stats.frames,
        "fps_in": round(float(info.fps), 3), "fps_out": round(float(info.fps), 3),
        "processing_fps": round(stats.frames / seconds, 3) if seconds > 0 else None,
        "seconds": round(seconds, 3), "duration": round(writer.duration, 3),
        "input_size": [info.width, info.height], "processing_size": [proc_w, proc_h],
        "output_size": [writer.width, writer.height], "rotation": info.rotation, "batch": batch,
        "model": getattr(engine.model, "source_path", None), **engine.describe(),
        **{**described, "notes": described["notes"] + reader.notes},
    }


def parse_size(text: str) -> tuple[int, int]:
    """An output size: ``640x360`` → (640, 360), sides 16 to 16384."""
    return sizes.parse_size(text, square=False, presets=False, sides=(16, 16384))


def parse_time(text: str) -> float:
    """Seconds from ``90``, ``90.5``, ``1:30`` or ``00:01:30.5``."""
    parts = text.strip().split(":")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        raise VStyleError(f"times look like 90, 1:30 or 00:01:30.5, got {text!r}") from None
    total = 0.0
    for value in values:
        total = total * 60 + value
    # float() takes "nan" and "inf".
    if not math.isfinite(total) or len(parts) > 3 or any(v < 0 for v in values):
        raise VStyleError(f"times look like 90, 1:30 or 00:01:30.5, got {text!r}")
    if any(v >= 60 for v in values[1:]):  # 1:70 is a typo, not 2:10
        raise VStyleError(f"minutes and seconds after a colon go up to 59, got {text!r}")
    return total
