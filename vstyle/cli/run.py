"""``vstyle run``: stylise a video file; the audio is kept."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import counted
from .common import engine_options, print_json, style_options
from .progress import discard, make_progress
from .video_options import encode_options, size_options, video_options


@click.command("run", context_settings={"max_content_width": 100})
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@style_options
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Output video or folder [default: ./<input>_<style>.mp4 in the current folder].")
@size_options
@encode_options
@click.option("--mode", type=click.Choice(["art", "photo"]), default=None,
              help="Artistic or photo-realistic model (default model of that mode; checks --model).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--keep-partial", is_flag=True,
              help="On error or Ctrl-C keep what was written as <name>.partial.<ext> (playable).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary instead of progress.")
@engine_options
def command(input_path: Path, styles: tuple[str, ...], alpha: float, preserve_color: bool, style_size: int | None,
            output: Path | None, max_size: int, size: str | None, keep_size: bool, start: str | None,
            duration: str | None, codec: str | None, crf: int | None, preset: str | None, bitrate: str | None,
            no_audio: bool,
            batch: int, mode: str | None, overwrite: bool, keep_partial: bool, as_json: bool, model: str | None,
            device: str, precision: str, backend: str, engine_path: str | None, threads: int | None,
            compile_: bool) -> None:
    """Stylise a video file: decode, stylise and encode overlap; frame rate, timestamps and audio are kept.

    \b
    Examples:
      vstyle run clip.mp4 --style starry.jpg                  # → clip_starry.mp4
      vstyle run clip.mp4 --style wave.jpg:0.7 --style candy.jpg:0.3 -o out.mp4
      vstyle run clip.mov --style scream.jpg --max-size 512 --keep-size --crf 20
      vstyle run long.mkv --style starry.jpg --start 1:30 --duration 10 -o cut.mp4
      vstyle run cam.mp4 --style wave.jpg --precision int8 --preset ultrafast
    """
    from ..jobs.engine import EngineSpec
    from ..jobs.video import run_video

    opts = video_options(max_size=max_size, size=size, keep_size=keep_size, start=start, duration=duration,
                         codec=codec, crf=crf, bitrate=bitrate, no_audio=no_audio, batch=batch, alpha=alpha,
                         preserve_color=preserve_color, overwrite=overwrite, keep_partial=keep_partial, preset=preset)
    engine = EngineSpec(model, device, precision, backend, engine_path, threads, compile_, mode)
    with make_progress("fps", disable=as_json) as progress:
        task = progress.add_task(input_path.name, total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=max(total, done))

        try:
            summary = run_video(input_path, output, styles, style_size, opts, engine, on_progress=on_progress)
        except BaseException:
            discard(progress)
            raise
    for note in summary.get("notes", []):
        click.echo(f"vstyle: note: {note}", err=True)
    if as_json:
        print_json(summary)
    else:
        click.echo(f"{summary['input']} -> {summary['output']} ({counted(summary['frames'], 'frame')}, "
                   f"{summary['output_size'][0]}×{summary['output_size'][1]}, {summary['codec']}, "
                   f"{summary['seconds']:.1f} s, {summary['processing_fps']} fps)", err=True)
