"""The ``--optimize`` job: photos in, optimised stills written atomically, the best so far kept on Ctrl-C.

:func:`prepare` sets one photo up (sizes, style scale, initial image) and is shared with the
evaluation's reference method; :func:`finish` turns the optimised tensor into the output image;
:func:`optimize_files` is what the image job (:mod:`vstyle.jobs.optimize`) runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from ..errors import VStyleError
from ..flags import flag
from ..train.lossnets import LossLayers, LossNet
from .still import OptimizeSettings, StillOptimizer, image_tensor

#: Smallest style image side: the deepest style tap (stride 8) then has at least 6 positions a side.
MIN_STYLE_SIDE = 48

StyleImages = Sequence[tuple[np.ndarray, float]]  # (H×W×3 uint8 image, blend weight)
FastPath = Callable[[np.ndarray], np.ndarray]  # working-size photo → the feed-forward model's output


@dataclass
class LossNetwork:
    """A loss network and the taps the still objective reads (from :func:`build_still_loss_net`)."""

    net: LossNet
    layers: LossLayers


def check_styles(styles: StyleImages, style_size: int | None, work_side: int) -> None:
    """One-line errors for blends that weigh nothing and styles too small to have statistics."""
    from ..io.images import fit_within

    if sum(w for _, w in styles) <= 0:
        raise VStyleError("style weights must not all be zero")
    for image, _ in styles:
        h, w = fit_within(image, style_size or work_side).shape[:2]
        if min(h, w) < MIN_STYLE_SIDE:
            raise VStyleError(f"style image is {w}×{h} px (after {flag('style_size')}); {flag('optimize')} "
                              f"needs at least {MIN_STYLE_SIDE} px per side")


def prepare(photo: np.ndarray, styles: StyleImages, settings: OptimizeSettings, loss: LossNetwork, *,
            alpha: float = 1.0, style_size: int | None = None, init: np.ndarray | None = None,
            device: torch.device | None = None) -> StillOptimizer:
    """An optimiser for ``photo`` (already at the working size) against the blended ``styles``.

    Each style's longer side is limited to ``style_size`` (default: the photo's longer side, so brush
    strokes come out at the painting's scale relative to the picture). ``init`` (same size as the photo)
    is where the pixels start; default the photo itself. ``device`` defaults to the CPU.
    """
    from ..io.images import fit_within

    device = device or torch.device("cpu")
    side = max(photo.shape[:2])
    check_styles(styles, style_size, side)
    style_tensors = [image_tensor(fit_within(img, style_size or side), device) for img, _ in styles]
    start = image_tensor(init, device) if init is not None else None
    return StillOptimizer(loss.net.to(device), loss.layers, image_tensor(photo, device), style_tensors,
                          [w for _, w in styles], settings, alpha=alpha, init=start)


def finish(image: Tensor, photo: np.ndarray, preserve_color: bool) -> np.ndarray:
    """Optimised 1×3×H×W [0, 1] → H×W×3 uint8, with the photo's colours when ``preserve_color``."""
    from ..engine.color import preserve_color as keep_colours

    if preserve_color:
        image = keep_colours(image, image_tensor(photo, image.device))
    q = image[0].clamp(0, 1).mul(255.0).add_(0.5).to(torch.uint8).permute(1, 2, 0)
    return q.cpu().numpy()


@dataclass
class Still:
    """One photo to optimise: where it came from, where the result goes, its pixels (full size)."""

    source: Path
    target: Path
    image: np.ndarray


def optimize_files(stills: Sequence[Still], styles: StyleImages, settings: OptimizeSettings, loss: LossNetwork, *,
                   max_size: int | None, keep_size: bool, alpha: float, preserve_color: bool,
                   style_size: int | None, fast: FastPath | None, device: torch.device, overwrite: bool,
                   on_start: Callable[[Still, int], None] = lambda still, total: None,
                   on_step: Callable[[int, float], None] = lambda n, loss: None,
                   say: Callable[[str], None] = lambda text: None) -> list[dict[str, object]]:
    """Optimise every still and write it; returns one summary dict per written image.

    ``fast`` gives the initial image (``--init model``); without it the photo is the start. On Ctrl-C or
    SIGTERM the photo in progress gets its best image so far (written atomically, a second signal held
    back meanwhile), ``say`` tells where, and the interrupt goes on up.
    """
    from ..interrupts import deferred_interrupts
    from ..io.images import fit_within, resize, write_image

    results = []
    for still in stills:
        photo = fit_within(still.image, max_size)
        opt = prepare(photo, styles, settings, loss, alpha=alpha, style_size=style_size,
                      init=fast(photo) if fast is not None else None, device=device)
        on_start(still, settings.steps)

        def save(image: Tensor, still: Still = still, photo: np.ndarray = photo) -> np.ndarray:
            out = finish(image, photo, preserve_color)
            if keep_size:
                out = resize(out, still.image.shape[1], still.image.shape[0])
            write_image(still.target, out, overwrite=overwrite)
            return out

        t0 = time.perf_counter()
        try:
            out = save(opt.run(on_step))
        except KeyboardInterrupt:
            if not opt.done:
                say(f"{still.source}: interrupted before the first step; nothing written")
                raise
            with deferred_interrupts():
                save(opt.best())
            say(f"{still.source}: interrupted after {opt.done}/{settings.steps} steps; the best image so far "
                f"(loss {opt.best_loss:.4g}) is in {still.target}")
            raise
        results.append({"input": str(still.source), "output": str(still.target), "width": int(out.shape[1]),
                        "height": int(out.shape[0]), "seconds": round(time.perf_counter() - t0, 2),
                        "steps": opt.done, "loss": round(opt.best_loss, 5)})
    return results
