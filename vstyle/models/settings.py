"""How a network is run, stored with its weights (like torchvision's weights metadata and timm's
``pretrained_cfg``): the builders give an architecture's defaults, a model file may say otherwise."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from ..errors import a_model

#: The keys a model file's ``inference`` metadata may hold.
KEYS = ("style_size", "margin", "multiple", "mode")


@dataclass(frozen=True)
class InferenceSettings:
    """``style_size``: longer side style images are scaled down to (the scale the network was trained
    to read styles at); ``margin``: pixels of reflected context added on every side of a frame;
    ``multiple``: frames are padded to a multiple of this (at least the network's total stride);
    ``mode``: ``art`` or ``photo``."""

    style_size: int
    margin: int
    multiple: int
    mode: str

    def to_dict(self) -> dict[str, Any]:
        """The metadata form (JSON-ready)."""
        return asdict(self)

    def updated(self, stored: dict[str, Any], stride: int) -> InferenceSettings:
        """These settings (an architecture's defaults) overridden by a file's ``stored`` ones; raises
        ValueError for unknown keys or values the network cannot run with (``stride``: its total stride)."""
        unknown = sorted(set(stored) - set(KEYS))
        if unknown:
            raise ValueError(f"unknown inference settings {unknown}")
        merged = replace(self, **stored)
        for key in ("style_size", "margin", "multiple"):
            value = getattr(merged, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"inference setting {key} must be a non-negative integer, got {value!r}")
        if merged.multiple < 1 or merged.multiple % stride:
            raise ValueError(f"inference setting multiple must be a positive multiple of {stride}, "
                             f"got {merged.multiple}")
        if merged.mode != self.mode:
            raise ValueError(f"inference setting mode is {merged.mode!r} but the network is {a_model(self.mode)}")
        return merged
