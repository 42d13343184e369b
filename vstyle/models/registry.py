"""Builders by architecture name, so weight files only need to store a name and a config."""

from __future__ import annotations

from typing import Any, Callable

from .decoder import VGGDecoder
from .sct import SCT
from .sctnet import SCTNet
from .vgg import VGGEncoder

Builder = Callable[[dict[str, Any]], SCTNet]
_BUILDERS: dict[str, Builder] = {}


def register(name: str) -> Callable[[Builder], Builder]:
    """Decorator: make ``build(name, config)`` call the decorated function."""

    def deco(fn: Builder) -> Builder:
        _BUILDERS[name] = fn
        return fn

    return deco


def architectures() -> list[str]:
    """Names accepted by :func:`build`."""
    return sorted(_BUILDERS)


def build(arch: str, config: dict[str, Any] | None = None) -> SCTNet:
    """A fresh (randomly initialised) network of architecture ``arch``."""
    try:
        fn = _BUILDERS[arch]
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r} (known: {', '.join(architectures())})") from None
    return fn(dict(config or {}))


@register("sctnet")
def build_sctnet(config: dict[str, Any]) -> SCTNet:
    """The official SCTNet: ``mode`` ``art`` (relu4_1) or ``photo`` (relu3_1)."""
    mode = config.get("mode", "art")
    if mode == "art":
        return SCTNet(VGGEncoder(4), SCT.artistic(), VGGDecoder(photo=False),
                      arch="sctnet", mode="art", multiple=8, min_style_side=33, config={"mode": "art"})
    if mode == "photo":
        return SCTNet(VGGEncoder(3), SCT.photo(), VGGDecoder(photo=True),
                      arch="sctnet", mode="photo", multiple=4, min_style_side=9, config={"mode": "photo"})
    raise ValueError(f"mode must be 'art' or 'photo', got {mode!r}")
