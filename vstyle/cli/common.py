"""Options and helpers shared by the commands: model/engine options, style options, JSON output."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, Callable, Sequence

import click

from ..engine.options import BACKENDS, PRECISIONS, check_device
from ..errors import VStyleError
from ..sizes import MAX_STYLE_SIZE

F = Callable[..., Any]


class FiniteFloatRange(click.FloatRange):
    """click's ``FloatRange`` that also refuses ``nan`` and ``inf``, which ``float()`` accepts and every
    range check lets through (a NaN style weight or loss weight gives black pictures without a word)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def _device_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return check_device(value)
    except VStyleError as exc:
        raise click.BadParameter(str(exc)) from None


def device_option(help: str = "Where to run.", default: str = "auto") -> Callable[[F], F]:
    """--device auto|cpu|cuda|cuda:N (the names of :mod:`vstyle.engine.options`)."""
    return click.option("--device", default=default, show_default=True, metavar="auto|cpu|cuda[:N]",
                        callback=_device_name, help=help)


def precision_option(help: str = "Compute precision (fp16 needs CUDA; int8 runs on the CPU with OpenVINO).",
                     default: str = "fp32", choices: Sequence[str] = PRECISIONS) -> Callable[[F], F]:
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
        click.option("--alpha", type=FiniteFloatRange(0.0, 1.0), default=1.0, show_default=True,
                     help="Style strength: blends stylised and content features (0 = content, 1 = full style)."),
        click.option("--preserve-color", is_flag=True,
                     help="Keep the content's colours (luminance-only transfer, see README)."),
        click.option("--style-size", type=click.IntRange(33, MAX_STYLE_SIZE), default=None,
                     help="Longer side the style image is scaled down to before encoding"
                          " [default: the model's own: 512, sctnet-mobile 256]."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def check_max_size(max_size: int) -> int | None:
    """``--max-size``: 0 means full size (``None``); otherwise at least 16."""
    if 0 < max_size < 16:
        raise VStyleError(f"--max-size must be 0 (full size) or at least 16, got {max_size}")
    return max_size or None


def print_json(obj: Any) -> None:
    """One JSON object on stdout (``--json``); nothing when the process was started with stdout closed."""
    if sys.stdout is None:
        return
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()
