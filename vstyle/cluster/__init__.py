"""``vstyle batch --ray``: the batch on a Ray cluster (one loaded engine per worker actor), long videos
split into keyframe-aligned segments. Needs the optional extra ``vstyle[cluster]``."""

from __future__ import annotations

from types import ModuleType

from ..errors import VStyleError
from ..flags import flag


def require_ray() -> ModuleType:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise VStyleError(f"{flag('ray_address')} needs Ray: pip install 'vstyle[cluster]'") from None
    return ray
