"""Light decoder for the mobile architecture: ×2 upsampling + reflection-padded 3×3 convs.

No transposed convs (they checkerboard). Upsampling is nearest or bilinear: with only a few narrow
convs after it, nearest leaves the stride-8 block structure visible on flat areas; bilinear hands
the convs a smooth map to refine instead. The highest-resolution levels can use depthwise-separable
convs, which dominate the cost at large frame sizes otherwise.
"""

from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn


UPSAMPLE_MODES = ("nearest", "bilinear")


def level(cin: int, cout: int, upsample: bool, separable: bool, mode: str = "nearest") -> nn.Sequential:
    """One decoder level: [×2 upsampling] → reflection pad 1 → 3×3 conv → ReLU.

    The separable form is 1×1 conv (cin→cout) → [×2 upsampling] → pad → 3×3 depthwise → ReLU: a 1×1
    conv commutes with nearest and with bilinear upsampling (both mix each channel spatially with
    weights summing to 1), so doing it first runs it on a quarter of the pixels and upsamples
    ``cout`` rather than ``cin`` channels.
    """
    if mode not in UPSAMPLE_MODES:
        raise ValueError(f"upsampling must be one of {UPSAMPLE_MODES}, got {mode!r}")
    # align_corners=False: the half-pixel convention ONNX Resize and TensorRT implement natively.
    corners = False if mode == "bilinear" else None  # nearest takes no align_corners
    up = [nn.Upsample(scale_factor=2, mode=mode, align_corners=corners)] if upsample else []
    if separable:
        layers = [nn.Conv2d(cin, cout, 1), *up, nn.ReflectionPad2d(1), nn.Conv2d(cout, cout, 3, groups=cout)]
    else:
        layers = [*up, nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True))


class SeparableResidual(nn.Module):
    """x + (pad → 3×3 depthwise → 1×1 → ReLU → pad → 3×3 depthwise → 1×1)(x), at constant width.

    Depthwise-separable: about a ninth of a full 3×3 block's cost, so several fit in the decoder's
    budget at the bottleneck, where they turn SCT features into strokes before any upsampling.
    """

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3, groups=width), nn.Conv2d(width, width, 1),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3, groups=width), nn.Conv2d(width, width, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Same shape as ``x``."""
        return x + self.body(x)


class MobileDecoder(nn.Module):
    """Features (``channels`` at stride 2^(len(widths)−1)) → RGB at full resolution, unbounded.

    Level 0 maps ``channels`` to ``widths[0]`` at the feature resolution; each later level
    upsamples ×2 and maps to the next width; a final 1×1 conv gives RGB with no
    activation (like the official decoder; clamp for display). ``separable`` is how many of
    the highest-resolution levels use depthwise-separable convs; ``upsample`` is ``"nearest"`` or
    ``"bilinear"`` (no parameters either way, so weights move between the two). ``res_blocks`` > 0
    puts a 1×1 conv to ``res_width`` channels and that many :class:`SeparableResidual` blocks before
    level 0 (0: the original layout, and the parameter names of files saved before it existed).
    """

    def __init__(self, channels: int, widths: Sequence[int], separable: int = 0, upsample: str = "nearest",
                 res_blocks: int = 0, res_width: int = 128) -> None:
        super().__init__()
        if not widths:
            raise ValueError("the decoder needs at least one width")
        if not 0 <= separable <= len(widths):
            raise ValueError(f"separable must be 0…{len(widths)}, got {separable}")
        if res_blocks < 0 or res_width < 1:
            raise ValueError(f"res_blocks must be >= 0 and res_width >= 1, got {res_blocks}, {res_width}")
        cin = channels
        self.bottleneck: nn.Module
        if res_blocks:
            self.bottleneck = nn.Sequential(nn.Conv2d(channels, res_width, 1), nn.ReLU(inplace=True),
                                            *(SeparableResidual(res_width) for _ in range(res_blocks)))
            cin = res_width
        else:
            self.bottleneck = nn.Identity()
        layers: list[nn.Module] = []
        for i, width in enumerate(widths):
            layers.append(level(cin, width, upsample=i > 0, separable=i >= len(widths) - separable, mode=upsample))
            cin = width
        self.body = nn.Sequential(*layers)
        # 1×1: the last level already mixes space; a 3×3 conv with 3 outputs (plus its padded copy)
        # was the costliest layer of the whole net at full resolution on CPU.
        self.out = nn.Conv2d(cin, 3, 1)
        self.stride = 2 ** (len(widths) - 1)

    def forward(self, x: Tensor) -> Tensor:
        """RGB of size stride·h × stride·w for features of size h × w."""
        return self.out(self.body(self.bottleneck(x)))
