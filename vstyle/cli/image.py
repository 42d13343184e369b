"""``vstyle image``: stylise still images."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import VStyleError
from ..jobs.optimize import OPTIMIZE_MAX_SIZE
from .common import check_max_size, engine_options, print_json, style_options
from .optimize import optimize_options
from .progress import discard, make_loss_progress, make_progress, stderr

if TYPE_CHECKING:
    from rich.progress import TaskID

    from ..jobs.engine import EngineSpec
    from ..jobs.image import ImageOptions

FAST_MAX_SIZE = 1024


@click.command("image", context_settings={"max_content_width": 100})
@click.argument("content", nargs=-1, required=True, type=click.Path(path_type=Path))
@style_options
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Output file (one input) or folder [default: ./<content>_<style>.<ext>].")
@click.option("--max-size", type=click.IntRange(0, 16384), default=None,
              help="Stylise at a smaller size: longer side at most this (0 = full size)"
                   f" [default: {FAST_MAX_SIZE}; {OPTIMIZE_MAX_SIZE} with --optimize].")
@click.option("--keep-size", is_flag=True,
              help="Scale the result back to the input's size (default: output at the stylised size).")
@click.option("--mode", type=click.Choice(["art", "photo"]), default=None,
              help="Artistic or photo-realistic model (default model of that mode; checks --model).")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary instead of progress.")
@optimize_options
@engine_options
def command(content: tuple[Path, ...], styles: tuple[str, ...], alpha: float, preserve_color: bool,
            style_size: int | None,
            output: Path | None, max_size: int | None, keep_size: bool, mode: str | None, overwrite: bool,
            as_json: bool, optimize: bool, steps: int | None, init: str | None, style_weight: float | None,
            loss_net_file: str | None,
            model: str | None, device: str, precision: str, backend: str, engine_path: str | None, threads: int | None,
            compile_: bool) -> None:
    """Stylise one or more images.

    \b
    Examples:
      vstyle image photo.jpg --style starry_night.jpg -o out.jpg
      vstyle image a.jpg b.png --style scream.jpg:0.6 --style wave.jpg:0.4 \\
          -o results/
      vstyle image photo.jpg --style candy.jpg --alpha 0.5 --preserve-color
      vstyle image big.jpg --style wave.jpg --max-size 1024 --keep-size
      vstyle image photo.jpg --style udnie.jpg --optimize -o best.png   # slow
    """
    from ..jobs.engine import EngineSpec
    from ..jobs.image import ImageOptions, run_images

    if not optimize:
        given = [f"--{n.replace('_', '-')}" for n, v in (("steps", steps), ("init", init),
                 ("style_weight", style_weight), ("loss_net_file", loss_net_file)) if v is not None]
        if given:
            raise VStyleError(f"{given[0]} needs --optimize")
    limit = max_size if max_size is not None else OPTIMIZE_MAX_SIZE if optimize else FAST_MAX_SIZE
    opts = ImageOptions(max_size=check_max_size(limit), keep_size=keep_size, alpha=alpha,
                        preserve_color=preserve_color, overwrite=overwrite)
    engine = EngineSpec(model, device, precision, backend, engine_path, threads, compile_, mode)
    if optimize:
        _optimize(content, output, styles, style_size, opts, engine, steps, init, style_weight, loss_net_file,
                  as_json)
        return
    with make_progress("img/s", disable=as_json or len(content) < 2) as progress:
        task = progress.add_task("stylising", total=len(content))
        try:
            summary = run_images(content, output, styles, style_size, opts, engine,
                                 on_image=lambda: progress.advance(task))
        except BaseException:
            discard(progress)
            raise
    _report(summary, as_json)


def _optimize(content: tuple[Path, ...], output: Path | None, styles: tuple[str, ...], style_size: int | None,
              opts: ImageOptions, engine: EngineSpec, steps: int | None, init: str | None,
              style_weight: float | None, loss_net_file: str | None, as_json: bool) -> None:
    """``--optimize``: the optimisation job with a loss bar per photo."""
    from ..jobs.optimize import OptimizeOptions, run_optimize_images

    settings = OptimizeOptions(steps=steps, init=init or "content", style_weight=style_weight,
                               loss_net_file=loss_net_file)
    with make_loss_progress(disable=as_json) as progress:
        task: list[TaskID] = []
        try:
            summary = run_optimize_images(
                content, output, styles, style_size, opts, settings, engine,
                on_start=lambda source, total: task.append(progress.add_task(source.name[:16], total=total,
                                                                             loss="?")),
                on_step=lambda n, value: progress.update(task[-1], completed=n, loss=f"{value:.4g}"),
                say=lambda text: stderr.print(text, markup=False, highlight=False, soft_wrap=True))
        except BaseException:
            discard(progress)
            raise
    _report(summary, as_json)


def _report(summary: dict[str, Any], as_json: bool) -> None:
    for note in summary.get("notes", []):
        click.echo(f"vstyle: note: {note}", err=True)
    if as_json:
        print_json(summary)
    else:
        for r in summary["images"]:
            click.echo(f"{r['input']} -> {r['output']} ({r['width']}×{r['height']}, {r['seconds']:.2f} s)", err=True)
