"""Record a live stream to a video file: open, write frames as they come, close to a playable file.

A thin layer over :class:`~vstyle.io.video_sink.VideoWriter` for sources without a container
of their own (cameras): the size comes from the first frame, times are seconds (variable frame
rate, so a recording plays at the speed it was captured even when the stylizer is slower than
the camera), and the file appears under its name only once finalised (:mod:`vstyle.io.atomic`).
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import VStyleError
from .atomic import atomic_output, check_writable

#: Timestamps are stored in milliseconds.
TIME_BASE = Fraction(1, 1000)
#: Containers that hold H.264.
RECORD_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")


def check_target(path: Path, overwrite: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Fail early (one line) if ``path`` cannot be a recording: wrong container, exists, unwritable."""
    if path.suffix.lower() not in RECORD_SUFFIXES:
        raise VStyleError(f"cannot record to {path.name}: use one of {', '.join(RECORD_SUFFIXES)}")
    check_writable(path, overwrite, inputs)


class Recorder:
    """Write H×W×3 uint8 RGB frames to ``path`` (H.264 in mp4 by default).

    The target is checked (exists? writable?) at construction, so a bad name fails at once.
    """

    def __init__(self, path: str | Path, fps: float = 30.0, overwrite: bool = False) -> None:
        self.path = Path(path)
        check_target(self.path, overwrite)
        self.fps = Fraction(fps).limit_denominator(1001)
        self.frames = 0
        self._stack = contextlib.ExitStack()
        self._tmp: Path = self._stack.enter_context(atomic_output(self.path, overwrite=overwrite))
        self._writer = None
        self._t0: float | None = None

    def write(self, frame: np.ndarray, t: float | None = None) -> None:
        """Append one frame shown at ``t`` seconds (default: the next slot at ``fps``).

        Times count from the first frame; the writer keeps them strictly increasing.
        """
        from .video_sink import VideoWriter

        if self._writer is None:
            h, w = frame.shape[:2]
            self._writer = VideoWriter(self._tmp, w, h, fps=self.fps, time_base=TIME_BASE)
        t = self.frames / float(self.fps) if t is None else t
        self._t0 = t if self._t0 is None else self._t0
        self._writer.write(frame, int(round((t - self._t0) * 1000)))
        self.frames += 1

    def close(self) -> Path | None:
        """Finalise the file and move it into place; ``None`` (and no file) if nothing was written."""
        if self._writer is None:
            self.abort()
            return None
        try:
            self._writer.close()
        except BaseException as exc:
            self._stack.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._stack.close()
        return self.path

    def abort(self) -> None:
        """Drop the recording: close the writer without flushing and delete the temporary file."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close(flush=False)
        err = VStyleError("recording aborted")
        self._stack.__exit__(VStyleError, err, None)
