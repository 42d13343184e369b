"""Options and helpers shared by the commands: model/engine options, style specs, JSON output."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import click

from ..engine.options import BACKENDS, PRECISIONS, check_device
from ..errors import VStyleError

if TYPE_CHECKING:
    import numpy as np

    from ..engine import Engine
    from ..engine.stylizer import StyleEngine
    from ..models import StyleCode

F = Callable[..., Any]


def _device_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return check_device(value)
    except VStyleError as exc:
        raise click.BadParameter(str(exc)) from None


def device_option(help: str = "Where to run.", default: str = "auto") -> Callable[[F], F]:
    """--device auto|cpu|cuda|cuda:N (the names of :mod:`vstyle.engine.options`)."""
    return click.option("--device", default=default, show_default=True, metavar="auto|cpu|cuda[:N]",
                        callback=_device_name, help=help)


def precision_option(help: str = "Compute precision (fp16 needs CUDA).", default: str = "fp32",
                     choices: Sequence[str] = PRECISIONS) -> Callable[[F], F]:
    """--precision NAME, one of ``choices`` (by default every engine precision)."""
    return click.option("--precision", type=click.Choice(list(choices)), default=default, show_default=True,
                        help=help)


def runtime_options(fn: F) -> F:
    """--device, --precision, --backend, --threads: where and how models run."""
    opts: list[Callable[[F], F]] = [
        device_option(),
        precision_option(),
        click.option("--backend", type=click.Choice(BACKENDS), default="auto", show_default=True,
                     help="Inference backend."),
        click.option("--threads", type=click.IntRange(1, 256), default=None, help="CPU threads."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def engine_options(fn: F) -> F:
    """--model, the runtime options, --engine, --compile."""
    opts: list[Callable[[F], F]] = [
        click.option("--model", "model", metavar="NAME|PATH", default=None,
                     help="Model name (in weights/ or $VSTYLE_HOME) or .safetensors path "
                          "[default: the shipped model]."),
        runtime_options,
        click.option("--engine", "engine_path", type=click.Path(dir_okay=False), default=None,
                     help="TensorRT engine file (for --backend trt)."),
        click.option("--compile", "compile_", is_flag=True, help="torch.compile the model (torch backend)."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def style_options(fn: F) -> F:
    """--style (repeatable, PATH[:WEIGHT]), --alpha, --preserve-color, --style-size."""
    opts = [
        click.option("--style", "styles", multiple=True, required=True, metavar="PATH[:WEIGHT]",
                     help="Style image; repeat to blend styles, e.g. --style a.jpg:0.7 --style b.jpg:0.3."),
        click.option("--alpha", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
                     help="Style strength: blends stylised and content features (0 = content, 1 = full style)."),
        click.option("--preserve-color", is_flag=True,
                     help="Keep the content's colours (luminance-only transfer, see README)."),
        click.option("--style-size", type=click.IntRange(33, 4096), default=None,
                     help="Longer side the style image is scaled down to before encoding"
                          " [default: the model's own: 512, sctnet-mobile 256]."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


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
        if weight < 0:
            raise VStyleError(f"style weight must be non-negative: {text}")
        return StyleSpec(Path(head), weight)
    return StyleSpec(Path(text), 1.0)


def build_engine(model: str | None, device: str, precision: str, backend: str, engine_path: str | None,
                 threads: int | None, compile_: bool, mode: str | None = None) -> Engine:
    """Load the model and wrap it in an :class:`~vstyle.engine.Engine`."""
    from ..interrupts import deferred_interrupts

    with deferred_interrupts():  # Ctrl-C inside torch's native initialisation aborts the process
        from ..engine import Engine
        from ..weights import load_model

    net = load_model(model if model is not None else _default_for_mode(mode))
    if mode is not None and net.mode != mode:
        raise VStyleError(f"--mode {mode} does not match the model, which is a {net.mode} model")
    return Engine(net, device=device, precision=precision, backend=backend, engine_path=engine_path,
                  threads=threads, compile=compile_)


def _default_for_mode(mode: str | None) -> str | None:
    return None if mode in (None, "art") else f"default-{mode}"


def load_style_code(engine: StyleEngine, styles: Sequence[str], style_size: int | None) -> StyleCode:
    """Encode every ``--style`` once and blend them by weight into one StyleCode."""
    from ..io.images import read_image
    from ..models import StyleCode

    specs = [parse_style_spec(s) for s in styles]
    if sum(s.weight for s in specs) <= 0:
        raise VStyleError("style weights must not all be zero")
    codes = [engine.style_code(read_image(s.path), max_size=style_size) for s in specs]
    return codes[0] if len(codes) == 1 else StyleCode.blend(codes, [s.weight for s in specs])


def check_max_size(max_size: int) -> int | None:
    """``--max-size``: 0 means full size (``None``); otherwise at least 16."""
    if 0 < max_size < 16:
        raise VStyleError(f"--max-size must be 0 (full size) or at least 16, got {max_size}")
    return max_size or None


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


def style_label(styles: Sequence[str]) -> str:
    """A short name for outputs: the style stems joined by '+'."""
    return "+".join(parse_style_spec(s).path.stem for s in styles)


def print_json(obj: Any) -> None:
    """One JSON object on stdout (``--json``)."""
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()
