"""Options and helpers shared by the commands: model/engine options, style specs, JSON output."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import click

from ..errors import VStyleError

F = Callable[..., Any]


def engine_options(fn: F) -> F:
    """--model, --device, --precision, --backend, --engine, --threads, --compile."""
    opts = [
        click.option("--model", "model", metavar="NAME|PATH", default=None,
                     help="Model name (in weights/ or $VSTYLE_HOME) or .safetensors path [default: the shipped model]."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                     help="Where to run."),
        click.option("--precision", type=click.Choice(["fp32", "fp16", "bf16"]), default="fp32", show_default=True,
                     help="Compute precision (fp16 needs CUDA)."),
        click.option("--backend", type=click.Choice(["auto", "torch", "ort", "trt"]), default="auto",
                     show_default=True, help="Inference backend."),
        click.option("--engine", "engine_path", type=click.Path(dir_okay=False), default=None,
                     help="TensorRT engine file (for --backend trt)."),
        click.option("--threads", type=click.IntRange(1, 256), default=None, help="CPU threads."),
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
                 threads: int | None, compile_: bool, mode: str | None = None) -> Any:
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


def read_styles(styles: Sequence[str]) -> list[tuple[Any, float]]:
    """Every ``--style`` read: (H×W×3 uint8 image, blend weight); the weights must not all be zero."""
    from ..io.images import read_image

    specs = [parse_style_spec(s) for s in styles]
    if sum(s.weight for s in specs) <= 0:
        raise VStyleError("style weights must not all be zero")
    return [(read_image(s.path), s.weight) for s in specs]


def load_style_code(engine: Any, styles: Sequence[str], style_size: int | None) -> Any:
    """Encode every ``--style`` once and blend them by weight into one StyleCode."""
    from ..models import StyleCode

    pairs = read_styles(styles)
    codes = [engine.style_code(image, max_size=style_size) for image, _ in pairs]
    return codes[0] if len(codes) == 1 else StyleCode.blend(codes, [w for _, w in pairs])


def check_max_size(max_size: int) -> int | None:
    """``--max-size``: 0 means full size (``None``); otherwise at least 16."""
    if 0 < max_size < 16:
        raise VStyleError(f"--max-size must be 0 (full size) or at least 16, got {max_size}")
    return max_size or None


def stylize_still(engine: Any, code: Any, image: Any, *, max_size: int | None, keep_size: bool, alpha: float,
                  preserve_color: bool, size: tuple[int, int] | None = None) -> Any:
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
