"""Video options shared by ``vstyle run`` and ``vstyle batch``, and their conversion to VideoOptions."""

from __future__ import annotations

from typing import Any, Callable

import click

F = Callable[..., Any]


def size_options(fn: F) -> F:
    """--max-size, --size, --keep-size."""
    opts = [
        click.option("--max-size", type=click.IntRange(0, 16384), default=1024, show_default=True,
                     help="Stylise at a smaller size: longer side at most this (0 = full size)."),
        click.option("--size", "size", metavar="WxH", default=None,
                     help="Stylise at exactly this size, e.g. 640x360 (overrides --max-size)."),
        click.option("--keep-size", is_flag=True,
                     help="Scale the result back to the input's size (default: output at the stylised size)."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def encode_options(fn: F) -> F:
    """--start, --duration, --codec, --crf, --preset, --bitrate, --no-audio, --batch."""
    from ..io.video_sink import PRESETS, X264_PRESET

    opts = [
        click.option("--start", default=None, metavar="TIME", help="Start at this time (90, 1:30, 0:01:30.5)."),
        click.option("--duration", default=None, metavar="TIME", help="Process only this long a segment."),
        click.option("--codec", default=None, metavar="NAME",
                     help="Video encoder: h264 (default: libx264 if present), libx265, libvpx-vp9, mpeg4, …"),
        click.option("--crf", type=click.IntRange(0, 63), default=None,
                     help="Constant quality for x264/x265/VP9/AV1 (lower = better) [default: 18 for x264]."),
        click.option("--preset", type=click.Choice(PRESETS), default=None, metavar="PRESET",
                     help=f"x264/x265 speed preset, {PRESETS[0]} … {PRESETS[-1]}: faster = less CPU, larger file "
                          f"[default: {X264_PRESET} for x264]; ultrafast keeps encoding out of the way on a busy CPU."),
        click.option("--bitrate", default=None, metavar="RATE", help="Target bitrate instead of --crf, e.g. 4M."),
        click.option("--no-audio", is_flag=True, help="Drop the audio (default: copy it, or re-encode to AAC)."),
        click.option("--batch", type=click.IntRange(0, 256), default=0, show_default=True,
                     help="Frames per engine call (0 = auto: 1 on CPU, up to 16 on CUDA)."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def video_options(*, max_size: int, size: str | None, keep_size: bool, start: str | None, duration: str | None,
                  codec: str | None, crf: int | None, bitrate: str | None, no_audio: bool, batch: int, alpha: float,
                  preserve_color: bool, overwrite: bool, keep_partial: bool, preset: str | None) -> Any:
    """Validate the flags and build a :class:`~vstyle.jobs.video.VideoOptions`."""
    from ..errors import VStyleError
    from ..io.video_sink import check_crf, check_preset, parse_bitrate, pick_encoder
    from ..jobs.video import VideoOptions, parse_size, parse_time
    from .common import check_max_size

    limit = check_max_size(max_size)
    if crf is not None and bitrate is not None:
        raise VStyleError("pass either --crf or --bitrate, not both")
    if crf is not None and codec is not None:
        check_crf(pick_encoder(codec), crf)
    check_preset(pick_encoder(codec), preset)
    return VideoOptions(
        max_size=limit, size=parse_size(size) if size else None, keep_size=keep_size,
        start=parse_time(start) if start else 0.0, duration=parse_time(duration) if duration else None,
        codec=codec, crf=crf, preset=preset, bitrate=parse_bitrate(bitrate) if bitrate else None, audio=not no_audio,
        batch=batch or None, alpha=alpha, preserve_color=preserve_color, overwrite=overwrite,
        keep_partial=keep_partial)
