"""Units of cluster work (a whole file, or one segment of a long video) and what a worker does with one.

Kept free of Ray so the driver's planning and the worker's job are plain, testable functions; the
actor in ``worker.py`` only holds the engine and calls :func:`run_unit`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..jobs.batch import Job, attempt, stylize_job

#: Hidden folder under OUT where segments are written before they are joined (every node sees OUT).
SEGMENTS_DIR = ".vstyle-segments"


@dataclass(frozen=True)
class Unit:
    """One piece of work for a worker: a whole file (``segment is None``) or one segment of a video.

    A segment covers [start, start + duration) seconds after the file's container start (the
    ``--start``/``--duration`` convention of ``probe_video``); ``duration is None`` runs to the end.
    ``pts_offset`` (source time base) puts the segment's frames at their place in the whole file.
    """

    job: int  # index into the batch's job list
    segment: int | None = None
    start: float = 0.0
    duration: float | None = None
    pts_offset: int = 0
    part: Path | None = None  # where the stylised segment goes (under OUT/.vstyle-segments)


@dataclass(frozen=True)
class Outcome:
    """What a worker reports for a unit."""

    status: str  # "ok" | "failed"
    reason: str
    frames: int
    seconds: float


def segment_folder(job: Job, out_dir: Path, in_dir: Path) -> Path:
    """Where ``job``'s segments are kept while the video is in pieces (mirrors its relative path)."""
    return out_dir / SEGMENTS_DIR / job.src.relative_to(in_dir)


def run_unit(engine: Any, code: Any, job: Job, unit: Unit, opts: Any,
             on_frames: Callable[[int], None]) -> Outcome:
    """Stylise ``unit`` of ``job`` with a loaded engine: the whole file exactly as the local batch does,
    or one segment (video only, no audio: the join adds it) into ``unit.part``."""
    from ..jobs.video import stylize_video

    t0 = time.perf_counter()
    frames = [0]

    def count(done: int, total: int) -> None:
        frames[0] = done
        on_frames(done)

    if unit.segment is None:
        status, reason = stylize_job(engine, code, job, opts, on_frames=count)
        if job.kind == "image" and status == "ok":
            frames[0] = 1  # an image counts as one frame in the cluster's frame total
    else:
        assert unit.part is not None
        part = unit.part
        piece = dataclasses.replace(opts, start=unit.start, duration=unit.duration, audio=False, overwrite=True,
                                    keep_partial=False)

        def work() -> None:
            part.parent.mkdir(parents=True, exist_ok=True)
            stylize_video(engine, code, job.src, part, piece, on_progress=count, pts_offset=unit.pts_offset)

        status, reason = attempt(work)
    return Outcome(status, reason, frames[0], time.perf_counter() - t0)
