"""The AdaIN/CCPL decoder (reference §1.2): full (from relu4_1) and photo (modules 10…28, from relu3_1)."""

from __future__ import annotations

from torch import nn

from .vgg import make_layer

# (kind, in, out) for the 29-module artistic decoder; the photo decoder is entries 10…28.
_LAYOUT: list[tuple[str, int, int]] = [
    ("pad", 0, 0), ("conv", 512, 256), ("relu", 0, 0), ("up", 0, 0),
    ("pad", 0, 0), ("conv", 256, 256), ("relu", 0, 0),
    ("pad", 0, 0), ("conv", 256, 256), ("relu", 0, 0),
    ("pad", 0, 0), ("conv", 256, 256), ("relu", 0, 0),
    ("pad", 0, 0), ("conv", 256, 128), ("relu", 0, 0), ("up", 0, 0),
    ("pad", 0, 0), ("conv", 128, 128), ("relu", 0, 0),
    ("pad", 0, 0), ("conv", 128, 64), ("relu", 0, 0), ("up", 0, 0),
    ("pad", 0, 0), ("conv", 64, 64), ("relu", 0, 0),
    ("pad", 0, 0), ("conv", 64, 3),
]
PHOTO_START = 10


class VGGDecoder(nn.Sequential):
    """Mirror of the encoder; output is unbounded RGB (clamp to [0, 1] for display)."""

    def __init__(self, photo: bool = False) -> None:
        layout = _LAYOUT[PHOTO_START:] if photo else _LAYOUT
        super().__init__(*[make_layer(*spec) for spec in layout])
        self.photo = photo
