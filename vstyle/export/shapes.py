"""Frame shapes for engines and benchmarks: ``NxHxW`` parsing, optimisation profiles and their checks.

Pure functions (no TensorRT, no torch), so the shape logic is tested without a GPU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import sizes
from ..errors import VStyleError
from ..flags import flag

_SHAPE = re.compile(r"^\s*(\d+)\s*[x×X]\s*(\d+)\s*[x×X]\s*(\d+)\s*$")


@dataclass(frozen=True, order=True)
class FrameShape:
    """A batch of frames: N frames of H×W pixels (3 channels implied)."""

    batch: int
    height: int
    width: int

    def __str__(self) -> str:
        return f"{self.batch}x{self.height}x{self.width}"

    def nchw(self) -> tuple[int, int, int, int]:
        """(N, 3, H, W), the frames tensor's shape."""
        return (self.batch, 3, self.height, self.width)

    def dims(self) -> tuple[int, int, int]:
        return (self.batch, self.height, self.width)


@dataclass(frozen=True)
class Profile:
    """A TensorRT optimisation profile for the frames input: min ≤ opt ≤ max in every dimension."""

    min: FrameShape
    opt: FrameShape
    max: FrameShape

    def contains(self, shape: FrameShape) -> bool:
        """Whether ``shape`` lies within [min, max] in every dimension."""
        return all(lo <= v <= hi for lo, v, hi in zip(self.min.dims(), shape.dims(), self.max.dims()))

    def to_json(self) -> dict[str, str]:
        return {"min": str(self.min), "opt": str(self.opt), "max": str(self.max)}

    @classmethod
    def from_json(cls, obj: dict[str, str]) -> "Profile":
        return cls(parse_shape(obj["min"]), parse_shape(obj["opt"]), parse_shape(obj["max"]))


def parse_shape(text: str, what: str = "shape") -> FrameShape:
    """``"4x720x1280"`` → FrameShape(4, 720, 1280); one-line error otherwise."""
    m = _SHAPE.match(str(text))
    if not m:
        raise VStyleError(f"{what} must look like NxHxW (frames x height x width), e.g. 1x720x1280; got {text!r}")
    n, h, w = (int(g) for g in m.groups())
    if min(n, h, w) < 1:
        raise VStyleError(f"{what} {text!r}: every dimension must be at least 1")
    return FrameShape(n, h, w)


def round_up(value: int, multiple: int) -> int:
    """Smallest multiple of ``multiple`` that is ≥ ``value``."""
    return -(-value // multiple) * multiple


def min_side(multiple: int) -> int:
    """Smallest padded side the network takes: its deepest map must be ≥ 2 px for reflection padding."""
    return 2 * multiple


def default_profile(multiple: int, margin: int = 0) -> Profile:
    """Single frames from small to 1080p, tuned for 720p; batches up to 4 at 1080p.

    Sizes are what the network sees: frame + ``margin`` on each side, rounded up to ``multiple``.
    """
    def side(n: int) -> int:
        return round_up(n + 2 * margin, multiple)

    return Profile(FrameShape(1, side(64), side(64)), FrameShape(1, side(720), side(1280)),
                   FrameShape(4, side(1080), side(1920)))


def make_profile(multiple: int, min_shape: str | None = None, opt_shape: str | None = None,
                 max_shape: str | None = None, margin: int = 0) -> Profile:
    """A validated profile from ``--min-shape/--opt-shape/--max-shape`` (missing ones: the defaults).

    The shapes are frame sizes; H and W become what the engine hands the network: ``margin`` added on
    each side, then rounded up to the model stride, so a user may write 1x1080x1920 for a stride-8
    model with no margin and get 1x1088x1920.
    """
    base = default_profile(multiple, margin)

    def pick(text: str | None, default: FrameShape, what: str) -> FrameShape:
        if text is None:
            return default
        s = parse_shape(text, what)
        return FrameShape(s.batch, round_up(s.height + 2 * margin, multiple), round_up(s.width + 2 * margin, multiple))

    lo = pick(min_shape, base.min, flag("min_shape"))
    hi = pick(max_shape, base.max, flag("max_shape"))
    if opt_shape is None:
        # The default optimum clipped into the user's range, so only giving --max-shape still works.
        opt = FrameShape(*(min(max(v, a), b) for v, a, b in zip(base.opt.dims(), lo.dims(), hi.dims())))
    else:
        opt = pick(opt_shape, base.opt, flag("opt_shape"))
    profile = Profile(lo, opt, hi)
    validate_profile(profile, multiple)
    return profile


def validate_profile(profile: Profile, multiple: int) -> None:
    """min ≤ opt ≤ max per dimension; H, W multiples of the stride and ≥ 2 strides."""
    names = ("batch", "height", "width")
    for label, s in (("min", profile.min), ("opt", profile.opt), ("max", profile.max)):
        for name, v in zip(names[1:], (s.height, s.width)):
            if v % multiple:
                raise VStyleError(f"{label} shape {s}: {name} {v} is not a multiple of the model stride {multiple}")
            if v < min_side(multiple):
                raise VStyleError(f"{label} shape {s}: {name} {v} is below the smallest size {min_side(multiple)}")
    for name, lo, opt, hi in zip(names, profile.min.dims(), profile.opt.dims(), profile.max.dims()):
        if not lo <= opt <= hi:
            raise VStyleError(f"shapes must satisfy min ≤ opt ≤ max in {name}: got {lo}, {opt}, {hi} "
                              f"(min {profile.min}, opt {profile.opt}, max {profile.max})")


def check_in_profile(shape: FrameShape, profile: Profile, engine: str) -> None:
    """One-line error when a padded batch falls outside an engine's profile."""
    if not profile.contains(shape):
        raise VStyleError(f"frames {shape} (after padding) are outside the shapes engine {engine} was built for "
                          f"(min {profile.min}, max {profile.max}); rebuild it with vstyle export-trt "
                          f"{flag('min_shape')}/{flag('max_shape')}")


def parse_size(text: str) -> tuple[int, int]:
    """A benchmark frame size: ``512`` (square), ``WxH``, or a preset like ``720p`` → (width, height)."""
    return sizes.parse_size(text)


def parse_list(text: str, what: str) -> list[str]:
    """Comma-separated values, blanks and repeats dropped (a repeat would be measured twice); at least one."""
    items = list(dict.fromkeys(s.strip() for s in str(text).split(",") if s.strip()))
    if not items:
        raise VStyleError(f"{what} needs at least one value")
    return items
