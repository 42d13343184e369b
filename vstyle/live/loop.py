"""The live loop: newest camera frame → engine → window / recording / virtual camera, keys → state.

One frame is in flight at a time and it is always the newest one the camera delivered, so the
latency is one capture plus one stylisation however slow the engine is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

import numpy as np

from ..errors import VStyleError
from ..io.camera import Frame, LatestFrameCapture
from ..io.images import fit_within, write_image
from ..io.recorder import Recorder
from ..models import StyleCode
from .overlay import compose, draw_overlay, overlay_lines
from .state import Action, LiveState, apply_key
from .stats import LiveStats, Snapshot

if TYPE_CHECKING:
    from ..engine.stylizer import StyleEngine
    from .window import Window

#: Why a run stopped, in words for the final line.
STOP_REASONS = {
    "frames": "frame limit reached",
    "seconds": "time limit reached",
    "quit": "quit",
    "interrupted": "interrupted",
    "end": "end of file",
    "lost": "stopped sending frames (unplugged?)",
}


@dataclass(frozen=True)
class LiveStyle:
    """A style ready to switch to: its name and its precomputed code."""

    name: str
    code: StyleCode


class FrameSink(Protocol):
    """Anything that takes the stylised frames (the virtual camera)."""

    def send(self, frame: np.ndarray) -> None: ...

    def close(self) -> None: ...


@dataclass
class LiveOptions:
    """How the loop runs and where key-triggered files go."""

    max_size: int | None = 512
    side_by_side: bool = False
    frames: int | None = None
    seconds: float | None = None
    record: Path | None = None
    out_dir: Path = Path(".")
    overwrite: bool = False


@dataclass
class LiveResult:
    """What happened: why it stopped, the whole-run numbers and the files written."""

    reason: str
    stats: Snapshot
    recordings: list[Path] = field(default_factory=list)
    snapshots: list[Path] = field(default_factory=list)


def unique_name(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem.suffix``, or ``stem-2``, ``stem-3``… if taken (never overwrites)."""
    path, n = folder / f"{stem}{suffix}", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{suffix}"
    return path


class _Outputs:
    """Recording and snapshots, started and stopped by keys; reports through ``notify``."""

    def __init__(self, options: LiveOptions, fps: float, notify: Callable[[str], None]) -> None:
        self.options = options
        self.fps = fps
        self.notify = notify
        self.recorder: Recorder | None = None
        self.recordings: list[Path] = []
        self.snapshots: list[Path] = []

    def start_recording(self, path: Path | None = None) -> bool:
        """Begin a recording (``path`` or a timestamped name in ``out_dir``); False if it cannot."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = path or unique_name(self.options.out_dir, f"vstyle-live-{stamp}", ".mp4")
        try:
            self.recorder = Recorder(target, fps=self.fps, overwrite=self.options.overwrite and path is not None)
        except VStyleError as exc:
            if path is not None:
                raise
            self.notify(f"cannot record: {exc}")
            return False
        self.notify(f"recording to {target}")
        return True

    def stop_recording(self) -> None:
        """Finalise the current recording (it plays) and report it."""
        rec, self.recorder = self.recorder, None
        if rec is None:
            return
        done = rec.close()
        if done is None:
            self.notify(f"recording stopped before any frame; {rec.path} not written")
        else:
            self.recordings.append(done)
            self.notify(f"recorded {done} ({rec.frames} frames)")

    def snapshot(self, image: np.ndarray) -> None:
        """Save the current stylised frame as a PNG in ``out_dir``."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = unique_name(self.options.out_dir, f"vstyle-snap-{stamp}", ".png")
        try:
            write_image(path, image)
        except VStyleError as exc:
            self.notify(f"cannot save snapshot: {exc}")
            return
        self.snapshots.append(path)
        self.notify(f"saved {path}")


def run_live(capture: LatestFrameCapture, first: Frame, engine: StyleEngine, styles: Sequence[LiveStyle],
             state: LiveState, options: LiveOptions, window: Window | None = None,
             virtual_cam: FrameSink | None = None, notify: Callable[[str], None] = print,
             on_frame: Callable[[Snapshot, LiveState], None] | None = None) -> LiveResult:
    """Run until a limit, a quit key, the end of the source or Ctrl-C; always finalises recordings.

    ``window`` is a :class:`~vstyle.live.window.Window` (or ``None`` headless); ``on_frame`` is
    called after each output frame (progress display). Recording stops cleanly on every exit
    path, so the mp4 plays even after Ctrl-C or an unplugged camera. The camera, the virtual
    camera and the window stay open: their owner (:class:`vstyle.jobs.live.LiveSession`) closes them.
    """
    stats = LiveStats()
    outputs = _Outputs(options, capture.fps, notify)
    # The first frame waited while the model loaded; a live camera has newer ones by now.
    capture.start_clock()
    frame: Frame | None = first if capture.lossless else (capture.read(timeout=0) or first)
    last: np.ndarray | None = None  # the latest stylised frame, for snapshots
    reason = "quit"
    try:
        if options.record is not None:
            outputs.start_recording(options.record)
            state = replace(state, recording=True)
        while True:
            if frame is None:
                frame = capture.read(timeout=0.005 if window is not None else 0.5)
                if frame is None:
                    if capture.ended:
                        reason = capture.ended
                        break
                    if window is not None:
                        keyed = _keys(window, state, outputs, last)
                        if keyed is None:
                            break
                        state = keyed
                    continue
            image = fit_within(frame.image, options.max_size)
            style = styles[state.style_index]
            out = engine.stylize(image[None], style.code, alpha=state.alpha, preserve_color=state.preserve_color)[0]
            stats.record(frame.captured_at, capture.captured, capture.dropped)
            last = out
            if outputs.recorder is not None:
                outputs.recorder.write(out, frame.pts)
            if virtual_cam is not None:
                virtual_cam.send(out)
            if window is not None:
                rec = outputs.recorder.path if outputs.recorder is not None else None
                view = compose(out, image if options.side_by_side else None)
                lines = overlay_lines(stats.current(), state, style.name, str(rec) if rec else None)
                window.show(draw_overlay(view, lines))
                keyed = _keys(window, state, outputs, last)
                if keyed is None:
                    break
                state = keyed
            if on_frame is not None:
                on_frame(stats.current(), state)
            frame = None
            if options.frames is not None and stats.frames >= options.frames:
                reason = "frames"
                break
            if options.seconds is not None and time.perf_counter() - stats.started >= options.seconds:
                reason = "seconds"
                break
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        outputs.stop_recording()
    return LiveResult(reason, stats.total(), outputs.recordings, outputs.snapshots)


def _keys(window: Window, state: LiveState, outputs: _Outputs, last: np.ndarray | None) -> LiveState | None:
    """Handle one key press from the window; ``None`` means quit."""
    state, actions = apply_key(state, window.poll(1))
    for action in actions:
        if action is Action.QUIT:
            return None
        if action is Action.SNAPSHOT and last is not None:
            outputs.snapshot(last)
        elif action is Action.START_RECORDING and not outputs.start_recording():
            state = replace(state, recording=False)
        elif action is Action.STOP_RECORDING:
            outputs.stop_recording()
    return None if window.closed() else state
