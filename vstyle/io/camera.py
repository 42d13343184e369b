"""Camera (or file/URL standing in for one) capture on a thread that keeps only the newest frame.

Latency first: the consumer always gets the most recent frame and every frame it did not take
is counted as dropped, so nothing ever queues up behind a slow stylizer. ``lossless=True`` turns
that off for files (the reader waits for each frame to be taken), which makes a run over a file
deterministic. Cameras and stream URLs are read through OpenCV; files through vstyle's own reader
(:class:`~vstyle.io.video_source.VideoReader`), so a file plays in live exactly as ``vstyle run`` reads
it: deinterlaced, in display colours, in square pixels, at its own timestamps.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import VStyleError, exception_line
from ..flags import flag

#: How long a camera may take to open, and to deliver its first frame, before we give up.
OPEN_TIMEOUT_S = 4.0
FIRST_FRAME_TIMEOUT_S = 4.0
#: A file's first frame comes or the file is bad; it may take seconds (an HDR file's first frame
#: builds FFmpeg's colour tables), so it gets longer than a camera.
FILE_FIRST_FRAME_TIMEOUT_S = 60.0
#: A live camera whose reads keep failing for this long is treated as unplugged.
STALL_TIMEOUT_S = 1.5
#: Frame rate assumed when a file or camera does not report one.
FALLBACK_FPS = 30.0


@dataclass(frozen=True)
class Frame:
    """One captured frame: RGB pixels, its 1-based number in the source, and its times.

    ``pts`` is the presentation time in seconds (the file's own time for files, capture time for
    cameras); ``captured_at`` is ``time.perf_counter()`` when the read returned (for latency).
    """

    image: np.ndarray
    number: int
    pts: float
    captured_at: float


@dataclass(frozen=True)
class CameraSpec:
    """What ``--camera`` names: a device index, a file path or a stream URL."""

    source: int | str
    label: str

    @property
    def is_file(self) -> bool:
        """A local file (read at its own frame rate; ends at its last frame)."""
        return isinstance(self.source, str) and "://" not in self.source


def parse_camera(text: str) -> CameraSpec:
    """``0``/``1``… is a device index, ``scheme://…`` a stream URL, anything else a file that must exist."""
    text = text.strip()
    if text.isdigit():
        return CameraSpec(int(text), f"camera {int(text)}")
    if "://" in text:
        return CameraSpec(text, text)
    path = Path(text).expanduser()
    if not path.exists():
        raise VStyleError(f"{flag('camera')} {text}: no such file (use a device index like 0, a file or a URL)")
    if path.is_dir():
        raise VStyleError(f"{flag('camera')} {text} is a folder; use a device index, a video file or a URL")
    return CameraSpec(str(path), str(path))


def _quiet_opencv() -> Any:
    """Import cv2 with its log output off: probing a missing camera prints pages of warnings."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's AV_LOG_QUIET, read on first use
    import cv2

    # The call moved between 4.x releases: cv2.utils.logging (4.13 on) or cv2.setLogLevel (earlier).
    logging = getattr(cv2.utils, "logging", None)
    if logging is not None:
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    else:
        cv2.setLogLevel(0)  # type: ignore[attr-defined]  # 0 = LOG_LEVEL_SILENT; gone from 4.13's stubs
    return cv2


def open_capture(spec: CameraSpec, timeout_s: float = OPEN_TIMEOUT_S) -> OpenCVFrames | FileFrames:
    """Open ``spec`` (a file with vstyle's reader, anything else with OpenCV), or raise a one-line
    VStyleError within about ``timeout_s``.

    OpenCV's open runs on a helper thread because some drivers block far longer than
    ``CAP_PROP_OPEN_TIMEOUT_MSEC`` (which only the FFmpeg backend honours).
    """
    if spec.is_file:
        return FileFrames(Path(str(spec.source)))
    cv2 = _quiet_opencv()
    ms = int(timeout_s * 1000)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    box: dict[str, Any] = {}

    def _open() -> None:
        try:
            box["cap"] = cv2.VideoCapture(spec.source, cv2.CAP_ANY, params)
        except cv2.error as exc:  # some backends raise instead of returning a closed capture
            box["error"] = exception_line(exc, last=True, empty="OpenCV error")

    opener = threading.Thread(target=_open, name="vstyle-camera-open", daemon=True)
    opener.start()
    opener.join(timeout_s)
    if opener.is_alive():
        raise VStyleError(f"{spec.label} did not open within {timeout_s:g} s")
    cap = box.get("cap")
    if cap is None or not cap.isOpened():
        if isinstance(spec.source, int):
            if sys.platform.startswith("linux") and Path(f"/dev/video{spec.source}").exists():
                raise VStyleError(f"camera {spec.source} (/dev/video{spec.source}) cannot be opened: "
                                  "in use by another application, or no permission")
            raise VStyleError(f"no camera at index {spec.source} (not connected, or no permission to use it)")
        raise VStyleError(f"cannot open stream {spec.label}" + (f": {box['error']}" if "error" in box else ""))
    return OpenCVFrames(cap)


class OpenCVFrames:
    """A camera or stream opened by OpenCV, as RGB frames (their times are the capture clock's)."""

    def __init__(self, cap: Any) -> None:
        self._cap = cap
        self._cv2 = _quiet_opencv()
        fps = float(cap.get(self._cv2.CAP_PROP_FPS) or 0.0)
        #: Frames per second the source reports (a fallback when it reports none or nonsense).
        self.fps = fps if 1.0 <= fps <= 1000.0 else FALLBACK_FPS

    def read(self) -> tuple[np.ndarray, float | None] | None:
        """The next frame, RGB, and no time of its own; None when the read failed."""
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            return None
        return self._cv2.cvtColor(bgr, self._cv2.COLOR_BGR2RGB), None

    def release(self) -> None:
        """Release the device."""
        self._cap.release()


class FileFrames:
    """A video file read by :class:`~vstyle.io.video_source.VideoReader`, with its own timestamps."""

    def __init__(self, path: Path) -> None:
        from .video_source import VideoReader, probe_video

        info = probe_video(path)
        self.fps = float(info.fps)
        self._time_base = info.time_base
        self._reader = VideoReader(info, info.square_size).__enter__()
        self._frames: Iterator[Any] = self._reader.frames()

    def read(self) -> tuple[np.ndarray, float | None] | None:
        """The next frame, RGB, and its time in seconds; None at the end (a damaged tail ends it too)."""
        try:
            frame = next(self._frames)
        except (StopIteration, VStyleError):
            return None
        return frame.image, float(frame.pts * self._time_base)

    def release(self) -> None:
        """Close the file."""
        try:
            self._frames.close()  # type: ignore[attr-defined]
        except ValueError:  # the reader thread is still inside it (it gave up joining); the exit closes it
            return
        self._reader.__exit__(None, None, None)


class LatestFrameCapture:
    """Reads a source on a background thread and hands out only the newest frame.

    ``lossless``: never drop; the reader waits until each frame has been taken (files only).
    ``paced``: for files, read at the file's own frame rate as a camera would deliver it.
    """

    def __init__(self, source: OpenCVFrames | FileFrames, spec: CameraSpec, lossless: bool = False,
                 paced: bool = True) -> None:
        self._source = source
        self.spec = spec
        self.lossless = lossless
        self.paced = paced and spec.is_file and not lossless
        self.fps = source.fps
        # A paced file holds after its first frame until the consumer is ready (start_clock), so
        # it does not play on, unseen, while the model loads.
        self._go = threading.Event()
        if not self.paced:
            self._go.set()
        self._cond = threading.Condition()
        self._slot: Frame | None = None
        self._stop = False
        #: Frames read from the source, and frames overwritten before anyone took them.
        self.captured = 0
        self.dropped = 0
        #: Set when the source ends: ``"end"`` (end of file) or ``"lost"`` (camera stopped delivering).
        self.ended: str | None = None
        self._thread = threading.Thread(target=self._run, name="vstyle-capture", daemon=True)

    # ------------------------------------------------------------------ consumer side

    def start(self) -> "LatestFrameCapture":
        """Start the reader thread."""
        self._thread.start()
        return self

    def start_clock(self) -> None:
        """Paced files: play on from the first frame at the file's rate from now (no-op otherwise)."""
        self._go.set()

    def read(self, timeout: float | None = None) -> Frame | None:
        """The newest frame not yet returned; waits up to ``timeout`` s. ``None``: timed out or ended."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._slot is not None or self.ended is not None, timeout):
                return None
            frame, self._slot = self._slot, None
            self._cond.notify_all()
        if self.lossless and frame is not None:
            # A file read without dropping waits for the loop, not the loop for it: its latency
            # counts from when the loop takes the frame.
            frame = replace(frame, captured_at=time.perf_counter())
        return frame

    def close(self) -> None:
        """Stop the reader and release the device."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._go.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        self._source.release()

    # ------------------------------------------------------------------ reader thread

    def _run(self) -> None:
        start = time.perf_counter()
        failing_since: float | None = None
        number = 0
        while not self._stop:
            got = self._source.read()
            now = time.perf_counter()
            if got is None:
                if self.spec.is_file:
                    self._finish("end")
                    return
                # Live sources hiccup; only a sustained run of failures means the camera is gone.
                failing_since = failing_since or now
                if now - failing_since > STALL_TIMEOUT_S:
                    self._finish("lost")
                    return
                time.sleep(0.01)
                continue
            failing_since = None
            number += 1
            image, own_pts = got
            pts = own_pts if own_pts is not None else now - start  # a camera's: time since the first read
            if self.paced:
                delay = start + pts - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                now = time.perf_counter()
            frame = Frame(image, number, pts, now)
            with self._cond:
                if self.lossless:
                    self._cond.wait_for(lambda: self._slot is None or self._stop)
                if self._slot is not None:
                    self.dropped += 1
                self._slot = frame
                self.captured += 1
                self._cond.notify_all()
            if not self._go.is_set():
                self._go.wait()
                start = time.perf_counter() - pts

    def _finish(self, reason: str) -> None:
        with self._cond:
            self.ended = reason
            self._cond.notify_all()


def open_camera(spec: CameraSpec, lossless: bool = False) -> tuple[LatestFrameCapture, Frame]:
    """Open and start ``spec`` and wait for its first frame; one-line errors for every failure."""
    capture = LatestFrameCapture(open_capture(spec), spec, lossless=lossless).start()
    first_frame_timeout_s = FILE_FIRST_FRAME_TIMEOUT_S if spec.is_file else FIRST_FRAME_TIMEOUT_S
    first = capture.read(timeout=first_frame_timeout_s)
    if first is None:
        capture.close()
        if spec.is_file:
            raise VStyleError(f"{spec.label} has no readable video frames")
        raise VStyleError(f"{spec.label} opened but sent no frames within {first_frame_timeout_s:g} s "
                          "(is another application using it?)")
    return capture, first
