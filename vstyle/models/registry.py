"""Builders by architecture name, so weight files only need to store a name and a config.

Each builder lives beside its network; this table names where, and :func:`build` imports only the
module asked for (nothing registers itself as a side effect of being imported).
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from .sctnet import SCTNet

Builder = Callable[[dict[str, Any]], SCTNet]
#: Architecture name → (module, builder function).
_BUILDERS: dict[str, tuple[str, str]] = {
    "sctnet": ("vstyle.models.sctnet", "build_sctnet"),
    "sctnet-mobile": ("vstyle.models.sctnet_mobile", "build_sctnet_mobile"),
}


def architectures() -> list[str]:
    """Names accepted by :func:`build`."""
    return sorted(_BUILDERS)


def builder(arch: str) -> Builder:
    """The function that builds ``arch``."""
    try:
        module, name = _BUILDERS[arch]
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r} (known: {', '.join(architectures())})") from None
    fn: Builder = getattr(importlib.import_module(module), name)
    return fn


def build(arch: str, config: dict[str, Any] | None = None) -> SCTNet:
    """A fresh (randomly initialised) network of architecture ``arch``."""
    return builder(arch)(dict(config or {}))
