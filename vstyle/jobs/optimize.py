"""The ``--optimize`` image job: stills in, optimised stills out (named by :mod:`.naming`, written
atomically); :mod:`vstyle.optimize` does the optimising."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import VStyleError
from ..flags import flag
from .engine import EngineSpec, load_style_code, read_styles, stylize_still
from .image import ImageOptions, prepare_images

#: Default working size with --optimize: each step costs a loss-network pass over the whole image.
OPTIMIZE_MAX_SIZE = 512


@dataclass(frozen=True)
class OptimizeOptions:
    """The optimisation's own settings (None: :class:`~vstyle.optimize.still.OptimizeSettings`' default)."""

    steps: int | None = None
    init: str = "content"  # content | model: start from the photo or from the fast model's output
    style_weight: float | None = None
    loss_net_file: str | None = None


def run_optimize_images(content: Sequence[Path], output: Path | None, styles: Sequence[str],
                        style_size: int | None, opts: ImageOptions, optimize: OptimizeOptions, engine: EngineSpec,
                        on_start: Callable[[Path, int], None] = lambda source, total: None,
                        on_step: Callable[[int, float], None] = lambda n, loss: None,
                        say: Callable[[str], None] = lambda text: None) -> dict[str, Any]:
    """Optimise every ``content`` image and return the summary (one entry per image, and the settings).

    ``engine`` gives the device and threads, and the model for ``init="model"``; ``on_start`` is called
    with each photo and its step count, ``on_step`` with the steps done and the loss, ``say`` with what
    an interrupt left behind.
    """
    from ..interrupts import deferred_interrupts

    _check_engine_options(engine, optimize.init)
    targets, images = prepare_images(content, output, styles, opts.overwrite)
    with deferred_interrupts():  # Ctrl-C inside torch's native initialisation aborts the process
        import torch

        from ..engine.device import resolve_device
        from ..optimize.job import LossNetwork, Still, optimize_files
        from ..optimize.objective import build_still_loss_net
        from ..optimize.still import OptimizeSettings

    if engine.threads:
        torch.set_num_threads(engine.threads)
    settings = OptimizeSettings()
    settings = replace(settings, steps=optimize.steps or settings.steps,
                       style_weight=optimize.style_weight or settings.style_weight)
    style_images = read_styles(styles)
    fast = None
    model_info: dict[str, Any] = {}
    if optimize.init == "model":
        eng = engine.build()
        code = load_style_code(eng, styles, style_size)
        model_info = {"model": eng.model.source_path}

        def fast(photo: Any) -> Any:
            return stylize_still(eng, code, photo, max_size=None, keep_size=False, alpha=opts.alpha,
                                 preserve_color=False)

    loss = LossNetwork(*build_still_loss_net(optimize.loss_net_file))
    stills = [Still(src, dst, img) for src, dst, img in zip(content, targets, images)]
    results = optimize_files(
        stills, style_images, settings, loss, max_size=opts.max_size, keep_size=opts.keep_size, alpha=opts.alpha,
        preserve_color=opts.preserve_color, style_size=style_size, fast=fast, device=resolve_device(engine.device),
        overwrite=opts.overwrite, on_start=lambda still, total: on_start(still.source, total), on_step=on_step,
        say=say)
    return {"images": results, "styles": list(styles), "alpha": opts.alpha, "preserve_color": opts.preserve_color,
            "optimize": {**asdict(settings), "init": optimize.init, "loss_net": loss.net.kind,
                         "loss_net_file": optimize.loss_net_file}, **model_info}


def _check_engine_options(engine: EngineSpec, init: str) -> None:
    """Refuse the options that choose or run a model when none is loaded: optimising from the photo
    (``init`` "content") runs only the loss network, in torch fp32, so they would be dropped unseen."""
    if init == "model":
        return
    default = EngineSpec()
    unused = [(key, shown) for key, shown, given in (
        ("model", engine.model, engine.model != default.model),
        ("mode", engine.mode, engine.mode != default.mode),
        ("backend", engine.backend, engine.backend != default.backend),
        ("precision", engine.precision, engine.precision != default.precision),
        ("engine_path", engine.engine_path, engine.engine_path != default.engine_path),
        ("compile_", None, engine.compile != default.compile)) if given]
    if unused:
        key, shown = unused[0]
        raise VStyleError(f"{flag(key)}{'' if shown is None else f' {shown}'} applies to a model, and "
                          f"{flag('optimize')} loads none unless {flag('init')} model "
                          "(it optimises the pixels in torch, fp32)")
