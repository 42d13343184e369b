"""What every job needs before its first frame: the engine (model loaded once) and the style code."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..errors import VStyleError, a_model
from ..flags import flag

if TYPE_CHECKING:
    import numpy as np

    from ..engine import Engine
    from ..engine.stylizer import StyleEngine
    from ..models import StyleCode


@dataclass(frozen=True)
class EngineSpec:
    """Which model to load and how to run it (the engine options); :meth:`build` loads it."""

    model: str | None = None
    device: str = "auto"
    precision: str = "fp32"
    backend: str = "auto"
    engine_path: str | None = None
    threads: int | None = None
    compile: bool = False
    mode: str | None = None  # art | photo: the default model of that mode, or a check of ``model``
    #: The job's estimate of the megapixels it will stylise (``math.inf``: no end), for ``auto``.
    megapixels: float | None = None

    def build(self) -> Engine:
        """Load the model and wrap it in an :class:`~vstyle.engine.Engine`."""
        from ..interrupts import deferred_interrupts

        with deferred_interrupts():  # Ctrl-C inside torch's native initialisation aborts the process
            from ..engine import Engine
            from ..weights import load_model

        mode = self.mode
        net = load_model(self.model if self.model is not None else
                         (None if mode in (None, "art") else f"default-{mode}"))
        if mode is not None and net.mode != mode:
            raise VStyleError(f"{flag('mode')} {mode} does not match the model, which is {a_model(net.mode)}")
        return Engine(net, device=self.device, precision=self.precision, backend=self.backend,
                      engine_path=self.engine_path, threads=self.threads, compile=self.compile,
                      megapixels=self.megapixels)


@dataclass(frozen=True)
class StyleSpec:
    """One ``--style`` argument: a path and its blend weight."""

    path: Path
    weight: float


def parse_style_spec(text: str) -> StyleSpec:
    """``a.jpg`` or ``a.jpg:0.7`` (a trailing ``:number`` is a weight; other colons belong to the path)."""
    head, sep, tail = text.rpartition(":")
    if sep and head:
        try:
            weight = float(tail)
        except ValueError:
            return StyleSpec(Path(text), 1.0)
        if not math.isfinite(weight) or weight < 0:  # float() takes "nan" and "inf"; they blend to black
            raise VStyleError(f"style weight must be a non-negative number: {text}")
        return StyleSpec(Path(head), weight)
    return StyleSpec(Path(text), 1.0)


def style_paths(styles: Sequence[str]) -> tuple[Path, ...]:
    """The style image files of ``--style`` arguments (outputs must never replace them)."""
    return tuple(parse_style_spec(s).path for s in styles)


def check_style_files(paths: Sequence[Path]) -> None:
    """One line for the first style image that is not there, before any output folder or model work."""
    for path in paths:
        if not path.is_file():
            raise VStyleError(f"style image not found: {path}")


def read_styles(styles: Sequence[str]) -> list[tuple[np.ndarray, float]]:
    """Every style read: (H×W×3 uint8 image, blend weight); the weights must not all be zero."""
    from ..io.images import read_image

    specs = [parse_style_spec(s) for s in styles]
    total = sum(s.weight for s in specs)
    if total <= 0:
        raise VStyleError("style weights must not all be zero")
    if not math.isfinite(total):
        raise VStyleError("style weights are too large to blend; give them as shares, e.g. a.jpg:0.7 b.jpg:0.3")
    return [(read_image(s.path), s.weight) for s in specs]


def load_style_code(engine: StyleEngine, styles: Sequence[str], style_size: int | None) -> StyleCode:
    """Encode every style once and blend them by weight into one StyleCode."""
    from ..models import StyleCode

    pairs = read_styles(styles)
    codes = [engine.style_code(image, max_size=style_size) for image, _ in pairs]
    return codes[0] if len(codes) == 1 else StyleCode.blend(codes, [w for _, w in pairs])


def stylize_still(engine: StyleEngine, code: StyleCode, image: np.ndarray, *, max_size: int | None,
                  keep_size: bool, alpha: float, preserve_color: bool,
                  size: tuple[int, int] | None = None) -> np.ndarray:
    """Stylise one H×W×3 uint8 image at ``size`` (W, H) or scaled down to ``max_size``; with
    ``keep_size`` the result is scaled back to the input's size."""
    from ..io.images import fit_within, resize

    h, w = image.shape[:2]
    x = resize(image, *size) if size else fit_within(image, max_size)
    out = engine.stylize(x[None], code, alpha=alpha, preserve_color=preserve_color)[0]
    return resize(out, w, h) if keep_size else out
