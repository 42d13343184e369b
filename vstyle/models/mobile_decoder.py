"""Light decoder for the mobile architecture: nearest ×2 upsampling + reflection-padded 3×3 convs.

No transposed convs (they checkerboard). The highest-resolution levels can use depthwise-separable
convs, which dominate the cost at large frame sizes otherwise.
"""

from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn


def level(cin: int, cout: int, upsample: bool, separable: bool) -> nn.Sequential:
    """One decoder level: [×2 nearest] → reflection pad 1 → 3×3 conv → ReLU.

    The separable form is 1×1 conv (cin→cout) → [×2 nearest] → pad → 3×3 depthwise → ReLU: a 1×1
    conv commutes with nearest upsampling, so doing it first runs it on a quarter of the pixels
    and upsamples ``cout`` rather than ``cin`` channels.
    """
    up = [nn.Upsample(scale_factor=2, mode="nearest")] if upsample else []
    if separable:
        layers = [nn.Conv2d(cin, cout, 1), *up, nn.ReflectionPad2d(1), nn.Conv2d(cout, cout, 3, groups=cout)]
    else:
        layers = [*up, nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True))


class MobileDecoder(nn.Module):
    """Features (``channels`` at stride 2^(len(widths)−1)) → RGB at full resolution, unbounded.

    Level 0 maps ``channels`` to ``widths[0]`` at the feature resolution; each later level
    upsamples ×2 (nearest) and maps to the next width; a final 1×1 conv gives RGB with no
    activation (like the official decoder; clamp for display). ``separable`` is how many of
    the highest-resolution levels use depthwise-separable convs.
    """

    def __init__(self, channels: int, widths: Sequence[int], separable: int = 0) -> None:
        super().__init__()
        if not widths:
            raise ValueError("the decoder needs at least one width")
        if not 0 <= separable <= len(widths):
            raise ValueError(f"separable must be 0…{len(widths)}, got {separable}")
        layers: list[nn.Module] = []
        cin = channels
        for i, width in enumerate(widths):
            layers.append(level(cin, width, upsample=i > 0, separable=i >= len(widths) - separable))
            cin = width
        self.body = nn.Sequential(*layers)
        # 1×1: the last level already mixes space; a 3×3 conv with 3 outputs (plus its padded copy)
        # was the costliest layer of the whole net at full resolution on CPU.
        self.out = nn.Conv2d(cin, 3, 1)
        self.stride = 2 ** (len(widths) - 1)

    def forward(self, x: Tensor) -> Tensor:
        """RGB of size stride·h × stride·w for features of size h × w."""
        return self.out(self.body(x))
