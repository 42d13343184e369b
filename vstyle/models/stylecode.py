"""StyleCode: everything the per-frame path needs to know about a style, computed once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor


@dataclass(frozen=True)
class StyleCode:
    """Cached style statistics of an SCT model.

    ``sigma`` is the K×K uncentred second moment of the compressed style features
    (reference §1.3 step 4) and ``mean`` the per-channel style feature mean (C,).
    Both are linear in the SCT output, so blending codes equals blending SCT outputs.
    """

    sigma: Tensor
    mean: Tensor

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "StyleCode":
        """Move both tensors to ``device`` / ``dtype``."""
        return StyleCode(self.sigma.to(device=device, dtype=dtype), self.mean.to(device=device, dtype=dtype))

    @staticmethod
    def blend(codes: Sequence["StyleCode"], weights: Sequence[float]) -> "StyleCode":
        """Weighted mix of several styles; weights are normalised to sum to 1."""
        if len(codes) != len(weights) or not codes:
            raise ValueError("blend needs as many weights as codes, and at least one")
        total = float(sum(weights))
        if total <= 0 or any(w < 0 for w in weights):
            raise ValueError("style weights must be non-negative and not all zero")
        ws = [float(w) / total for w in weights]
        sigma = sum(w * c.sigma for w, c in zip(ws, codes))
        mean = sum(w * c.mean for w, c in zip(ws, codes))
        return StyleCode(sigma, mean)  # type: ignore[arg-type]
