"""Write videos with PyAV: RGB frames in, H.264 (or any FFmpeg encoder) out, audio carried over.

Output timestamps are the source's (same time base), so variable-frame-rate clips stay in sync
and the duration is kept. Frames are converted to BT.709 limited-range YUV (full range for encoders that
take only that, such as MJPEG) and tagged as such.
Closing always flushes the encoder and finalises the container, so even an interrupted file plays.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import VStyleError, either
from ..flags import flag
from .video_audio import AudioTrack, container_accepts, holds_audio
from .video_source import VideoInfo, av_message

#: Encoders tried for the default H.264 output, best first; the last is a non-H.264 fallback
#: present in every FFmpeg build.
H264_ENCODERS = ("libx264", "libopenh264", "h264_videotoolbox", "mpeg4")
#: Encoders with a constant-quality ``crf`` option, and the default quality for them.
CRF_ENCODERS = {"libx264": 18, "libx264rgb": 18, "libx265": 22, "libvpx": None, "libvpx-vp9": None,
                "libaom-av1": None, "libsvtav1": None}
#: x264's speed preset. Measured on the 2-core dev CPU at 512×512, crf 18 (60 frames of fox.mp4):
#: "medium" (x264's default) costs 19–22 ms of CPU per frame, a third of the int8 network's 60 ms,
#: "veryfast" 9–10 ms with a slightly smaller file; end-to-end speed on a CPU is shared with the network.
X264_PRESET = "veryfast"
#: Encoders that take x264's speed presets (``--preset``), and the presets, fastest first: "ultrafast"
#: costs 4 ms of CPU per 512×512 frame there (a third of "veryfast") for a file about a third larger.
PRESET_ENCODERS = ("libx264", "libx264rgb", "libx265")
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
#: The highest ``crf`` each of those encoders takes (FFmpeg would clamp a higher one silently).
CRF_MAX = {"libx264": 51, "libx264rgb": 51, "libx265": 51, "libvpx": 63, "libvpx-vp9": 63, "libaom-av1": 63,
           "libsvtav1": 63}
#: Containers a refusal suggests instead (suffix → FFmpeg format), most widely played first.
SUGGESTED_CONTAINERS = {".mp4": "mp4", ".mkv": "matroska", ".mov": "mov", ".webm": "webm", ".avi": "avi"}
#: MPEG-4 part 2 limits the time base denominator to 16 bits.
_SHORT_TIME_BASE = {"mpeg4", "msmpeg4", "msmpeg4v2", "h263", "h263p"}
#: Containers that store one frame rate instead of timestamps: the stream time base becomes 1/fps
#: (with the source's fine time base, AVI would claim hundreds of frames per second, Y4M thousands).
_FRAME_RATE_CONTAINERS = {"avi", "yuv4mpegpipe"}


def _encoder_exists(name: str) -> bool:
    import av

    try:
        return av.codec.Codec(name, "w").type == "video"
    except (av.codec.codec.UnknownCodecError, ValueError):
        return False


def pick_encoder(codec: str | None) -> str:
    """The FFmpeg encoder for ``--codec`` (``None``/``h264``: the best H.264 encoder in this build)."""
    if codec in (None, "h264", "avc"):
        for name in H264_ENCODERS:
            if _encoder_exists(name):
                return name
        raise VStyleError(f"this FFmpeg build has no H.264 or MPEG-4 encoder; pass {flag('codec')}")
    aliases = {"h265": "libx265", "hevc": "libx265", "vp9": "libvpx-vp9", "vp8": "libvpx", "av1": "libaom-av1"}
    name = aliases.get(codec, codec)
    if not _encoder_exists(name):
        raise VStyleError(f"unknown video encoder {codec!r} in this FFmpeg build "
                          "(try libx264, libx265, libvpx-vp9, mpeg4)")
    return name


def _probe_video_stream(container: Any, encoder: str) -> Any:
    """A small ``encoder`` stream in ``container`` (for :func:`container_accepts`)."""
    stream = container.add_stream(encoder, rate=24)
    stream.width, stream.height = 64, 48
    stream.pix_fmt = pixel_format(stream.codec_context.codec)
    stream.codec_context.options = _quiet_options(encoder)
    return stream


def pixel_format(codec: Any) -> str:
    """The format frames are converted to for ``codec`` (an encoder): 4:2:0 YUV where it takes it, in
    full range where that is the encoder's first choice (MJPEG refuses limited-range input), else the
    encoder's first format."""
    formats = [f.name for f in (codec.video_formats or [])]
    if not formats or ("yuv420p" in formats and not formats[0].startswith("yuvj")):
        return "yuv420p"
    return formats[0]


def _color_range(pix_fmt: str) -> int:
    """FFmpeg's colour range of a YUV ``pix_fmt``: 2 (full) for the JPEG ``yuvj`` formats, else 1 (limited)."""
    return 2 if pix_fmt.startswith("yuvj") else 1


def containers_holding(encoder: str) -> list[str]:
    """The suffixes in :data:`SUGGESTED_CONTAINERS` whose container can hold ``encoder``'s video."""
    return [suffix for suffix, fmt in SUGGESTED_CONTAINERS.items()
            if container_accepts(fmt, lambda c: _probe_video_stream(c, encoder))]


def _quiet_options(encoder: str) -> dict[str, str]:
    """Encoder options that keep an encoder's own logging off stderr (x265 prints twenty info lines)."""
    return {"x265-params": "log-level=error"} if encoder == "libx265" else {}


def check_preset(encoder: str, preset: str | None) -> None:
    """Refuse a ``--preset`` the encoder has no use for (FFmpeg would ignore it without a word)."""
    if preset is None:
        return
    if preset not in PRESETS:
        raise VStyleError(f"{flag('preset')} is one of {', '.join(PRESETS)}, got {preset!r}")
    if encoder not in PRESET_ENCODERS:
        raise VStyleError(f"{flag('preset')} is for x264 and x265; the {encoder} encoder has none")


def check_crf(encoder: str, crf: int | None) -> None:
    """Refuse a ``--crf`` the encoder would clamp."""
    top = CRF_MAX.get(encoder)
    if crf is not None and top is not None and crf > top:
        raise VStyleError(f"{flag('crf')} for {encoder} goes from 0 to {top}, got {crf}")


def parse_bitrate(text: str) -> int:
    """``4M``, ``800k`` or ``2500000`` → bits per second."""
    t = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}.get(t[-1:], 1)
    try:
        value = float(t[:-1] if scale != 1 else t)
    except ValueError:
        raise VStyleError(f"{flag('bitrate')} must look like 4M, 800k or 2500000, got {text!r}") from None
    if value <= 0:
        raise VStyleError(f"{flag('bitrate')} must be positive, got {text!r}")
    return int(value * scale)


def even_size(width: int, height: int) -> tuple[int, int]:
    """4:2:0 video needs even sides: round each down (at least 2)."""
    return max(2, width - width % 2), max(2, height - height % 2)


class VideoWriter:
    """Encode RGB frames to ``path`` (container from the suffix), optionally with ``audio_from``'s audio.

    ``width``×``height`` is the output size (made even); frames of another size are cropped to
    even sides and scaled. ``time_base`` is the time base of the pts passed to :meth:`write`.
    ``name`` is the file the user asked for, used in messages when ``path`` is a temporary name.
    Audio is dropped, with a line in :attr:`notes`, when the container cannot hold any (GIF).
    ``created``: the source's recording date (``creation_time``), written into the container.
    """

    def __init__(self, path: str | Path, width: int, height: int, fps: Fraction, time_base: Fraction,
                 codec: str | None = None, crf: int | None = None, bitrate: int | None = None,
                 sample_aspect_ratio: Fraction | None = None, audio_from: VideoInfo | None = None,
                 name: str | Path | None = None, preset: str | None = None, created: str | None = None) -> None:
        import av

        if crf is not None and bitrate is not None:
            raise VStyleError(f"pass either {flag('crf')} or {flag('bitrate')}, not both")
        self.path = Path(path)
        self.name = Path(name) if name is not None else self.path
        #: Things the user should know about the output (e.g. audio dropped), one line each.
        self.notes: list[str] = []
        self.encoder = pick_encoder(codec)
        self._default_codec = codec is None
        self.width, self.height = even_size(width, height)
        if (self.width, self.height) != (width, height):
            self.notes.append(f"{self.name.name}: written at {self.width}×{self.height}, not {width}×{height}: "
                              "video is written with even sides (4:2:0 needs them)")
        self.time_base = Fraction(time_base)
        self.frames = 0
        self._closed = False
        self.audio: AudioTrack | None = None
        try:
            self._out = av.open(str(self.path), mode="w")
        except (ValueError, av.error.FFmpegError) as exc:
            raise VStyleError(f"cannot write {self.name.suffix or 'files without an extension'} videos "
                              f"({av_message(exc)}); use .mp4, .mkv or .mov") from None
        try:
            if created:  # the recording date of the source: photo libraries sort videos by it
                self._out.metadata["creation_time"] = created
            self._stream = self._add_video(fps, crf, bitrate, sample_aspect_ratio, preset)
            if audio_from is not None and audio_from.audio:
                if holds_audio(self._out):
                    self.audio = AudioTrack(audio_from, self._out)
                else:
                    self.notes.append(f"{self.name.name}: {self.name.suffix} files cannot hold audio; "
                                      "the audio was left out")
            self._out.start_encoding()
        except BaseException as exc:
            self._out.close()
            if self.audio is not None:
                self.audio.close()
            if isinstance(exc, av.error.FFmpegError):
                raise VStyleError(f"cannot write {self.name}: {av_message(exc)}") from None
            raise
        from av.video.reformatter import VideoReformatter

        self._scaler = VideoReformatter()
        self._durations: dict[int, int] = {}
        self._last_pts = -1
        self._first_pts: int | None = None
        self._end_pts = 0  # where the last frame written stops showing
        self._frame_ticks = max(1, round(1 / (fps * self.encoder_time_base))) if fps else 1

    def _add_video(self, fps: Fraction, crf: int | None, bitrate: int | None, sar: Fraction | None,
                   preset: str | None) -> Any:
        from av.video.codeccontext import VideoCodecContext

        if not container_accepts(self._out.format.name, lambda c: _probe_video_stream(c, self.encoder)):
            if not self._default_codec:
                others = [s for s in containers_holding(self.encoder) if s != self.name.suffix.lower()]
                raise VStyleError(f"{self.name.suffix} files cannot hold {self.encoder} video; pass another "
                                  f"{flag('codec')}" + (f" or write {either(others)}" if others else ""))
            # No --codec and the container takes no H.264 (e.g. WebM, Ogg): use the container's own default.
            self.encoder = pick_encoder(self._out.default_video_codec)
        stream = self._out.add_stream(self.encoder, rate=fps)
        cc = stream.codec_context
        assert isinstance(cc, VideoCodecContext)
        self.pix_fmt = pixel_format(stream.codec_context.codec)
        cc.width, cc.height, cc.pix_fmt = self.width, self.height, self.pix_fmt
        self.encoder_time_base = self.time_base
        if self._out.format.name in _FRAME_RATE_CONTAINERS and fps:
            self.encoder_time_base = 1 / Fraction(fps)
        elif self.encoder in _SHORT_TIME_BASE and self.time_base.denominator > 65535:
            self.encoder_time_base = Fraction(1, 60000)
        cc.time_base = self.encoder_time_base
        stream.time_base = self.encoder_time_base
        if self.pix_fmt.startswith("yuv"):
            # BT.709, tagged, so players decode the colours we encoded; limited range but for the
            # full-range formats JPEG-style encoders take (MJPEG: yuvj420p).
            cc.colorspace, cc.color_primaries, cc.color_trc = 1, 1, 1
            cc.color_range = _color_range(self.pix_fmt)
        if sar:
            cc.sample_aspect_ratio = sar
        options: dict[str, str] = {}
        if bitrate is not None:
            cc.bit_rate = bitrate
        elif self.encoder in CRF_ENCODERS:
            check_crf(self.encoder, crf)
            quality = crf if crf is not None else CRF_ENCODERS[self.encoder]
            if quality is not None:
                options["crf"] = str(quality)
                if self.encoder.startswith("libvpx"):
                    options["b"] = "0"  # VP8/9 constant-quality mode needs the bitrate cap off
        elif crf is not None:
            raise VStyleError(f"{flag('crf')} is not supported by the {self.encoder} encoder; use {flag('bitrate')}")
        else:
            # No quality knob: pick a bitrate that keeps stylised textures (≈0.2 bit per pixel).
            cc.bit_rate = int(self.width * self.height * float(fps) * 0.2)
        check_preset(self.encoder, preset)
        if preset is not None:
            options["preset"] = preset
        elif self.encoder.startswith("libx264"):
            options["preset"] = X264_PRESET
        cc.options = {**options, **_quiet_options(self.encoder)}
        return stream

    @property
    def duration(self) -> float:
        """Seconds of video written so far: from the first frame's start to the last one's end."""
        if self._first_pts is None:
            return 0.0
        return float((self._end_pts - self._first_pts) * self.encoder_time_base)

    def describe(self) -> dict[str, Any]:
        """For ``--json``: encoder, pixel format, audio handling and notes."""
        return {"codec": self.encoder, "pix_fmt": self.pix_fmt,
                "audio": self.audio.describe() if self.audio is not None else [], "notes": list(self.notes)}

    def write(self, image: np.ndarray, pts: int, duration: int = 0) -> None:
        """Encode one H×W×3 uint8 RGB frame shown at ``pts`` for ``duration`` (source time base)."""
        import av
        from av.video.reformatter import Colorspace, Interpolation

        h, w = image.shape[:2]
        image = image[: h - h % 2 or h, : w - w % 2 or w]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        if self.encoder_time_base != self.time_base:
            pts = int(round(pts * self.time_base / self.encoder_time_base))
            duration = int(round(duration * self.time_base / self.encoder_time_base))
        pts = max(pts, self._last_pts + 1)
        self._last_pts = pts
        if self._first_pts is None:
            self._first_pts = pts
        self._end_pts = pts + (duration if duration > 0 else self._frame_ticks)
        grow = self.width * self.height > frame.width * frame.height
        yuv = self.pix_fmt.startswith("yuv")
        frame = self._scaler.reformat(frame, width=self.width, height=self.height, format=self.pix_fmt,
                                      dst_colorspace=Colorspace.ITU709 if yuv else None,
                                      dst_color_range=_color_range(self.pix_fmt) if yuv else None,
                                      interpolation=Interpolation.BICUBIC if grow else Interpolation.AREA,
                                      threads=1)
        frame.pts = pts
        frame.time_base = self.encoder_time_base
        if duration > 0:
            self._durations[pts] = duration
        try:
            self._mux(self._stream.encode(frame))
            if self.audio is not None:
                self.audio.mux_until(float(pts * self.encoder_time_base))
        except av.error.FFmpegError as exc:
            raise VStyleError(f"cannot encode {self.name}: {av_message(exc)}") from None
        self.frames += 1

    def _mux(self, packets: list[Any]) -> None:
        for packet in packets:
            # Encoders do not all carry frame durations to packets; the last one sets the file's duration.
            dur = self._durations.pop(packet.pts, None) if packet.pts is not None else None
            if dur is not None:
                packet.duration = dur
            self._out.mux(packet)

    def close(self, flush: bool = True, complete: bool = True) -> None:
        """Finalise the container so it plays (idempotent).

        ``flush``: first write the encoders' delayed frames (``False`` only closes: fast, for files
        about to be deleted). ``complete``: also write the audio up to the end of the segment
        (``False`` for partial files: the audio stops where the video stopped).
        """
        import av

        if self._closed:
            return
        self._closed = True
        try:
            if flush:
                self._mux(self._stream.encode(None))
                if self.audio is not None:
                    self.audio.finish(rest=complete)
        except av.error.FFmpegError as exc:
            raise VStyleError(f"cannot finish {self.name}: {av_message(exc)}") from None
        finally:
            try:
                self._out.close()
            finally:
                if self.audio is not None:
                    self.audio.close()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
