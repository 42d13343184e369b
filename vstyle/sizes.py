"""The one parser of frame sizes written by people: ``640x360``, ``256`` (square), ``720p``."""

from __future__ import annotations

import re

from .errors import VStyleError

_SIZE = re.compile(r"^\s*(\d+)\s*[x×X]\s*(\d+)\s*$")
#: Named video sizes (width, height).
PRESETS = {"360p": (640, 360), "480p": (854, 480), "540p": (960, 540), "720p": (1280, 720),
           "1080p": (1920, 1080), "1440p": (2560, 1440), "2160p": (3840, 2160), "4k": (3840, 2160)}

#: The largest --style-size (longer side of a style image, px) the commands take.
MAX_STYLE_SIZE = 4096


def parse_size(text: str, *, square: bool = True, presets: bool = True,
               sides: tuple[int, int] = (1, 1 << 16)) -> tuple[int, int]:
    """``WxH`` (``x`` or ``×``), a number for a square (``square``) or a preset (``presets``) →
    (width, height), each side within ``sides``; anything else is a one-line error."""
    t = str(text).strip().lower()
    m = _SIZE.match(t)
    if m:
        w, h = int(m.group(1)), int(m.group(2))
    elif square and t.isdigit():
        w = h = int(t)
    elif presets and t in PRESETS:
        w, h = PRESETS[t]
    else:
        forms = ["WxH"] + (["a number (square)"] if square else []) + (["one of " + ", ".join(PRESETS)] if presets
                                                                       else [])
        raise VStyleError(f"size must be {' or '.join(forms)}; got {text!r}")
    lo, hi = sides
    if not (lo <= w <= hi and lo <= h <= hi):
        raise VStyleError(f"size must be between {lo} and {hi} px on each side; got {text!r}")
    return w, h
