"""Colour preservation by luminance transfer.

The stylised image keeps its luminance (BT.601 Y) and takes the content's chrominance
(Cb, Cr). This is the "luminance-only transfer" of Gatys et al. (2016, "Preserving colour in
neural artistic style transfer"): cheap, per-pixel, deterministic, so it is stable on video and
costs nothing per style (unlike recolouring the style image, which would need a new style code
for every frame).
"""

from __future__ import annotations

from torch import Tensor

_KR, _KB = 0.299, 0.114
_KG = 1.0 - _KR - _KB


def luminance(x: Tensor) -> Tensor:
    """BT.601 luma of N×3×H×W RGB, shaped N×1×H×W."""
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return _KR * r + _KG * g + _KB * b


def preserve_color(stylised: Tensor, content: Tensor) -> Tensor:
    """Luma of ``stylised`` with the chroma of ``content`` (both N×3×H×W RGB in [0, 1])."""
    y_s = luminance(stylised)
    y_c = luminance(content)
    # RGB = Y + (content RGB − content Y): adding the same luma offset keeps the chroma exactly.
    return (content - y_c + y_s).clamp(0, 1)
