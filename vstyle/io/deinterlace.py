"""Interlaced video (camcorder AVCHD, broadcast and DVD footage) made progressive, as players do.

An interlaced frame holds two fields taken 1/50 or 1/60 s apart; anything that moves shows as combs of
alternating lines, and the network would paint those combs as stripes. Frames the decoder flags as
interlaced go through FFmpeg's ``bwdif`` (one output frame per input frame, so frame count and
timestamps stay those of the file); progressive frames pass through untouched and cost nothing.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream


def progressive(frames: Iterator[VideoFrame], stream: VideoStream) -> Iterator[VideoFrame]:
    """``frames`` (decoded from ``stream``) with interlaced ones deinterlaced. Once a frame is flagged
    interlaced, the rest of the stream goes through the filter too (it needs the next frame, so output
    lags one frame); its timestamps are put back in the stream's time base."""
    graph: Any = None
    shape: tuple[int, int, str] | None = None  # the frames the graph was built for
    for frame in frames:
        if graph is None and not frame.interlaced_frame:
            yield frame
            continue
        if graph is not None and (frame.width, frame.height, frame.format.name) != shape:
            # The stream changed size or format (a broadcast recording switching programmes): finish
            # the graph built for the old frames and build one for the new.
            graph.vpush(None)
            yield from _drain(graph, stream)
            graph = None
        if graph is None:
            graph, shape = _bwdif(frame, stream), (frame.width, frame.height, frame.format.name)
        graph.vpush(frame)
        yield from _drain(graph, stream)
    if graph is not None:
        graph.vpush(None)
        yield from _drain(graph, stream)


def _bwdif(frame: VideoFrame, stream: VideoStream) -> Any:
    import av

    graph = av.filter.Graph()
    source = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format,
                              time_base=stream.time_base)
    # send_frame: one frame per frame (not per field); deint=interlaced: flagged frames only.
    bwdif = graph.add("bwdif", "mode=send_frame:parity=auto:deint=interlaced")
    sink = graph.add("buffersink")
    source.link_to(bwdif)
    bwdif.link_to(sink)
    graph.configure()
    return graph


def _drain(graph: Any, stream: VideoStream) -> Iterator[VideoFrame]:
    import av

    tb = Fraction(stream.time_base) if stream.time_base else None
    while True:
        try:
            frame = graph.vpull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return
        if tb is not None and frame.time_base and frame.time_base != tb:
            # bwdif halves the time base (room for field rate); keep the stream's, as the reader expects.
            scale = Fraction(frame.time_base) / tb
            if frame.pts is not None:
                frame.pts = round(frame.pts * scale)
            if frame.duration:
                frame.duration = round(frame.duration * scale)
            frame.time_base = tb
        yield frame
