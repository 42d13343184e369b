"""``vstyle batch``: stylise every image and video under a folder into a mirrored folder (resumable)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..jobs.batch import Job, batch_megapixels, counts, plan_batch, prepare_output_folder, run_local
from ..errors import VStyleError
from ..jobs.engine import EngineSpec, load_style_code, parse_style_spec
from .common import FiniteFloatRange, engine_options, print_json, style_options
from .progress import BatchProgress, stderr
from .video_options import encode_options, size_options, video_options


def _summary_table(jobs: list[Job], src_dir: Path) -> Any:
    from rich.table import Table

    colour = {"ok": "green", "skipped": "yellow", "failed": "red", "interrupted": "red"}
    table = Table(title="vstyle batch", show_lines=False)
    for col in ("file", "status", "reason", "seconds"):
        table.add_column(col, justify="right" if col == "seconds" else "left", overflow="fold")
    for j in jobs:
        table.add_row(str(j.src.relative_to(src_dir)), f"[{colour.get(j.status, 'white')}]{j.status}",
                      j.reason, f"{j.seconds:.1f}" if j.status == "ok" else "")
    return table


@click.command("batch", context_settings={"max_content_width": 100})
@click.argument("in_dir", metavar="IN", type=click.Path(path_type=Path))
@click.argument("out_dir", metavar="OUT", type=click.Path(path_type=Path))
@style_options
@click.option("-r", "--recursive", is_flag=True, help="Also process sub-folders (mirrored under OUT).")
@size_options
@encode_options
@click.option("--mode", type=click.Choice(["art", "photo"]), default=None,
              help="Artistic or photo-realistic model (default model of that mode; checks --model).")
@click.option("--overwrite", is_flag=True, help="Redo files whose output already exists.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary instead of the table.")
@engine_options
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Run on a Ray cluster: alone (put it after IN OUT) starts one on this machine; 'auto' joins "
                   "the cluster this machine is part of; or host:port. Needs pip install 'vstyle[cluster]'.")
@click.option("--workers", type=click.IntRange(1, 4096), default=None,
              help="With --ray: worker actors, each with one loaded engine [default: one per GPU; without "
                   "GPUs one per node, sharing out the CPUs (or --threads each)].")
@click.option("--segment-seconds", type=FiniteFloatRange(1.0, None), default=None,
              help="With --ray: cut videos longer than this at keyframes into segments of about this length, "
                   "stylised on any worker and joined in order [default: 60].")
def command(in_dir: Path, out_dir: Path, styles: tuple[str, ...], alpha: float,
            preserve_color: bool, style_size: int | None, recursive: bool, max_size: int, size: str | None,
            keep_size: bool, start: str | None, duration: str | None, codec: str | None, crf: int | None,
            preset: str | None, bitrate: str | None, no_audio: bool, batch: int, mode: str | None, overwrite: bool,
            as_json: bool, model: str | None,
            device: str, precision: str, backend: str, engine_path: str | None, threads: int | None,
            compile_: bool, ray_address: str | None, workers: int | None, segment_seconds: float | None) -> None:
    """Stylise all images and videos under IN into OUT (same relative paths).

    Outputs that already exist are skipped, so an interrupted batch resumes where it stopped.
    Bad files are reported and skipped. Exit status: 0 all done, 1 some files failed, 2 usage error.

    With --ray the files are shared out to a pool of Ray workers (on one machine or a cluster);
    the outputs, resume, report and exit status are those of the plain batch. IN and OUT must be
    on a filesystem every node mounts at the same path (checked at the start).

    \b
    Examples:
      vstyle batch photos/ styled/ --style starry.jpg
      vstyle batch footage/ out/ --style wave.jpg --recursive \\
          --max-size 720 --keep-size
      vstyle batch footage/ out/ --style wave.jpg --ray    # local Ray cluster
      vstyle batch /mnt/films /mnt/styled --style wave.jpg --ray auto \\
          --segment-seconds 120
    """
    from ..cluster import require_ray

    if ray_address is None and (workers is not None or segment_seconds is not None):
        raise VStyleError("--workers and --segment-seconds go with --ray")
    if ray_address is not None:
        require_ray()  # before any work: without Ray, say how to install it
    opts = video_options(max_size=max_size, size=size, keep_size=keep_size, start=start, duration=duration,
                         codec=codec, crf=crf, bitrate=bitrate, no_audio=no_audio, batch=batch, alpha=alpha,
                         preserve_color=preserve_color, overwrite=overwrite, keep_partial=False, preset=preset)
    jobs = plan_batch(in_dir, out_dir, [parse_style_spec(s).path for s in styles], recursive, overwrite)
    todo = [j for j in jobs if j.status == "pending"]
    engine_args: dict[str, Any] = {"model": model, "device": device, "precision": precision, "backend": backend,
                   "engine_path": engine_path, "threads": threads, "compile": compile_, "mode": mode}
    described: dict[str, Any] = {}
    notes: list[str] = []
    try:
        if todo:
            prepare_output_folder(in_dir, out_dir, jobs)
            if ray_address is not None:
                described = _run_on_ray(jobs, in_dir, out_dir, opts, engine_args, styles, style_size, ray_address,
                                        workers, threads, segment_seconds, as_json, notes)
            else:
                engine = EngineSpec(**engine_args, megapixels=batch_megapixels(todo, opts)).build()
                described = engine.describe()
                code = load_style_code(engine, styles, style_size)
                with BatchProgress(len(todo), disable=as_json) as view:
                    run_local(todo, engine, code, opts, view)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: say what was done, then exit 130/143
        _report(jobs, in_dir, out_dir, styles, described, notes, as_json)
        raise
    if _report(jobs, in_dir, out_dir, styles, described, notes, as_json)["failed"]:
        # SystemExit, not ctx.exit: click's non-standalone main() returns (drops) ctx.exit's status.
        sys.exit(1)


def _run_on_ray(jobs: list[Job], in_dir: Path, out_dir: Path, opts: Any, engine_args: dict[str, Any],
                styles: tuple[str, ...], style_size: int | None, address: str, workers: int | None,
                threads: int | None, segment_seconds: float | None, as_json: bool,
                notes: list[str]) -> dict[str, Any]:
    from ..cluster.driver import DEFAULT_SEGMENT_SECONDS, ClusterOptions, run_on_ray

    cluster = ClusterOptions(address=address or None, workers=workers, threads=threads,
                             segment_seconds=segment_seconds or DEFAULT_SEGMENT_SECONDS)
    return run_on_ray(jobs, in_dir, out_dir, opts, engine_args, styles, style_size, cluster,
                      lambda files, frames: BatchProgress(files, frames, disable=as_json), notes)


def _report(jobs: list[Job], in_dir: Path, out_dir: Path, styles: tuple[str, ...], described: dict[str, Any],
            notes: list[str], as_json: bool) -> dict[str, int]:
    """The summary: a table and a count line on stderr, or one JSON object on stdout; returns the counts."""
    n = counts(jobs)
    if as_json:
        print_json({"input": str(in_dir), "output": str(out_dir), **n, "styles": list(styles),
                    "files": [{"file": str(j.src), "output": str(j.dst), "kind": j.kind, "status": j.status,
                               "reason": j.reason, "seconds": round(j.seconds, 3)} for j in jobs],
                    **described, **({"notes": notes} if notes else {})})
    else:
        for note in notes:
            stderr.print(note, highlight=False)
        stderr.print(_summary_table(jobs, in_dir))
        line = f"{n['ok']} done, {n['skipped']} skipped, {n['failed']} failed"
        if n["interrupted"] or n["pending"]:
            line += f", {n['interrupted'] + n['pending']} not done (interrupted; run again to resume)"
        stderr.print(line)
    return n
