"""Read videos with PyAV: probe a file, then decode upright uint8 RGB frames with their timestamps.

Any container and codec FFmpeg reads. Rotation metadata (the display matrix) is applied to the
pixels, so callers always see frames the way a player shows them. ``--start``/``--duration``
segments are cut precisely: seek to the keyframe before the start, then drop frames outside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, NamedTuple

import numpy as np

from ..errors import VStyleError, exception_line
from ..flags import flag

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.stream import Stream
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

#: A keyframe this much after a seek's target still counts as on target (timestamps are rounded).
_SEEK_SLACK_S = 1e-3
#: Seconds before a seek's target tried in turn when a demuxer lands late (then the file's beginning).
_SEEK_BACKOFF_S = (0.0, 2.0, 10.0, 60.0)
#: A video that stops this much (or two frames, if longer) before the end its file states is noted.
_EARLY_END_S = 0.5

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".m2ts", ".mts",
                  ".wmv", ".flv", ".3gp", ".ogv", ".gif")


class Frame(NamedTuple):
    """One decoded frame: H×W×3 uint8 RGB, upright; ``pts``/``duration`` in the source's time base,
    ``pts`` relative to the segment origin (so the first frame of a file usually has pts 0)."""

    image: np.ndarray
    pts: int
    duration: int


@dataclass(frozen=True)
class AudioInfo:
    """An audio stream of the source (copied or re-encoded by the sink)."""

    index: int
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class VideoInfo:
    """What a probe learnt about a video file (sizes are display sizes, after rotation)."""

    path: Path
    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    #: counter-clockwise degrees applied to the decoded pixels (0, 90, 180 or 270)
    rotation: int
    codec: str
    #: frames in the selected segment (exact when the container says so, else estimated)
    frames: int
    #: seconds of the selected segment
    duration: float
    #: absolute time (s) that maps to output time 0: the segment start
    origin: float
    #: absolute end time (s) of the segment, or None for "to the end of the file"
    end: float | None
    sample_aspect_ratio: Fraction | None
    audio: tuple[AudioInfo, ...]
    #: when the file says it was recorded (its container's ``creation_time``), kept on outputs
    creation_time: str | None = None

    @property
    def square_size(self) -> tuple[int, int]:
        """(width, height) in square pixels, as a player shows the frame: the width times the sample
        aspect ratio (DVD and HDV store non-square pixels), rounded to even; the size itself otherwise."""
        sar = self.sample_aspect_ratio
        if not sar or sar == 1:
            return self.width, self.height
        return max(2, round(self.width * sar / 2) * 2), self.height


def av_message(exc: BaseException) -> str:
    """A short one-line description of a PyAV/FFmpeg error."""
    strerror = getattr(exc, "strerror", None)
    return exception_line(Exception(strerror)) if strerror else exception_line(exc)


def open_video(path: Path) -> InputContainer:
    """Open a media file for reading; missing, empty or unreadable files are one-line errors."""
    import av

    if not path.exists():
        raise VStyleError(f"file not found: {path}")
    if path.is_dir():
        raise VStyleError(f"{path} is a folder, not a video")
    if path.stat().st_size == 0:
        raise VStyleError(f"{path} is empty")
    try:
        return av.open(str(path), mode="r")
    except PermissionError:  # PyAV's own subclasses it too
        raise VStyleError(f"cannot read {path}: permission denied") from None
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise VStyleError(f"{path} is not a video this tool can read ({av_message(exc)})") from None


def display_rotation(frame: VideoFrame) -> int:
    """Counter-clockwise degrees (multiple of 90) the display matrix asks for."""
    angle = frame.rotation or 0
    return int(round(angle / 90.0)) % 4 * 90


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a counter-clockwise rotation to H×W×3 pixels (a contiguous copy when rotated)."""
    if rotation == 0:
        return image
    return np.ascontiguousarray(np.rot90(image, k=rotation // 90))


def _fps(stream: VideoStream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0:
        return Fraction(25, 1)
    return Fraction(rate)


def _stream_seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def probe_video(path: str | Path, start: float = 0.0, duration: float | None = None) -> VideoInfo:
    """Open ``path``, check it has decodable video frames in the selected segment, and describe it.

    Raises VStyleError (one line) for missing, empty, corrupt, truncated or frameless files,
    and for segments outside the video.
    """
    import av

    path = Path(path)
    if start < 0:
        raise VStyleError(f"{flag('start')} must be ≥ 0, got {start}")
    if duration is not None and duration <= 0:
        raise VStyleError(f"{flag('duration')} must be > 0, got {duration}")
    container = open_video(path)
    try:
        if not container.streams.video:
            raise VStyleError(f"{path} has no video stream")
        vs = container.streams.video[0]
        tb = vs.time_base or Fraction(1, 90000)
        fps = _fps(vs)
        origin = file_start(container) + start
        end = origin + duration if duration is not None else None
        total_s = (container.duration / 1e6 if container.duration else
                   _stream_seconds(vs.duration, vs.time_base)) or 0.0
        if start and total_s and start >= total_s:
            raise VStyleError(f"{flag('start')} {start:g}s is past the end of {path} ({total_s:.3f}s)")
        first = _first_frame(container, vs, path, origin, end, seek=start > 0,
                             segment=bool(start) or duration is not None)
        rotation = display_rotation(first)
        h, w = first.height, first.width
        if rotation in (90, 270):
            w, h = h, w
        sar = vs.sample_aspect_ratio
        if sar and rotation in (90, 270):
            sar = 1 / Fraction(sar)
        if total_s:
            seg = max(0.0, total_s - start)
            seg = min(seg, duration) if duration is not None else seg
        else:
            seg = duration or 0.0
        whole = vs.frames if vs.frames and start == 0 and duration is None else 0
        frames = whole or max(1, round(seg * fps))
        audio = tuple(AudioInfo(index=a.index, codec=a.codec_context.name, sample_rate=a.codec_context.sample_rate or 0,
                                channels=a.codec_context.channels or 0)
                      for a in container.streams.audio if a.codec_context is not None)
        return VideoInfo(path=path, width=w, height=h, fps=fps, time_base=Fraction(tb), rotation=rotation,
                         codec=vs.codec_context.name, frames=frames, duration=seg, origin=origin, end=end,
                         sample_aspect_ratio=Fraction(sar) if sar else None, audio=audio,
                         creation_time=container.metadata.get("creation_time"))
    except av.error.FFmpegError as exc:
        raise VStyleError(f"cannot decode {path}: {av_message(exc)}") from None
    finally:
        container.close()


def _first_frame(container: InputContainer, vs: VideoStream, path: Path, origin: float, end: float | None,
                 seek: bool, segment: bool) -> VideoFrame:
    """The first frame of the segment (proves the file decodes and gives size and rotation); ``seek``:
    the segment starts later than the file."""
    tol = 0.01 / float(_fps(vs))
    if seek:
        seek_before(container, vs, origin)
    for frame in _decode(container, vs, path):
        t = frame.time
        if t is not None and t < origin - tol:
            continue
        if end is not None and t is not None and t >= end - tol:
            break
        return frame
    raise VStyleError(f"{path} has no video frames" + (" in the selected segment" if segment else ""))


def _decode(container: InputContainer, vs: VideoStream, path: Path) -> Iterator[VideoFrame]:
    """Decoded frames of ``vs``; a damaged packet (e.g. a truncated file) is an error, not silently
    skipped (threaded decoders would otherwise drop it without a word)."""
    for packet in container.demux(vs):
        if packet.is_corrupt:
            t = float(packet.pts * packet.time_base) if packet.pts is not None and packet.time_base else None
            where = f" at {t:.2f}s" if t is not None else ""
            raise VStyleError(f"{path} is truncated or damaged{where}")
        yield from packet.decode()


def file_start(container: InputContainer) -> float:
    """The container's first timestamp in seconds: a file's frames need not start at 0 (MPEG-TS files
    rarely do), and ``--start`` counts from here."""
    return container.start_time / 1e6 if container.start_time is not None else 0.0


def seek_before(container: InputContainer, stream: Stream, seconds: float) -> None:
    """Position ``container`` so that demuxing ``stream`` starts at a keyframe at or before ``seconds``
    (absolute), the callers dropping what comes before.

    Some demuxers seek only approximately: MPEG-TS searches the file for timestamps and can land on a
    later frame, one that is not a keyframe (nothing decodes until the next one), or past the end; any
    of these would silently lose the segment's first frames. So each landing is checked, and a bad one
    retried from further back, finally from the file's beginning: slower, nothing lost.
    """
    tb = stream.time_base or Fraction(1, 90000)
    start = float(stream.start_time * tb) if stream.start_time is not None else 0.0
    for back in _SEEK_BACKOFF_S:
        if back and seconds - back <= start:
            break  # further back than the stream's start: the beginning
        target = int(math.floor((seconds - back) / tb))
        container.seek(target, stream=stream, backward=True, any_frame=False)
        landed = next(((p.pts * tb, p.is_keyframe) for p in container.demux(stream) if p.pts is not None), None)
        if landed is not None and landed[1] and float(landed[0]) <= seconds + _SEEK_SLACK_S:
            container.seek(target, stream=stream, backward=True, any_frame=False)  # back to that keyframe
            return
    container.seek(0, stream=stream, backward=True, any_frame=False)


def _stated_end(vs: VideoStream) -> float | None:
    """Where the file says ``vs`` ends (absolute seconds): its start plus its duration, or Matroska's
    per-track DURATION tag ("HH:MM:SS.nnnnnnnnn", the track's last timestamp); None when it says nothing."""
    tb = vs.time_base
    if vs.duration and tb:
        return float(((vs.start_time or 0) + vs.duration) * tb)
    try:
        h, m, sec = str(vs.metadata.get("DURATION")).split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)
    except ValueError:
        return None


class VideoReader:
    """Decode a probed video to upright RGB frames, optionally scaled to ``size`` (W, H, display).

    Use as a context manager; iterate :meth:`frames` once. Frames come out as a player shows them:
    deinterlaced (:mod:`vstyle.io.deinterlace`), in display colours (:mod:`vstyle.io.frame_rgb`).
    Decoding, colour conversion and scaling run in FFmpeg without the GIL, so a reader thread overlaps
    with compute.
    """

    def __init__(self, info: VideoInfo, size: tuple[int, int] | None = None) -> None:
        self.info = info
        self.size = size or (info.width, info.height)
        self._container: InputContainer | None = None
        #: Things the user should know about the input once it is read (e.g. it ended early), one line each.
        self.notes: list[str] = []

    def __enter__(self) -> "VideoReader":
        self._container = open_video(self.info.path)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def frames(self) -> Iterator[Frame]:
        """Frames of the segment, in presentation order, with strictly increasing pts."""
        import av

        from .deinterlace import progressive
        from .frame_rgb import FrameToRGB

        if self._container is None:
            raise RuntimeError("VideoReader.frames() needs the reader to be entered (with ...)")
        info = self.info
        vs = self._container.streams.video[0]
        vs.thread_type = "AUTO"
        tb = info.time_base
        origin_pts = int(round(info.origin / tb))
        tol = 0.01 / float(info.fps)  # timestamps are rounded to the time base; allow for it
        step = max(1, int(round(1 / (info.fps * tb))))
        # Scale in coded orientation, then rotate: a 90° turn swaps the sides.
        w, h = self.size
        cw, ch = (h, w) if info.rotation in (90, 270) else (w, h)
        to_rgb = FrameToRGB()
        noted: str | None = None
        last_pts: int | None = None  # last output pts
        prev: int | None = None  # last input pts
        last_end = 0  # where the last frame read stops showing (input pts)
        count = 0
        try:
            if info.origin > file_start(self._container):  # a --start: the file's beginning needs no seek
                seek_before(self._container, vs, info.origin)
            for frame in progressive(_decode(self._container, vs, info.path), vs):
                pts = frame.pts
                if pts is None:  # containers without timestamps: synthesise them from the rate
                    pts = origin_pts if prev is None else prev + step
                prev = pts
                t = float(pts * tb)
                if t < info.origin - tol:
                    continue
                if info.end is not None and t >= info.end - tol:
                    break
                rgb = to_rgb(frame, cw, ch)
                if to_rgb.note != noted:  # said once, when the first frame is mapped (or cannot be)
                    noted = to_rgb.note
                    self.notes.append(f"{info.path.name}: {noted}")
                out_pts = max(0, pts - origin_pts)
                if last_pts is not None and out_pts <= last_pts:
                    out_pts = last_pts + 1  # keep pts strictly increasing for the encoder
                last_pts = out_pts
                count += 1
                shown = int(frame.duration or step)
                last_end = pts + shown
                yield Frame(upright(rgb, info.rotation), out_pts, shown)
        except av.error.FFmpegError as exc:
            raise VStyleError(f"cannot decode {info.path} (after {count} frames): {av_message(exc)}") from None
        if count == 0:
            raise VStyleError(f"{info.path} has no video frames")
        self._check_end(vs, float(last_end * tb))

    def _check_end(self, vs: VideoStream, stopped: float) -> None:
        """Note a video that stops well before the end its file states (Matroska and WebM cut short decode
        without an error, where a truncated MP4 is refused), unless the segment ends first anyway."""
        if self._container is None or "matroska" not in self._container.format.name:
            return  # a cut-short MP4, MOV or AVI is refused while decoding; others rarely state a length
        stated = _stated_end(vs)
        slack = max(_EARLY_END_S, 2 / float(self.info.fps))
        if stated is None or (self.info.end is not None and self.info.end < stated) or stopped >= stated - slack:
            return
        base = file_start(self._container)
        self.notes.append(f"{self.info.path.name}: the video stops at {stopped - base:.2f}s, but the file "
                          f"says it lasts {stated - base:.2f}s: it may be truncated")
