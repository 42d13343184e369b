"""``vstyle live``: stylise a webcam (or a file/URL standing in for one) as it runs."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import Any

import click

from ..errors import VStyleError
from ..sizes import MAX_STYLE_SIZE
from .common import FiniteFloatRange, engine_options, print_json
from .progress import discard, make_progress, stderr


def _raise_interrupt(signum: int, frame: Any) -> None:
    """SIGTERM stops the loop like Ctrl-C, so recordings are finalised."""
    raise KeyboardInterrupt


@click.command("live", context_settings={"max_content_width": 100})
@click.option("--style", "styles", multiple=True, required=True, metavar="PATH",
              help="Style image or folder of images; repeat to add styles to switch between (n/p keys).")
@click.option("--camera", default="0", show_default=True, metavar="INDEX|FILE|URL",
              help="Camera index, a video file standing in for a camera, or a stream URL.")
@click.option("--max-size", type=click.IntRange(0, 16384), default=512, show_default=True,
              help="Scale camera frames down so the longer side is at most this (0: full size).")
@click.option("--alpha", type=FiniteFloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="Starting style strength (+/- keys change it).")
@click.option("--preserve-color", is_flag=True, help="Start with the camera's colours kept (c key toggles).")
@click.option("--style-size", type=click.IntRange(33, MAX_STYLE_SIZE), default=None,
              help="Longer side the style images are scaled down to before encoding"
                   " [default: the model's own: 512, sctnet-mobile 256].")
@click.option("--side-by-side", is_flag=True, help="Show the camera frame beside the stylised one.")
@click.option("--no-window", is_flag=True, help="Run without a window (with --record and/or --virtual-cam).")
@click.option("--record", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="OUT.mp4",
              help="Record the stylised stream from the start (r key toggles recording in the window).")
@click.option("--virtual-cam", is_flag=True,
              help="Send the stylised stream to a virtual camera for video calls (needs vstyle[live]).")
@click.option("--virtual-cam-device", default=None, metavar="DEVICE",
              help="Virtual camera device, e.g. /dev/video10 (default: the first one found).")
@click.option("--frames", type=click.IntRange(1), default=None,
              help="Stop after this many stylised frames. With a file as camera, no frame is dropped.")
@click.option("--seconds", type=FiniteFloatRange(0.0, min_open=True), default=None,
              help="Stop after this many seconds.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Folder for snapshots (s) and recordings started with r.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --record file.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary at the end.")
@engine_options
def command(styles: tuple[str, ...], camera: str, max_size: int, alpha: float, preserve_color: bool,
            style_size: int | None, side_by_side: bool, no_window: bool, record: Path | None, virtual_cam: bool,
            virtual_cam_device: str | None, frames: int | None, seconds: float | None, out_dir: Path,
            overwrite: bool, as_json: bool, model: str | None, device: str, precision: str, backend: str,
            engine_path: str | None, threads: int | None, compile_: bool) -> None:
    """Stylise a webcam live; switch styles while it runs.

    \b
    Keys (window): n/p next/previous style, 1-9 pick a style, +/- style strength,
      c keep colours, s snapshot (PNG), r start/stop recording (mp4), q/Esc quit.
    \b
    A video file given as --camera is read at its own frame rate, dropping frames
    the stylizer cannot keep up with, like a real camera; with --frames N it is
    read without dropping so the run is repeatable.
    \b
    Examples:
      vstyle live --style starry.jpg --style scream.jpg --side-by-side
      vstyle live --style styles/ --no-window --virtual-cam   # for video calls
      vstyle live --style wave.jpg --camera clip.mp4 --no-window \\
          --record out.mp4 --frames 300
    """
    from ..jobs.engine import EngineSpec
    from ..jobs.live import LiveRequest, LiveSession, expand_styles
    from ..live.loop import STOP_REASONS, LiveOptions
    from ..live.state import LiveState

    if side_by_side and no_window:
        raise VStyleError("--side-by-side puts the camera frame beside the stylised one in the window, and "
                          "--no-window opens none (recordings and --virtual-cam get the stylised frame alone)")
    options = LiveOptions(max_size=max_size or None, side_by_side=side_by_side, frames=frames, seconds=seconds,
                          record=record, out_dir=out_dir, overwrite=overwrite)
    style_paths = expand_styles(styles)
    request = LiveRequest(tuple(style_paths), camera, options, style_size=style_size, window=not no_window,
                          virtual_cam=virtual_cam, virtual_cam_device=virtual_cam_device)
    engine = EngineSpec(model, device, precision, backend, engine_path, threads, compile_)
    with contextlib.ExitStack() as owned:
        with make_progress("styles/s", disable=as_json or len(style_paths) < 2) as progress:
            task = progress.add_task("encoding styles", total=len(style_paths))
            try:
                session = owned.enter_context(LiveSession(request, engine, on_style=lambda *_: progress.advance(task),
                                                          notify=lambda msg: stderr.print(msg)))
            except BaseException:
                discard(progress)
                raise
        state = LiveState(n_styles=len(session.styles), alpha=alpha, preserve_color=preserve_color)
        if no_window and record is None and not virtual_cam:
            click.echo("vstyle: note: --no-window without --record or --virtual-cam: frames are stylised but "
                       "neither shown nor saved (only the stats are printed)", err=True)
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        show_progress = session.window is None and not as_json
        try:
            with make_progress("fps", disable=not show_progress) as progress:
                task = progress.add_task("live", total=frames)

                def on_frame(snap: Any, st: LiveState) -> None:
                    progress.update(task, completed=snap.frames,
                                    description=f"{session.styles[st.style_index].name} · {snap.latency_ms:.0f} ms"
                                                f" · {snap.dropped} dropped")

                session.notify = progress.console.print if show_progress else (lambda msg: click.echo(msg, err=True))
                result = session.run(state, on_frame=on_frame if show_progress else None)
        finally:
            signal.signal(signal.SIGTERM, previous)
    spec, live_styles = session.spec, session.styles
    why = STOP_REASONS[result.reason]
    who = spec.label if result.reason in ("lost", "end") else "live"
    click.echo(f"{who}: {why}; {result.stats.line()}", err=True)
    if as_json:
        print_json({"camera": spec.label, "stopped": result.reason, **result.stats.as_dict(),
                    "max_size": max_size, "styles": [s.name for s in live_styles],
                    "recordings": [str(p) for p in result.recordings],
                    "snapshots": [str(p) for p in result.snapshots], **session.engine.describe()})
