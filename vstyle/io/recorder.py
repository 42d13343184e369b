"""Record a live stream to a video file: open, write frames as they come, close to a playable file.

A thin layer over :class:`~vstyle.io.video_sink.VideoWriter` for sources without a container
of their own (cameras): the size comes from the first frame, times are seconds (variable frame
rate, so a recording plays at the speed it was captured even when the stylizer is slower than
the camera), and the file appears under its name only once finalised (:mod:`vstyle.io.atomic`).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import VStyleError
from .atomic import atomic_output, check_writable

#: Timestamps are stored in milliseconds.
TIME_BASE = Fraction(1, 1000)
#: Containers that hold H.264.
RECORD_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")
#: Frames that may wait for the encoder before write() blocks.
QUEUE_FRAMES = 8


def check_target(path: Path, overwrite: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Fail early (one line) if ``path`` cannot be a recording: wrong container, exists, unwritable."""
    if path.suffix.lower() not in RECORD_SUFFIXES:
        raise VStyleError(f"cannot record to {path.name}: use one of {', '.join(RECORD_SUFFIXES)}")
    check_writable(path, overwrite, inputs)


class Recorder:
    """Write H×W×3 uint8 RGB frames to ``path`` (H.264 in mp4 by default).

    Encoding runs on a background thread so it overlaps the next stylisation; at most
    ``QUEUE_FRAMES`` frames wait, after which :meth:`write` blocks (a recording keeps every
    frame it is given). The target is checked (exists? writable?) at construction.
    """

    def __init__(self, path: str | Path, fps: float = 30.0, overwrite: bool = False) -> None:
        self.path = Path(path)
        check_target(self.path, overwrite)
        self.fps = Fraction(fps).limit_denominator(1001)
        self.frames = 0
        self._stack = contextlib.ExitStack()
        self._tmp: Path = self._stack.enter_context(atomic_output(self.path, overwrite=overwrite))
        self._writer: Any = None
        self._t0: float | None = None
        self._queue: queue.Queue[tuple[np.ndarray, int] | None] = queue.Queue(maxsize=QUEUE_FRAMES)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def write(self, frame: np.ndarray, t: float | None = None) -> None:
        """Queue one frame shown at ``t`` seconds (default: the next slot at ``fps``).

        Times count from the first frame; the writer keeps them strictly increasing. The frame
        must not be modified afterwards. Raises the encoder's error if encoding has failed.
        """
        self._raise_if_failed()
        if self._thread is None:
            self._thread = threading.Thread(target=self._encode, name="vstyle-recorder", daemon=True)
            self._thread.start()
        t = self.frames / float(self.fps) if t is None else t
        self._t0 = t if self._t0 is None else self._t0
        self._queue.put((frame, int(round((t - self._t0) * 1000))))
        self.frames += 1

    def _encode(self) -> None:
        from .video_sink import VideoWriter

        try:
            while (item := self._queue.get()) is not None:
                frame, pts = item
                if self._writer is None:
                    h, w = frame.shape[:2]
                    self._writer = VideoWriter(self._tmp, w, h, fps=self.fps, time_base=TIME_BASE)
                self._writer.write(frame, pts)
        except BaseException as exc:
            self._error = exc
            while self._queue.get() is not None:  # keep taking frames so write() never blocks for good
                pass

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _finish_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def close(self) -> Path | None:
        """Encode what is queued, finalise the file and move it into place.

        Returns the final path, or ``None`` (and no file) if nothing was written.
        """
        if self._thread is None:
            self.abort()
            return None
        self._finish_thread()
        try:
            self._raise_if_failed()
            self._writer.close()
        except BaseException as exc:
            self._stack.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._stack.close()
        return self.path

    def abort(self) -> None:
        """Drop the recording: stop encoding and delete the temporary file."""
        self._finish_thread()
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close(flush=False)
        err = VStyleError("recording aborted")
        self._stack.__exit__(VStyleError, err, None)
