"""Long videos in pieces: where a video can be cut (its keyframes), and joining stylised pieces back
into one file with the source's audio.

Pieces keep the source's timestamps (relative to the file's origin, as a whole-file run writes them),
so joining is a packet copy in order: no re-encoding, and the joined file has the frame count,
timestamps and duration that one writer would have given it. The audio is copied once, from the
source, the same way a whole-file run carries it (``AudioTrack``).
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Sequence

from ..errors import VStyleError
from ..flags import flag
from .atomic import atomic_output
from .video_audio import AudioTrack, holds_audio
from .video_source import VideoInfo, av_message, open_video

#: A cut closer than this (in frames) to the start or end of the range would make a sliver of a segment.
_MIN_FRAMES_PER_SEGMENT = 2


def keyframe_cuts(info: VideoInfo, every: float) -> list[float]:
    """Absolute times (s) of keyframes at which to start a new segment, about ``every`` seconds
    apart, strictly inside ``info``'s range [origin, end). Empty when the range is shorter than
    ``every`` or has no keyframe to cut at.

    Found by seeking to each target time and reading the keyframe there (the container's index),
    so a long file is not read through.
    """
    if every <= 0:
        raise VStyleError(f"{flag('segment_seconds')} must be > 0, got {every}")
    # The range's real end: a --duration past the end of the file stops at the file's end.
    end = info.origin + info.duration if info.duration else info.end
    if end is None or end - info.origin <= every:
        return []
    margin = _MIN_FRAMES_PER_SEGMENT / float(info.fps)
    container = open_video(info.path)
    try:
        vs = container.streams.video[0]
        tb = Fraction(vs.time_base or info.time_base)
        cuts: set[float] = set()
        target = info.origin + every
        while target < end - margin:
            container.seek(int(math.floor(target / tb)), stream=vs, backward=True, any_frame=False)
            for packet in container.demux(vs):
                if packet.pts is not None and packet.is_keyframe:
                    t = float(packet.pts * tb)
                    if info.origin + margin < t < end - margin:
                        cuts.add(t)
                    break
            target += every
    except Exception as exc:
        raise VStyleError(f"cannot find keyframes in {info.path}: {av_message(exc)}") from None
    finally:
        container.close()
    return sorted(cuts)


def join_segments(parts: Sequence[Path], dst: Path, source: VideoInfo | None, overwrite: bool = False,
                  created: str | None = None) -> int:
    """Copy the video packets of ``parts`` (in order) into ``dst``, written atomically, with the audio
    of ``source`` (``None``: no audio) trimmed to its range and ``created`` as its recording date;
    returns the number of video packets.

    The parts must come from the same encoder settings (checked: same codec parameters).
    """
    import av

    with atomic_output(dst, overwrite=overwrite) as tmp:
        inputs = [open_video(p) for p in parts]
        out = av.open(str(tmp), mode="w")
        audio: AudioTrack | None = None
        packets = 0
        try:
            first = inputs[0].streams.video[0]
            for p, c in zip(parts[1:], inputs[1:]):
                other = c.streams.video[0]
                if (other.codec_context.name, other.codec_context.extradata, other.width, other.height) != (
                        first.codec_context.name, first.codec_context.extradata, first.width, first.height):
                    raise VStyleError(f"segment {p.name} was encoded differently from the first; cannot join")
            if created:
                out.metadata["creation_time"] = created
            stream = out.add_stream_from_template(first)
            if source is not None and source.audio and holds_audio(out):
                audio = AudioTrack(source, out)
            out.start_encoding()
            shown = 0.0  # output time (s) reached by the video; audio is muxed up to it
            for c in inputs:
                vs = c.streams.video[0]
                for packet in c.demux(vs):
                    if packet.pts is None and packet.dts is None:
                        continue  # demuxer flush packet
                    if packet.pts is not None:
                        shown = max(shown, float(packet.pts * packet.time_base))
                    packet.stream = stream
                    out.mux(packet)
                    packets += 1
                    if audio is not None:
                        audio.mux_until(shown)
            if audio is not None:
                audio.finish(rest=True)
        except av.error.FFmpegError as exc:
            raise VStyleError(f"cannot join the segments of {dst.name}: {av_message(exc)}") from None
        finally:
            try:
                out.close()
            finally:
                if audio is not None:
                    audio.close()
                for c in inputs:
                    c.close()
    return packets
