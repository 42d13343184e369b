"""Decoded video frames to uint8 RGB with the colours a player shows.

The frame's own matrix (BT.601/709/2020) and range (limited/full) are honoured. Sources in a wide gamut
(BT.2020, DCI-P3, Display P3) or with an HDR or linear transfer (PQ, HLG) are mapped to BT.709 SDR, as
players and browsers do on an ordinary screen: read as plain numbers, an iPhone's HLG clip looks grey
and washed out (its diffuse white at 75 % signal comes out as grey 189, not white), and the network
would paint those muted colours. Everything else keeps its numbers: BT.601's primaries differ from
BT.709's too little to pay for the mapping, which costs about ten times a plain conversion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from av.video.frame import VideoFrame

#: AVColorPrimaries wider than BT.709: BT.2020, SMPTE 428 (XYZ), DCI-P3, Display P3.
_WIDE_PRIMARIES = {9: "BT.2020", 10: "XYZ", 11: "DCI-P3", 12: "Display P3"}
#: AVColorTransferCharacteristic that BT.709 numbers cannot stand in for: linear, PQ, SMPTE 428, HLG.
_HDR_TRANSFERS = {8: "linear", 16: "PQ", 17: "SMPTE 428", 18: "HLG"}
_BT709 = 1


def needs_mapping(frame: VideoFrame) -> bool:
    """Whether ``frame`` is tagged with a wide gamut or an HDR/linear transfer (see the module)."""
    return int(frame.color_primaries) in _WIDE_PRIMARIES or int(frame.color_trc) in _HDR_TRANSFERS


def describe_tags(frame: VideoFrame) -> str:
    """The tags that make ``frame`` need mapping, e.g. ``"HLG, BT.2020"``."""
    names = [_HDR_TRANSFERS.get(int(frame.color_trc)), _WIDE_PRIMARIES.get(int(frame.color_primaries))]
    return ", ".join(n for n in names if n)


def _transfer_name(frame: VideoFrame) -> str:
    from av.video.reformatter import ColorTrc

    try:
        return ColorTrc(int(frame.color_trc)).name
    except ValueError:
        return f"code {int(frame.color_trc)}"


class FrameToRGB:
    """Converts the frames of one stream to ``width``×``height`` uint8 RGB (see the module).

    Keep one per stream: FFmpeg builds the mapping's tables on its first frame (about 2 s), then each
    512² frame costs about 12 ms. Frames are scaled first, in the source's own RGB at 16 bits, so the
    mapping runs on the output's pixels, not a 4K frame's. When FFmpeg cannot map a transfer, frames
    keep their numbers and :attr:`note` says so.
    """

    def __init__(self) -> None:
        from av.video.reformatter import VideoReformatter

        self._scaler = VideoReformatter()
        self._mapper = VideoReformatter()
        self._unmappable = False
        #: One line for the user when the source was mapped (or could not be), else None.
        self.note: str | None = None

    def __call__(self, frame: VideoFrame, width: int, height: int) -> np.ndarray:
        """``frame`` scaled to ``width``×``height`` (area filter when shrinking, bicubic when growing)."""
        import av
        from av.video.reformatter import Interpolation

        shrink = width * height < frame.width * frame.height
        interpolation = Interpolation.AREA if shrink else Interpolation.BICUBIC
        if self._unmappable or not needs_mapping(frame):
            return self._scaler.reformat(frame, width=width, height=height, format="rgb24",
                                         interpolation=interpolation, src_color_range=frame.color_range,
                                         threads=1).to_ndarray()
        scaled = self._scaler.reformat(frame, width=width, height=height, format="gbrp16le",
                                       interpolation=interpolation, src_color_range=frame.color_range, threads=1)
        try:
            rgb = self._mapper.reformat(scaled, format="rgb24", src_color_range=scaled.color_range,
                                        dst_color_trc=_BT709, dst_color_primaries=_BT709, threads=1).to_ndarray()
        except av.error.FFmpegError:
            self._unmappable = True
            self.note = (f"its {describe_tags(frame)} colours are shown unmapped: FFmpeg cannot map its "
                         f"transfer ({_transfer_name(frame)}) to BT.709")
            return self(frame, width, height)
        if self.note is None:  # said once per stream, not formatted again for every frame
            self.note = f"{describe_tags(frame)} colours mapped to BT.709 SDR, as a player shows them"
        return rgb
