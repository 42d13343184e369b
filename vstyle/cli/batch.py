"""``vstyle batch``: stylise every image and video under a folder into a mirrored folder (resumable)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ..errors import VStyleError
from .common import (build_engine, engine_options, load_style_code, parse_style_spec, print_json, style_options,
                     stylize_still)
from .progress import make_progress, stderr
from .video_options import encode_options, size_options, video_options


@dataclass
class Job:
    """One input file, where its result goes, and how it went."""

    src: Path
    dst: Path
    kind: str  # "image" | "video"
    status: str = "pending"  # ok | skipped | failed
    reason: str = ""
    seconds: float = 0.0


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def find_jobs(src_dir: Path, out_dir: Path, recursive: bool) -> list[Job]:
    """Images and videos under ``src_dir`` (hidden files and anything inside ``out_dir`` excluded),
    each mapped to the same relative path under ``out_dir``: images keep a writable suffix (else
    ``.png``), videos become ``.mp4``; names that would collide keep their old suffix in the stem."""
    from ..io.images import IMAGE_SUFFIXES, WRITE_FORMATS
    from ..io.video_source import VIDEO_SUFFIXES

    found = sorted(src_dir.rglob("*") if recursive else src_dir.iterdir())
    jobs: list[Job] = []
    taken: set[Path] = set()
    for src in found:
        rel = src.relative_to(src_dir)
        if not src.is_file() or any(part.startswith(".") for part in rel.parts) or _is_inside(src, out_dir):
            continue
        suffix = src.suffix.lower()
        if suffix in VIDEO_SUFFIXES:
            kind, new_suffix = "video", ".mp4"
        elif suffix in IMAGE_SUFFIXES:
            kind, new_suffix = "image", suffix if suffix in WRITE_FORMATS else ".png"
        else:
            continue
        dst = out_dir / rel.with_suffix(new_suffix)
        if dst in taken:
            dst = out_dir / rel.with_name(f"{src.stem}_{suffix[1:]}{new_suffix}")
        taken.add(dst)
        jobs.append(Job(src, dst, kind))
    return jobs


def _stylize_image(engine: Any, code: Any, job: Job, opts: Any) -> None:
    """Read, scale, stylise, (scale back), write atomically."""
    from ..io.images import read_image, write_image

    out = stylize_still(engine, code, read_image(job.src), max_size=opts.max_size, keep_size=opts.keep_size,
                        alpha=opts.alpha, preserve_color=opts.preserve_color, size=opts.size)
    write_image(job.dst, out, overwrite=opts.overwrite)


def _prepare_output_folder(out_dir: Path) -> None:
    """Create OUT and check that files can be written there, so an unwritable folder is one early error."""
    from ..io.atomic import check_folder_writable

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VStyleError(f"cannot create output folder {out_dir}: {exc.strerror or exc.__class__.__name__}") from None
    check_folder_writable(out_dir)


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
def command(in_dir: Path, out_dir: Path, styles: tuple[str, ...], alpha: float,
            preserve_color: bool, style_size: int | None, recursive: bool, max_size: int, size: str | None,
            keep_size: bool,
            start: str | None, duration: str | None, codec: str | None, crf: int | None, bitrate: str | None,
            no_audio: bool, batch: int, mode: str | None, overwrite: bool, as_json: bool, model: str | None,
            device: str, precision: str, backend: str, engine_path: str | None, threads: int | None,
            compile_: bool) -> None:
    """Stylise all images and videos under IN into OUT (same relative paths).

    Outputs that already exist are skipped, so an interrupted batch resumes where it stopped.
    Bad files are reported and skipped. Exit status: 0 all done, 1 some files failed, 2 usage error.

    \b
    Examples:
      vstyle batch photos/ styled/ --style starry.jpg
      vstyle batch footage/ out/ --style wave.jpg --recursive --max-size 720 --keep-size
    """
    opts = video_options(max_size=max_size, size=size, keep_size=keep_size, start=start, duration=duration,
                         codec=codec, crf=crf, bitrate=bitrate, no_audio=no_audio, batch=batch, alpha=alpha,
                         preserve_color=preserve_color, overwrite=overwrite, keep_partial=False)
    if not in_dir.is_dir():
        raise VStyleError(f"input folder {in_dir} does not exist" if not in_dir.exists() else f"{in_dir} is not a folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise VStyleError(f"output {out_dir} is a file, not a folder")
    if _is_inside(in_dir, out_dir):
        raise VStyleError(f"OUT ({out_dir}) is IN or a folder above it; give a separate output folder "
                          "(outputs keep the inputs' names)")
    for spec in styles:
        if not parse_style_spec(spec).path.is_file():
            raise VStyleError(f"style image not found: {parse_style_spec(spec).path}")
    jobs = find_jobs(in_dir, out_dir, recursive)
    if not jobs:
        raise VStyleError(f"no images or videos in {in_dir}" + ("" if recursive else " (sub-folders need --recursive)"))
    for j in jobs:
        if j.dst.exists() and not overwrite:
            j.status, j.reason = "skipped", "output exists"
    todo = [j for j in jobs if j.status == "pending"]
    engine = code = None
    if todo:
        _prepare_output_folder(out_dir)
        engine = build_engine(model, device, precision, backend, engine_path, threads, compile_, mode)
        code = load_style_code(engine, styles, style_size)
    try:
        _run_jobs(todo, engine, code, opts, as_json)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: say what was done, then exit 130/143
        _report(jobs, in_dir, out_dir, styles, engine, as_json)
        raise
    counts = _report(jobs, in_dir, out_dir, styles, engine, as_json)
    if counts["failed"]:
        # SystemExit, not ctx.exit: click's non-standalone main() returns (drops) ctx.exit's status.
        sys.exit(1)


def _run_jobs(todo: list[Job], engine: Any, code: Any, opts: Any, as_json: bool) -> None:
    """Stylise each job in turn; a failed file is recorded and the batch goes on. A job cut short
    by Ctrl-C or SIGTERM is marked ``interrupted`` and the interrupt is re-raised."""
    from ..video_job import stylize_video

    with make_progress("files/s", disable=as_json) as progress:
        overall = progress.add_task("files", total=len(todo))
        for j in todo:
            t0 = time.perf_counter()
            try:
                j.dst.parent.mkdir(parents=True, exist_ok=True)
                if j.kind == "image":
                    _stylize_image(engine, code, j, opts)
                else:
                    task = progress.add_task(j.src.name, total=None)

                    def on_progress(done: int, total: int, task: Any = task) -> None:
                        progress.update(task, completed=done, total=max(total, done))

                    try:
                        stylize_video(engine, code, j.src, j.dst, opts, on_progress=on_progress)
                    finally:
                        progress.remove_task(task)
                j.status = "ok"
            except VStyleError as exc:
                j.status, j.reason = "failed", str(exc)
            except KeyboardInterrupt:
                j.status, j.reason, j.seconds = "interrupted", "stopped before it finished", time.perf_counter() - t0
                raise
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                j.status, j.reason = "failed", f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            j.seconds = time.perf_counter() - t0
            progress.advance(overall)


def _report(jobs: list[Job], in_dir: Path, out_dir: Path, styles: tuple[str, ...], engine: Any,
            as_json: bool) -> dict[str, int]:
    """The summary: a table and a count line on stderr, or one JSON object on stdout; returns the counts."""
    counts = {s: sum(j.status == s for j in jobs) for s in ("ok", "skipped", "failed", "interrupted", "pending")}
    if as_json:
        print_json({"input": str(in_dir), "output": str(out_dir), **counts, "styles": list(styles),
                    "files": [{"file": str(j.src), "output": str(j.dst), "kind": j.kind, "status": j.status,
                               "reason": j.reason, "seconds": round(j.seconds, 3)} for j in jobs],
                    **(engine.describe() if engine is not None else {})})
    else:
        stderr.print(_summary_table(jobs, in_dir))
        line = f"{counts['ok']} done, {counts['skipped']} skipped, {counts['failed']} failed"
        if counts["interrupted"] or counts["pending"]:
            line += f", {counts['interrupted'] + counts['pending']} not done (interrupted; run again to resume)"
        stderr.print(line)
    return counts
