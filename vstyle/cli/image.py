"""``vstyle image``: stylise still images."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from ..errors import VStyleError
from .common import (build_engine, check_max_size, engine_options, load_style_code, print_json, style_label,
                     style_options, stylize_still)
from .optimize import OPTIMIZE_MAX_SIZE, optimize_options, run_optimize
from .progress import make_progress

FAST_MAX_SIZE = 1024


def _output_path(content: Path, out: Path | None, many: bool, label: str) -> Path:
    """-o FILE for one input; -o DIR (or many inputs) → DIR/<content>_<style><ext>."""
    from ..io.images import IMAGE_SUFFIXES

    name = f"{content.stem}_{label}{content.suffix.lower() if content.suffix.lower() in ('.jpg', '.jpeg', '.png', '.webp') else '.png'}"
    if out is None:
        return Path(name)
    if out.is_dir() or many or not out.suffix:
        if out.exists() and not out.is_dir():
            raise VStyleError(f"{out} is a file; with several inputs -o must be a folder")
        if not out.exists() and out.suffix.lower() in IMAGE_SUFFIXES:
            raise VStyleError(f"-o {out} names an image file, but there are several inputs; give a folder")
        return out / name
    return out


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
      vstyle image a.jpg b.png --style scream.jpg:0.6 --style wave.jpg:0.4 -o results/
      vstyle image photo.jpg --style candy.jpg --alpha 0.5 --preserve-color
      vstyle image big.jpg --style wave.jpg --max-size 1024 --keep-size   # stylise at 1024, save at full size
      vstyle image photo.jpg --style udnie.jpg --optimize -o best.png      # slow quality mode (docs/optimize.md)
    """
    from ..io.atomic import check_writable
    from ..io.images import read_image, write_image

    if not optimize:
        given = [f"--{n.replace('_', '-')}" for n, v in (("steps", steps), ("init", init),
                 ("style_weight", style_weight), ("loss_net_file", loss_net_file)) if v is not None]
        if given:
            raise VStyleError(f"{given[0]} needs --optimize")
    limit = check_max_size(max_size if max_size is not None else OPTIMIZE_MAX_SIZE if optimize else FAST_MAX_SIZE)
    many = len(content) > 1
    label = style_label(styles)
    targets = [_output_path(c, output, many, label) for c in content]
    if output is not None and (many or not output.suffix) and not output.exists():
        output.mkdir(parents=True, exist_ok=True)
    for src, dst in zip(content, targets):
        check_writable(dst, overwrite, inputs=(src,))
    # Read the inputs first so a bad file fails before any model work.
    images = [read_image(c) for c in content]
    if optimize:
        from ..optimize.job import Still

        stills = [Still(src, dst, img) for src, dst, img in zip(content, targets, images)]
        engine = build_engine(model, device, precision, backend, engine_path, threads, compile_, mode) \
            if init == "model" else None
        results, info = run_optimize(stills, styles, engine, steps=steps, init=init, style_weight=style_weight,
                               loss_net_file=loss_net_file, max_size=limit, keep_size=keep_size, alpha=alpha,
                               preserve_color=preserve_color, style_size=style_size, device=device,
                               threads=threads, overwrite=overwrite, quiet=as_json)
        _report(results, {"styles": list(styles), "alpha": alpha, "preserve_color": preserve_color, **info,
                          **({"model": getattr(engine.model, "source_path", None)} if engine else {})}, as_json)
        return
    engine = build_engine(model, device, precision, backend, engine_path, threads, compile_, mode)
    code = load_style_code(engine, styles, style_size)
    results = []
    with make_progress("img/s", disable=as_json or not many) as progress:
        task = progress.add_task("stylising", total=len(images))
        for src, dst, img in zip(content, targets, images):
            t0 = time.perf_counter()
            out = stylize_still(engine, code, img, max_size=limit, keep_size=keep_size, alpha=alpha,
                                preserve_color=preserve_color)
            seconds = time.perf_counter() - t0
            write_image(dst, out, overwrite=overwrite)
            results.append({"input": str(src), "output": str(dst), "width": int(out.shape[1]),
                            "height": int(out.shape[0]), "seconds": round(seconds, 4)})
            progress.advance(task)
    _report(results, {"styles": list(styles), "alpha": alpha, "preserve_color": preserve_color,
                      **engine.describe(), "model": getattr(engine.model, "source_path", None)}, as_json)


def _report(results: list[dict[str, Any]], info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json({"images": results, **info})
    else:
        for r in results:
            click.echo(f"{r['input']} -> {r['output']} ({r['width']}×{r['height']}, {r['seconds']:.2f} s)", err=True)
