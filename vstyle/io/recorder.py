"""An incremental H.264 mp4 recorder: open, write frames as they come, close to a playable file.

Frames carry their own times (variable frame rate), so a live recording plays back at the speed
it was captured even when the stylizer is slower than the camera. The file is written under a
temporary name and renamed on :meth:`Mp4Recorder.close` (see :mod:`vstyle.io.atomic`).
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import VStyleError
from .atomic import atomic_output

#: Timestamps are stored in milliseconds.
TIME_BASE = Fraction(1, 1000)


class Mp4Recorder:
    """Write H×W×3 uint8 RGB frames to ``path`` as H.264 (yuv420p) in mp4.

    The first frame fixes the size; later frames of another size are resized to it. Odd sizes
    lose their last row/column (yuv420p needs even sides).
    """

    def __init__(self, path: str | Path, fps: float = 30.0, overwrite: bool = False, crf: int = 20,
                 preset: str = "veryfast") -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in (".mp4", ".m4v", ".mov"):
            raise VStyleError(f"recording {self.path}: use an .mp4 name")
        self.fps = fps
        self.frames = 0
        self._opts = {"crf": str(crf), "preset": preset}
        self._stack = contextlib.ExitStack()
        # Enter the atomic-output context now so a clash with an existing file fails at once.
        self._tmp: Path = self._stack.enter_context(atomic_output(self.path, overwrite=overwrite))
        self._container: Any = None
        self._stream: Any = None
        self._last_pts = -1
        self._first_t: float | None = None

    def _open(self, height: int, width: int) -> None:
        import av

        try:
            self._container = av.open(str(self._tmp), mode="w", format="mp4")
        except OSError as exc:
            raise VStyleError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        stream = self._container.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1001))
        stream.width, stream.height = width - width % 2, height - height % 2
        stream.pix_fmt = "yuv420p"
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        stream.options = self._opts
        self._stream = stream

    def write(self, frame: np.ndarray, t: float | None = None) -> None:
        """Append one frame shown at ``t`` seconds (default: the next slot at ``fps``).

        Times are relative to the first frame written; a time that does not move forward is
        nudged by 1 ms so every frame is kept.
        """
        import av

        if self._stream is None:
            self._open(*frame.shape[:2])
        w, h = self._stream.width, self._stream.height
        if not (h <= frame.shape[0] <= h + 1 and w <= frame.shape[1] <= w + 1):
            import cv2

            frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
        frame = np.ascontiguousarray(frame[:h, :w])
        if t is None:
            t = self.frames / self.fps
        if self._first_t is None:
            self._first_t = t
        pts = max(int(round((t - self._first_t) * 1000)), self._last_pts + 1)
        self._last_pts = pts
        vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
        vf.pts, vf.time_base = pts, TIME_BASE
        for packet in self._stream.encode(vf):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> Path | None:
        """Flush the encoder, finalise the mp4 and move it into place.

        Returns the final path, or ``None`` when no frame was written (then no file is left).
        """
        if self._container is None:
            self.abort()
            return None
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
        except BaseException as exc:
            self._stack.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._stack.close()
        return self.path

    def abort(self) -> None:
        """Drop the recording: close the file and delete the temporary output."""
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
        err = VStyleError("recording aborted")
        self._stack.__exit__(VStyleError, err, None)
