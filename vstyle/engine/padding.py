"""How frames are padded before the network, and the torch padding itself."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def pad_plan(h: int, w: int, multiple: int, margin: int = 0) -> tuple[tuple[int, int, int, int], str]:
    """How an H×W frame is padded before the network: ``(left, right, top, bottom)`` and the mode.

    ``margin`` on every side, then bottom/right to multiples of ``multiple``, by reflection; tiny
    frames, whose sides are too short to reflect that far, replicate their edge instead. The one
    rule for the torch path (:func:`pad_to_multiple`) and for backends that pad inside their graph.
    """
    ph, pw = (-(h + 2 * margin)) % multiple, (-(w + 2 * margin)) % multiple
    mode = "reflect" if margin + ph < h and margin + pw < w else "replicate"
    return (margin, margin + pw, margin, margin + ph), mode


def pad_to_multiple(x: Tensor, multiple: int, margin: int = 0) -> tuple[Tensor, int, int]:
    """Pad N×C×H×W as :func:`pad_plan` says.

    Returns (padded, H, W); the frame is ``padded[..., margin:margin + H, margin:margin + W]``.
    """
    h, w = x.shape[-2:]
    pads, mode = pad_plan(h, w, multiple, margin)
    if any(pads):
        x = F.pad(x, pads, mode=mode)
    return x, h, w
