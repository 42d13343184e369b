"""A folder in, a mirrored folder out: which files to do, where each result goes, how one file is
stylised and how its outcome is recorded.

Shared by the local ``vstyle batch`` (one engine in this process) and the Ray cluster path
(``vstyle.cluster``, one engine per worker), so both produce the same outputs, names, resume
behaviour and per-file report.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from ..errors import VStyleError, exception_line
from ..flags import flag
from .engine import check_style_files
from .naming import mirrored_output, output_suffix

#: Kept in OUT: the output name each input was given. Two inputs that map to one name (``a.png`` and
#: ``a.PNG``, ``clip.mov`` and ``clip.mp4``) are told apart by order, so a file added before a rerun
#: could take another's name; with the record every input keeps its name across reruns and a newcomer
#: gets a free one.
NAMES_FILE = ".vstyle-batch-names.json"


@dataclass
class Job:
    """One input file, where its result goes, and how it went."""

    src: Path
    dst: Path
    kind: str  # "image" | "video" | "folder" (one that cannot be listed: a failed row)
    status: str = "pending"  # ok | skipped | failed | interrupted
    reason: str = ""
    seconds: float = 0.0


class BatchObserver(Protocol):
    """What a batch reports while it runs (the CLI draws it as progress bars)."""

    def file_started(self, job: Job) -> None:
        """``job`` has started (videos: frame progress follows)."""

    def frames(self, job: Job, done: int, total: int) -> None:
        """``done`` of about ``total`` frames of ``job`` are written."""

    def file_finished(self, job: Job) -> None:
        """``job`` has its final status."""


def is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (after resolving links)."""
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def read_names(out_dir: Path) -> dict[str, str]:
    """The :data:`NAMES_FILE` record of an earlier batch into ``out_dir``: input → output, both relative
    (POSIX); empty when there is none."""
    path = out_dir / NAMES_FILE
    if not path.is_file():
        return {}
    try:
        names = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VStyleError(f"cannot read {path} ({exception_line(exc)}); delete it to name outputs afresh") from None
    if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
        raise VStyleError(f"{path} is not a batch's record of output names; delete it to name outputs afresh")
    return names


def record_names(in_dir: Path, out_dir: Path, jobs: Sequence[Job]) -> None:
    """Add the jobs' output names to ``out_dir``'s :data:`NAMES_FILE` (written atomically)."""
    from ..io.atomic import write_bytes_atomic

    names = {**read_names(out_dir),
             **{j.src.relative_to(in_dir).as_posix(): j.dst.relative_to(out_dir).as_posix() for j in jobs
                if j.kind != "folder"}}
    write_bytes_atomic(out_dir / NAMES_FILE, (json.dumps(names, indent=1, sort_keys=True) + "\n").encode())


def find_jobs(src_dir: Path, out_dir: Path, recursive: bool) -> list[Job]:
    """Images and videos under ``src_dir`` (hidden files and anything inside ``out_dir`` excluded),
    each mapped to the same relative path under ``out_dir`` (:func:`~vstyle.jobs.naming.mirrored_output`),
    or to the name an earlier batch into ``out_dir`` gave it (:data:`NAMES_FILE`)."""
    from ..io.images import IMAGE_SUFFIXES, frame_count
    from ..io.video_source import VIDEO_SUFFIXES

    found, unreadable = _walk(src_dir, out_dir) if recursive else (sorted(src_dir.iterdir()), [])
    named = read_names(out_dir)
    taken = {out_dir / name for name in named.values()}
    media: list[tuple[Path, Path, str]] = []
    for src in found:
        rel = src.relative_to(src_dir)
        if not src.is_file() or any(part.startswith(".") for part in rel.parts) or is_inside(src, out_dir):
            continue
        suffix = src.suffix.lower()
        if suffix == ".gif" and frame_count(src) == 1:  # a still GIF is a picture, not a one-frame video
            kind = "image"
        elif suffix in VIDEO_SUFFIXES:
            kind = "video"
        elif suffix in IMAGE_SUFFIXES:
            kind = "image"
        else:
            continue
        media.append((src, rel, kind))
    # Names given before stay; the rest are chosen around them, in order.
    dst = {src: out_dir / named[rel.as_posix()] for src, rel, kind in media
           if _recorded_name_fits(named.get(rel.as_posix()), rel, kind)}
    jobs = [Job(src, dst.get(src) or mirrored_output(rel, out_dir, kind, taken), kind) for src, rel, kind in media]
    # A folder that cannot be listed is a failure of the batch, not an empty folder.
    return jobs + [Job(folder, out_dir / folder.relative_to(src_dir), "folder", "failed", f"cannot list: {why}")
                   for folder, why in unreadable]


def _recorded_name_fits(name: str | None, rel: Path, kind: str) -> bool:
    """Whether a recorded output name can be used again: relative, inside OUT, and with the suffix the
    input gets now (a hand-edited or stale record must not aim a write elsewhere)."""
    if name is None:
        return False
    path = Path(name)
    return not path.is_absolute() and ".." not in path.parts and path.suffix == output_suffix(rel, kind)


def _walk(src_dir: Path, out_dir: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The files under ``src_dir`` (sorted; hidden folders and ``out_dir`` not entered, symlinked folders
    not followed) and the folders that could not be listed, with the reason: a folder left unread must
    be said, where ``Path.rglob`` passes over it without a word."""
    import os

    files: list[Path] = []
    errors: list[tuple[Path, str]] = []
    for root, dirs, names in os.walk(src_dir, onerror=lambda e: errors.append((Path(e.filename), e.strerror or ""))):
        dirs[:] = [d for d in dirs if not d.startswith(".") and not is_inside(Path(root) / d, out_dir)]
        files.extend(Path(root) / name for name in names)
    return sorted(files), sorted((p, why) for p, why in errors if p != src_dir)


def plan_batch(in_dir: Path, out_dir: Path, style_paths: Sequence[Path], recursive: bool,
               overwrite: bool) -> list[Job]:
    """Check the folders and style images (one-line errors) and list the jobs; outputs that
    already exist are marked ``skipped`` unless ``overwrite`` (this is what makes a batch resume)."""
    if not in_dir.is_dir():
        raise VStyleError(f"input folder {in_dir} does not exist" if not in_dir.exists()
                          else f"{in_dir} is not a folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise VStyleError(f"output {out_dir} is a file, not a folder")
    if is_inside(in_dir, out_dir):
        raise VStyleError(f"OUT ({out_dir}) is IN or a folder above it; give a separate output folder "
                          "(outputs keep the inputs' names)")
    check_style_files(style_paths)
    jobs = find_jobs(in_dir, out_dir, recursive)
    if not jobs:
        hint = "" if recursive else f" (sub-folders need {flag('recursive')})"
        raise VStyleError(f"no images or videos in {in_dir}{hint}")
    for j in jobs:
        if j.status == "pending" and j.dst.exists() and not overwrite:
            j.status, j.reason = "skipped", "output exists"
    return jobs


def prepare_output_folder(in_dir: Path, out_dir: Path, jobs: Sequence[Job]) -> None:
    """Create OUT and check that files can be written there, so an unwritable folder is one early error;
    then record the jobs' output names (:data:`NAMES_FILE`) before any is written."""
    from ..io.atomic import check_folder_writable, make_folder

    make_folder(out_dir)
    check_folder_writable(out_dir)
    record_names(in_dir, out_dir, jobs)


def stylize_image_file(engine: Any, code: Any, src: Path, dst: Path, opts: Any) -> None:
    """Read, scale, stylise, (scale back), write atomically."""
    from ..io.images import read_image, write_image
    from .engine import stylize_still

    out = stylize_still(engine, code, read_image(src), max_size=opts.max_size, keep_size=opts.keep_size,
                        alpha=opts.alpha, preserve_color=opts.preserve_color, size=opts.size)
    write_image(dst, out, overwrite=opts.overwrite, metadata_from=src)


def failure_reason(exc: Exception) -> str:
    """The report's reason for a failed file: a user-facing error as it is, anything else with its class."""
    if isinstance(exc, VStyleError):
        return str(exc)
    return f"{exc.__class__.__name__}: {exception_line(exc) if str(exc) else ''}"


def attempt(work: Callable[[], None]) -> tuple[str, str]:
    """Run one file's (or segment's) ``work``: ``("ok", "")`` or ``("failed", reason)``; one bad file
    must not stop the batch. Ctrl-C and SIGTERM pass through."""
    try:
        work()
    except Exception as exc:
        return "failed", failure_reason(exc)
    return "ok", ""


def stylize_job(engine: Any, code: Any, job: Job, opts: Any,
                on_frames: Callable[[int, int], None] | None = None) -> tuple[str, str]:
    """Stylise one whole file of the batch; returns ``(status, reason)`` as :func:`attempt`."""
    from .video import stylize_video

    def work() -> None:
        job.dst.parent.mkdir(parents=True, exist_ok=True)
        if job.kind == "image":
            stylize_image_file(engine, code, job.src, job.dst, opts)
        else:
            stylize_video(engine, code, job.src, job.dst, opts, on_progress=on_frames)

    return attempt(work)


def batch_megapixels(todo: Sequence[Job], opts: Any) -> float:
    """Megapixels the pending jobs will stylise, from probes and image headers (the engine's ``auto``
    weighs one-off costs by it); a file that cannot be read counts nothing (its job fails later).
    Counting stops once auto's threshold is reached: a big folder is not probed twice."""
    from PIL import Image

    from ..engine.auto import REPAY_MEGAPIXELS
    from ..io.images import fitted_size, require_heif_reader
    from ..io.video_source import probe_video
    from .video import video_megapixels

    total = 0.0
    for job in todo:
        if total >= REPAY_MEGAPIXELS:
            break
        try:
            if job.kind == "image":
                require_heif_reader(job.src)
                with Image.open(job.src) as im:
                    w, h = opts.size or fitted_size(im.width, im.height, opts.max_size)  # as stylize_still
                total += w * h / 1e6
            else:
                total += video_megapixels(probe_video(job.src, opts.start, opts.duration), opts)
        except (OSError, ValueError, VStyleError):
            continue
    return total


def run_local(todo: list[Job], engine: Any, code: Any, opts: Any, observer: BatchObserver) -> None:
    """Stylise each job in turn with one engine. A job cut short by Ctrl-C or SIGTERM is marked
    ``interrupted`` and the interrupt is re-raised."""
    for j in todo:
        observer.file_started(j)
        t0 = time.perf_counter()
        try:
            j.status, j.reason = stylize_job(engine, code, j, opts, on_frames=functools.partial(observer.frames, j))
        except KeyboardInterrupt:
            j.status, j.reason = "interrupted", "stopped before it finished"
            raise
        finally:
            j.seconds = time.perf_counter() - t0
            observer.file_finished(j)


def counts(jobs: Sequence[Job]) -> dict[str, int]:
    """How many jobs ended in each status."""
    return {s: sum(j.status == s for j in jobs) for s in ("ok", "skipped", "failed", "interrupted", "pending")}
