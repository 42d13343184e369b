"""Carry a source's audio streams into an output container, in step with the video being written.

Each stream is copied packet for packet when the output container can hold its codec, else
decoded and re-encoded with the container's default audio codec (AAC for MP4/MOV/MKV). Audio is
read from its own handle on the source file and muxed up to the time of the last video frame
written, so the output stays interleaved and memory stays flat however long the video is.
Segments (``--start``/``--duration``) are trimmed to match the video: whole packets when copying
(error under one packet, ~21 ms for AAC), to the sample when re-encoding.
"""

from __future__ import annotations

import functools
import io
from fractions import Fraction
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import VStyleError
from ..flags import flag
from .video_source import VideoInfo, av_message, file_start, seek_before

#: Streams are interleaved only roughly by time in files, so keep reading a little past the end.
_READ_PAST_END_S = 2.0


def container_accepts(format_name: str, add_stream: Callable[[Any], Any]) -> bool:
    """Whether a ``format_name`` container can hold the stream ``add_stream(container)`` adds.

    Tried on a scratch container in memory up to its header: some muxers (MOV with Opus, Ogg with
    AAC or H.264) accept the stream and only refuse it when the header is written.
    """
    import av

    try:
        probe = av.open(io.BytesIO(), mode="w", format=format_name)
    except (ValueError, av.error.FFmpegError):
        return False
    try:
        add_stream(probe)
        probe.start_encoding()
        return True
    except (ValueError, av.error.FFmpegError):
        return False
    finally:
        try:
            probe.close()
        except (ValueError, av.error.FFmpegError):
            pass


def _add_template(out: Any, template: Any) -> Any:
    """Add a stream copying ``template``'s codec parameters to container ``out``."""
    return out.add_stream_from_template(template)


def holds_audio(out: Any) -> bool:
    """Whether the output container ``out`` can hold audio at all (GIF, APNG and Y4M cannot)."""
    return out.default_audio_codec not in (None, "", "none")


#: Layouts for mono and stereo sources whose channel order the file does not say (AVI and Matroska
#: store only a count, e.g. a camera's PCM): MP4's muxer and the AAC encoder refuse such a layout.
_ORDERED_LAYOUTS = {1: "mono", 2: "stereo"}


def _ordered_layout(layout: Any) -> Any:
    """``layout``, or for one or two channels in no stated order, mono or stereo."""
    if layout is None or any(ch.name != "NONE" for ch in layout.channels):
        return layout
    import av

    name = _ORDERED_LAYOUTS.get(layout.nb_channels)
    return av.AudioLayout(name) if name else layout


class _Copy:
    """Packet copy of one stream, timestamps shifted so the segment starts at 0."""

    mode = "copy"

    def __init__(self, out: Any, src_stream: Any, trim_start: bool, origin: float, end: float | None) -> None:
        self.stream = out.add_stream_from_template(src_stream)
        layout = _ordered_layout(src_stream.codec_context.layout)
        if layout is not src_stream.codec_context.layout:
            self.stream.codec_context.layout = layout
        self.codec = src_stream.codec_context.name
        self.tb = Fraction(src_stream.time_base)
        self.offset = int(round(origin / self.tb))
        self.trim_start = trim_start
        self.origin, self.end = origin, end
        self.out = out

    def feed(self, packet: Any) -> None:
        t = float(packet.pts * self.tb)
        dur = float((packet.duration or 0) * self.tb)
        if self.end is not None and t >= self.end:
            return
        if self.trim_start and t + dur <= self.origin:
            return
        packet.pts -= self.offset
        if packet.dts is not None:
            packet.dts -= self.offset
        packet.stream = self.stream
        self.out.mux(packet)

    def flush(self) -> None:
        """Nothing is buffered when copying."""


class _Reencode:
    """Decode one stream and encode it with the container's default audio codec."""

    mode = "reencode"

    def __init__(self, out: Any, src_stream: Any, trim_start: bool, origin: float, end: float | None) -> None:
        import av

        self.codec = out.default_audio_codec
        rate = _supported_rate(self.codec, src_stream.codec_context.sample_rate or 48000)
        try:
            self.stream = out.add_stream(self.codec, rate=rate)
        except (ValueError, av.error.FFmpegError) as exc:
            raise VStyleError(f"cannot re-encode audio as {self.codec}: {av_message(exc)}; "
                              f"pass {flag('no_audio')}") from None
        layout = _ordered_layout(src_stream.codec_context.layout)
        if layout is not None and layout.nb_channels:
            self.stream.codec_context.layout = layout if layout.nb_channels <= 2 else "stereo"
        self.decoder = src_stream.codec_context
        self.rate = rate
        self.resampler: Any = None
        self.trim_start = trim_start
        self.origin, self.end = origin, end
        self.next_pts: int | None = None
        self.out = out

    def feed(self, packet: Any) -> None:
        for frame in self.decoder.decode(packet):
            self._frame(frame)

    def _frame(self, frame: Any) -> None:
        import av

        t = frame.time
        if t is None:
            t = self.origin if self.next_pts is None else self.origin + self.next_pts / self.rate
        frame, t = _trim(frame, t, self.origin if self.trim_start else None, self.end)
        if frame is None:
            return
        if self.resampler is None:
            cc = self.stream.codec_context
            self.resampler = av.AudioResampler(format=cc.format, layout=cc.layout, rate=cc.sample_rate,
                                               frame_size=cc.frame_size or None)
            self.next_pts = max(0, int(round((t - self.origin) * self.rate)))
        frame.pts = None  # the resampler's FIFO re-chunks the samples; pts are assigned below
        self._encode(self.resampler.resample(frame))

    def _encode(self, frames: list[Any]) -> None:
        for f in frames:
            f.pts = self.next_pts
            f.time_base = Fraction(1, self.rate)
            self.next_pts = (self.next_pts or 0) + f.samples
            self.out.mux(self.stream.encode(f))

    def flush(self) -> None:
        for frame in self.decoder.decode(None):
            self._frame(frame)
        if self.resampler is not None:
            self._encode(self.resampler.resample(None))
        self.out.mux(self.stream.encode(None))


def _trim(frame: Any, t: float, start: float | None, end: float | None) -> tuple[Any, float]:
    """Cut a decoded audio frame starting at ``t`` s to [start, end) to the sample; (None, t) if empty."""
    import av

    sr = frame.sample_rate
    n = frame.samples
    first = max(0, round((start - t) * sr)) if start is not None else 0
    last = min(n, round((end - t) * sr)) if end is not None else n
    if first == 0 and last == n:
        return frame, t
    if last <= first:
        return None, t
    data = frame.to_ndarray()
    if frame.format.is_planar:
        data = data[:, first:last]
    else:  # packed: one row of interleaved channels
        ch = frame.layout.nb_channels
        data = data[:, first * ch:last * ch]
    cut = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=frame.format.name, layout=frame.layout)
    cut.sample_rate = sr
    return cut, t + first / sr


def _supported_rate(codec: str, rate: int) -> int:
    """``rate`` if the encoder takes it, else the closest rate it takes, preferring higher ones
    (e.g. Opus has no 44.1 kHz: 48 kHz)."""
    import av

    rates = av.codec.Codec(codec, "w").audio_rates
    if not rates or rate in rates:
        return rate
    return min(rates, key=lambda r: (r < rate, abs(r - rate)))


class AudioTrack:
    """All audio streams of ``info`` added to the output container ``out`` (before its header is written).

    Call :meth:`mux_until` after each video frame and :meth:`finish` at the end.
    """

    def __init__(self, info: VideoInfo, out: Any) -> None:
        import av

        self.info = info
        self._out = out
        self._src = av.open(str(info.path), mode="r")
        trim_start = info.origin > file_start(self._src) + 1e-9
        self._streams: dict[int, _Copy | _Reencode] = {}
        try:
            for a in self._src.streams.audio:
                handler: _Copy | _Reencode
                if container_accepts(out.format.name, functools.partial(_add_template, template=a)):
                    handler = _Copy(out, a, trim_start, info.origin, info.end)
                else:  # the container cannot hold this codec
                    handler = _Reencode(out, a, trim_start, info.origin, info.end)
                self._streams[a.index] = handler
            if not self._streams:
                self._packets: Iterator[Any] = iter(())
                return
            if trim_start:
                seek_before(self._src, self._src.streams[next(iter(self._streams))], info.origin)
            self._packets = self._src.demux(*[self._src.streams[i] for i in self._streams])
        except BaseException:
            self._src.close()
            raise
        self._pending: Any = None

    def describe(self) -> list[dict[str, str]]:
        """For ``--json``: each audio stream's codec and whether it was copied or re-encoded."""
        return [{"codec": h.codec, "mode": h.mode} for h in self._streams.values()]

    def mux_until(self, seconds: float | None) -> None:
        """Mux audio packets up to ``seconds`` of output time (``None``: to the end of the segment)."""
        import av

        try:
            while True:
                packet = self._pending if self._pending is not None else next(self._packets, None)
                self._pending = None
                if packet is None:
                    return
                if packet.pts is None:
                    continue  # demuxer flush packets carry no data
                t = float(packet.pts * packet.time_base) - self.info.origin
                if seconds is not None and t > seconds:
                    self._pending = packet
                    return
                if self.info.end is not None and t + self.info.origin >= self.info.end + _READ_PAST_END_S:
                    self._packets = iter(())  # every stream is past the segment: stop reading
                    return
                self._streams[packet.stream.index].feed(packet)
        except av.error.FFmpegError as exc:
            raise VStyleError(f"audio of {self.info.path}: {av_message(exc)} "
                              f"(pass {flag('no_audio')} to skip audio)") from None

    def finish(self, rest: bool = True) -> None:
        """Flush any re-encoder; with ``rest``, first mux the rest of the segment's audio."""
        import av

        if rest:
            self.mux_until(None)
        try:
            for h in self._streams.values():
                h.flush()
        except av.error.FFmpegError as exc:
            raise VStyleError(f"audio of {self.info.path}: {av_message(exc)}") from None

    def close(self) -> None:
        """Release the source handle."""
        self._src.close()
