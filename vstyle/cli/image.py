"""``vstyle image``: stylise still images."""

from __future__ import annotations

from pathlib import Path

import click

from .common import check_max_size, engine_options, print_json, style_options
from .progress import discard, make_progress


@click.command("image", context_settings={"max_content_width": 100})
@click.argument("content", nargs=-1, required=True, type=click.Path(path_type=Path))
@style_options
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Output file (one input) or folder [default: ./<content>_<style>.<ext>].")
@click.option("--max-size", type=click.IntRange(0, 16384), default=1024, show_default=True,
              help="Stylise at a smaller size: longer side at most this (0 = full size).")
@click.option("--keep-size", is_flag=True,
              help="Scale the result back to the input's size (default: output at the stylised size).")
@click.option("--mode", type=click.Choice(["art", "photo"]), default=None,
              help="Artistic or photo-realistic model (default model of that mode; checks --model).")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary instead of progress.")
@engine_options
def command(content: tuple[Path, ...], styles: tuple[str, ...], alpha: float, preserve_color: bool,
            style_size: int | None,
            output: Path | None, max_size: int, keep_size: bool, mode: str | None, overwrite: bool, as_json: bool,
            model: str | None, device: str, precision: str, backend: str, engine_path: str | None, threads: int | None,
            compile_: bool) -> None:
    """Stylise one or more images.

    \b
    Examples:
      vstyle image photo.jpg --style starry_night.jpg -o out.jpg
      vstyle image a.jpg b.png --style scream.jpg:0.6 --style wave.jpg:0.4 -o results/
      vstyle image photo.jpg --style candy.jpg --alpha 0.5 --preserve-color
      vstyle image big.jpg --style wave.jpg --max-size 1024 --keep-size   # stylise at 1024, save at full size
    """
    from ..jobs.engine import EngineSpec
    from ..jobs.image import ImageOptions, run_images

    opts = ImageOptions(max_size=check_max_size(max_size), keep_size=keep_size, alpha=alpha,
                        preserve_color=preserve_color, overwrite=overwrite)
    engine = EngineSpec(model, device, precision, backend, engine_path, threads, compile_, mode)
    with make_progress("img/s", disable=as_json or len(content) < 2) as progress:
        task = progress.add_task("stylising", total=len(content))
        try:
            summary = run_images(content, output, styles, style_size, opts, engine,
                                 on_image=lambda: progress.advance(task))
        except BaseException:
            discard(progress)
            raise
    results = summary["images"]
    if as_json:
        print_json(summary)
    else:
        for r in results:
            click.echo(f"{r['input']} -> {r['output']} ({r['width']}×{r['height']}, {r['seconds']:.2f} s)", err=True)
