"""The ``vgg_normalised`` encoder of AdaIN/CCPL (reference §1.1), truncated at relu4_1 or relu3_1.

Module indices equal the official state-dict keys, so the official file loads by index.
"""

from __future__ import annotations

from torch import Tensor, nn

# (kind, in, out) for the first 31 modules; "conv" entries are 3×3 valid convs after a reflection pad.
_LAYOUT: list[tuple[str, int, int]] = [
    ("conv1x1", 3, 3),
    ("pad", 0, 0), ("conv", 3, 64), ("relu", 0, 0),          # relu1_1 (idx 3)
    ("pad", 0, 0), ("conv", 64, 64), ("relu", 0, 0),
    ("pool", 0, 0),
    ("pad", 0, 0), ("conv", 64, 128), ("relu", 0, 0),        # relu2_1 (idx 10)
    ("pad", 0, 0), ("conv", 128, 128), ("relu", 0, 0),
    ("pool", 0, 0),
    ("pad", 0, 0), ("conv", 128, 256), ("relu", 0, 0),       # relu3_1 (idx 17)
    ("pad", 0, 0), ("conv", 256, 256), ("relu", 0, 0),
    ("pad", 0, 0), ("conv", 256, 256), ("relu", 0, 0),
    ("pad", 0, 0), ("conv", 256, 256), ("relu", 0, 0),
    ("pool", 0, 0),
    ("pad", 0, 0), ("conv", 256, 512), ("relu", 0, 0),       # relu4_1 (idx 30)
]

#: End index (exclusive) of each tap: relu1_1, relu2_1, relu3_1, relu4_1.
TAP_ENDS = (4, 11, 18, 31)
TAP_NAMES = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
TAP_CHANNELS = (64, 128, 256, 512)


def make_layer(kind: str, cin: int, cout: int) -> nn.Module:
    """One module of an official layout (the VGG encoder's and the AdaIN decoder's ``(kind, in, out)``
    lists), so both rebuild the official checkpoints' module indices."""
    if kind == "conv1x1":
        return nn.Conv2d(cin, cout, 1)
    if kind == "conv":
        return nn.Conv2d(cin, cout, 3)
    if kind == "pad":
        return nn.ReflectionPad2d(1)
    if kind == "relu":
        return nn.ReLU()
    if kind == "up":
        return nn.Upsample(scale_factor=2, mode="nearest")
    if kind == "pool":
        return nn.MaxPool2d(2, 2, 0, ceil_mode=True)
    raise ValueError(f"unknown layer kind {kind!r}")


class VGGEncoder(nn.Sequential):
    """vgg_normalised up to relu4_1 (``depth=4``, artistic) or relu3_1 (``depth=3``, photo).

    Input: RGB in [0, 1], no mean/std normalisation (the leading 1×1 conv does it).
    """

    def __init__(self, depth: int = 4) -> None:
        if depth not in (1, 2, 3, 4):
            raise ValueError("depth must be 1..4")
        end = TAP_ENDS[depth - 1]
        super().__init__(*[make_layer(*spec) for spec in _LAYOUT[:end]])
        self.depth = depth
        self.channels = TAP_CHANNELS[depth - 1]
        self.tap_channels = TAP_CHANNELS[:depth]
        self.tap_names = TAP_NAMES[:depth]

    def features(self, x: Tensor) -> list[Tensor]:
        """All taps from relu1_1 to the deepest one (used by the losses)."""
        out: list[Tensor] = []
        start = 0
        for end in TAP_ENDS[: self.depth]:
            for i in range(start, end):
                x = self[i](x)
            out.append(x)
            start = end
        return out
