"""The driver of ``vstyle batch --ray``: plans units, keeps a pool of worker actors busy, replaces
workers that die, joins segmented videos, and leaves nothing under final names on Ctrl-C.

Statuses, reasons and outputs are those of the local batch: whole files run the same
``stylize_job`` on a worker; a segmented video is ``ok`` only once its joined file is in place.
"""

from __future__ import annotations

import collections
import dataclasses
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..jobs.batch import BatchObserver, Job, attempt
from ..errors import VStyleError, exception_line
from ..flags import spelling
from ..interrupts import deferred_interrupts
from .work import SEGMENTS_DIR, Outcome, Unit, segment_folder

#: Default length of the segments long videos are cut into (seconds; cuts fall on keyframes).
DEFAULT_SEGMENT_SECONDS = 60.0
#: A unit whose worker died is run again, up to this many times in all.
MAX_DEATHS_PER_UNIT = 3
#: Workers replaced in one batch, per worker of the pool, before the batch gives up (a worker that
#: cannot even start, e.g. out of memory loading the model, would otherwise be replaced forever).
MAX_REPLACEMENTS_PER_WORKER = 3
#: A segment that fails (an error, not a death) is tried this many times in all before its file is failed.
SEGMENT_TRIES = 2
#: How often the driver asks busy workers how far they are (seconds).
_POLL_S = 0.25


@dataclass(frozen=True)
class ClusterOptions:
    """The ``--ray``, ``--workers``, ``--threads`` and ``--segment-seconds`` flags."""

    address: str | None  # None: start a local cluster; "auto" or host:port: join one
    workers: int | None = None
    threads: int | None = None
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS


@dataclass
class _Video:
    """A segmented video in flight: its source range, its parts, and the frames of finished parts."""

    info: Any  # VideoInfo of the whole range
    parts: list[Path]
    frames: dict[int, int] = field(default_factory=dict)  # segment -> frames written (progress)


def plan_units(jobs: Sequence[Job], todo: Sequence[int], in_dir: Path, out_dir: Path, opts: Any,
               segment_seconds: float) -> tuple[list[Unit], dict[int, _Video], dict[int, int]]:
    """Units for the jobs at indices ``todo``: images and short videos whole, videos longer than
    ``segment_seconds`` cut at keyframes. Returns the units, the segmented videos, and each job's
    expected frame count (images count one)."""
    from ..io.video_segments import keyframe_cuts
    from ..io.video_source import probe_video

    units: list[Unit] = []
    videos: dict[int, _Video] = {}
    frames: dict[int, int] = {}
    for i in todo:
        job = jobs[i]
        frames[i] = 1
        if job.kind != "video":
            units.append(Unit(i))
            continue
        try:
            info = probe_video(job.src, opts.start, opts.duration)
            cuts = keyframe_cuts(info, segment_seconds)
        except VStyleError:
            units.append(Unit(i))  # the worker meets the same error and reports it as the local batch does
            continue
        frames[i] = info.frames
        if not cuts:
            units.append(Unit(i))
            continue
        base = info.origin - opts.start  # the container's start time: probe_video's --start is relative to it
        bounds = [info.origin, *cuts]
        ends: list[float | None] = [*cuts, info.end]
        folder = segment_folder(job, out_dir, in_dir)
        parts = [folder / f"{k:05d}.mp4" for k in range(len(bounds))]
        tb = info.time_base
        for k, (start, end) in enumerate(zip(bounds, ends)):
            offset = int(round(start / tb)) - int(round(info.origin / tb))
            units.append(Unit(i, k, start - base, None if end is None else end - start, offset, parts[k]))
        videos[i] = _Video(info, parts)
    return units, videos, frames


class _Run:
    """The scheduling loop's state: queue, pool, in-flight units, per-job progress."""

    def __init__(self, ray: Any, pool: Any, make_worker: Any, jobs: Sequence[Job], units: list[Unit],
                 videos: dict[int, _Video], frames: dict[int, int], opts: Any, observer: BatchObserver,
                 notes: list[str]) -> None:
        self.ray, self.pool, self.make_worker = ray, pool, make_worker
        self.jobs, self.videos, self.frames, self.opts = jobs, videos, frames, opts
        self.observer, self.notes = observer, notes
        # Workers run elsewhere, in other folders: they get absolute paths.
        self.sent = [dataclasses.replace(j, src=j.src.absolute(), dst=j.dst.absolute()) for j in jobs]
        self.queue: collections.deque[Unit] = collections.deque(units)
        self.left = collections.Counter(u.job for u in units)  # units of each job not yet finished
        self.deaths: collections.Counter[Unit] = collections.Counter()
        self.failures: collections.Counter[Unit] = collections.Counter()
        self.idle = [make_worker() for _ in range(pool.workers)]
        self.busy: dict[Any, tuple[Any, Unit]] = {}  # result ref -> (worker, unit)
        self.live_frames: dict[Any, int] = {}  # worker -> frames of its current unit
        self.started: dict[int, float] = {}
        self.replaced = 0

    # ------------------------------------------------------------------ the loop

    def run(self) -> None:
        last_poll = 0.0
        while self.queue or self.busy:
            self._dispatch()
            if not self.busy:
                continue  # the queue held only units of files that had already failed
            ready, _ = self.ray.wait(list(self.busy), num_returns=1, timeout=_POLL_S)
            for ref in ready:
                self._collect(ref)
            if time.monotonic() - last_poll >= _POLL_S:
                self._poll_progress()
                last_poll = time.monotonic()

    def _dispatch(self) -> None:
        while self.queue and self.idle:
            unit = self.queue.popleft()
            job = self.jobs[unit.job]
            if job.status != "pending":
                self._finish_unit(unit)  # its file already failed: drop the rest of it
                continue
            worker = self.idle.pop()
            if unit.job not in self.started:
                self.started[unit.job] = time.perf_counter()
                self.observer.file_started(job)
            self.busy[worker.run.remote(self.sent[unit.job], unit, self.opts)] = (worker, unit)
            self.live_frames[worker] = 0

    def _collect(self, ref: Any) -> None:
        from ray.exceptions import RayActorError, WorkerCrashedError

        worker, unit = self.busy.pop(ref)
        self.live_frames.pop(worker, None)
        try:
            outcome: Outcome = self.ray.get(ref)
        except (RayActorError, WorkerCrashedError) as exc:
            self._worker_died(unit, exc)
            return
        self.idle.append(worker)
        self._unit_done(unit, outcome)

    def _worker_died(self, unit: Unit, exc: BaseException) -> None:
        """Replace the worker and run its unit again (a few times at most)."""
        job = self.jobs[unit.job]
        self.deaths[unit] += 1
        what = job.src.name if unit.segment is None else f"{job.src.name} segment {unit.segment + 1}"
        self.replaced += 1
        if self.replaced > MAX_REPLACEMENTS_PER_WORKER * self.pool.workers:
            raise VStyleError(f"Ray workers keep dying ({self.replaced} so far; the last: {_death_line(exc)})")
        self.idle.append(self.make_worker())
        if self.deaths[unit] >= MAX_DEATHS_PER_UNIT:
            self.notes.append(f"a worker died on {what} ({_death_line(exc)}); replaced it; "
                              f"{what} failed after {MAX_DEATHS_PER_UNIT} tries")
            self._fail(unit, f"the worker died {MAX_DEATHS_PER_UNIT} times while on it")
            return
        self.notes.append(f"a worker died on {what} ({_death_line(exc)}); replaced it and re-running {what}")
        self.queue.appendleft(unit)

    def _unit_done(self, unit: Unit, outcome: Outcome) -> None:
        job = self.jobs[unit.job]
        # The worker saw absolute paths; the report names files as the user gave them, as the local batch does.
        sent = self.sent[unit.job]
        outcome = dataclasses.replace(outcome, reason=outcome.reason.replace(str(sent.src), str(job.src))
                                      .replace(str(sent.dst), str(job.dst)))
        if unit.segment is None:
            job.status, job.reason, job.seconds = outcome.status, outcome.reason, outcome.seconds
            self.observer.frames(job, outcome.frames, self.frames[unit.job])
            self._finish_unit(unit)
            return
        video = self.videos[unit.job]
        if outcome.status != "ok":
            self.failures[unit] += 1
            if self.failures[unit] < SEGMENT_TRIES:
                self.queue.appendleft(unit)
                return
            n = len(video.parts)
            self._fail(unit, f"segment {unit.segment + 1}/{n}: {outcome.reason}")
            return
        video.frames[unit.segment] = outcome.frames
        self.observer.frames(job, sum(video.frames.values()), self.frames[unit.job])
        self._finish_unit(unit)

    def _fail(self, unit: Unit, reason: str) -> None:
        job = self.jobs[unit.job]
        if job.status == "pending":
            job.status, job.reason = "failed", reason
            job.seconds = time.perf_counter() - self.started.get(unit.job, time.perf_counter())
        self._finish_unit(unit)

    def _finish_unit(self, unit: Unit) -> None:
        """One unit of a job is over; when it was the last, finish the job (joining a segmented video)."""
        self.left[unit.job] -= 1
        if self.left[unit.job]:
            return
        job = self.jobs[unit.job]
        video = self.videos.get(unit.job)
        if video is not None:
            if job.status == "pending":
                status, reason = attempt(lambda: self._join(job, video))
                job.status, job.reason = status, reason
                job.seconds = time.perf_counter() - self.started[unit.job]
            shutil.rmtree(video.parts[0].parent, ignore_errors=True)
        elif job.status == "failed":
            _remove_partial(job.dst)  # a worker that died on it may have left its temporary file
        self.observer.file_finished(job)

    def _join(self, job: Job, video: _Video) -> None:
        from ..io.video_segments import join_segments

        job.dst.parent.mkdir(parents=True, exist_ok=True)
        join_segments(video.parts, job.dst, video.info if self.opts.audio else None, overwrite=self.opts.overwrite,
                      created=video.info.creation_time)

    def _poll_progress(self) -> None:
        """Ask busy workers how many frames their unit has written, and show it per file."""
        asks = {w.progress.remote(): w for w in self.live_frames}
        if not asks:
            return
        ready, _ = self.ray.wait(list(asks), num_returns=len(asks), timeout=_POLL_S)
        for ref in ready:
            try:
                self.live_frames[asks[ref]] = self.ray.get(ref)
            except Exception:
                continue
        per_job: dict[int, int] = collections.defaultdict(int)
        for worker, unit in self.busy.values():
            per_job[unit.job] += self.live_frames.get(worker, 0)
        for i, live in per_job.items():
            video = self.videos.get(i)
            done = sum(video.frames.values()) if video is not None else 0
            self.observer.frames(self.jobs[i], done + live, self.frames[i])

    # ------------------------------------------------------------------ Ctrl-C

    def stop(self) -> None:
        """Stop every worker and remove what they were writing: nothing is left under final names
        (files already finished stay, as in the local batch)."""
        for i, t0 in self.started.items():
            job = self.jobs[i]
            if job.status == "pending":
                job.status, job.reason = "interrupted", "stopped before it finished"
                job.seconds = time.perf_counter() - t0
        for worker in [w for w, _ in self.busy.values()] + self.idle:
            try:
                self.ray.kill(worker, no_restart=True)
            except Exception:
                pass
        for _, unit in self.busy.values():
            if unit.segment is None:
                _remove_partial(self.jobs[unit.job].dst)
        self.busy.clear()


def _remove_partial(dst: Path) -> None:
    """Remove what a stopped or dead worker was writing for ``dst`` (its partial file carries its process id)."""
    from ..io.atomic import partial_files

    for path in partial_files(dst):
        path.unlink(missing_ok=True)


def _death_line(exc: BaseException) -> str:
    """A short line for a worker's death (Ray's messages run to many lines)."""
    return exception_line(exc, limit=120)


def run_on_ray(jobs: Sequence[Job], in_dir: Path, out_dir: Path, opts: Any, engine_args: dict[str, Any],
               styles: tuple[str, ...], style_size: int | None, cluster: ClusterOptions,
               observer_factory: Any, notes: list[str]) -> dict[str, Any]:
    """Run the pending ``jobs`` on a Ray cluster; statuses are set on the jobs as the local batch sets
    them. ``observer_factory(files, frames)`` makes the progress view once the frame total is known.
    ``notes`` collects lines about worker deaths and segmentation. Returns what the ``--json``
    summary adds: the engine's description and a ``ray`` entry.
    """
    from .connect import check_paths_on_every_node, connect, size_pool
    from .worker import StylizeWorker, encode_style

    todo = [i for i, j in enumerate(jobs) if j.status == "pending"]
    in_dir, out_dir = in_dir.absolute(), out_dir.absolute()
    engine_args = {**engine_args, "model": _absolute_if_file(engine_args.get("model"))}
    styles = tuple(_absolute_style(s) for s in styles)
    t0 = time.perf_counter()
    ray = connect(cluster.address)
    try:
        pool = size_pool(ray, cluster.workers, cluster.threads, use_gpus=engine_args.get("device") != "cpu")
        check_paths_on_every_node(ray, pool, in_dir, out_dir, jobs[todo[0]].src.absolute())
        args = {**engine_args, "threads": engine_args.get("threads") or (pool.threads if not pool.gpus_each else None)}
        code, described = _get(ray, ray.remote(encode_style).options(**pool.actor_options())
                                .remote(args, styles, style_size, spelling()))
        units, videos, frames = plan_units([dataclasses.replace(j, src=j.src.absolute()) for j in jobs], todo,
                                           in_dir, out_dir, opts, cluster.segment_seconds)
        for i, video in videos.items():
            notes.append(f"{jobs[i].src.name}: {len(video.parts)} segments")
        code_ref = ray.put(code)
        actor = ray.remote(StylizeWorker).options(max_concurrency=2, max_restarts=0, **pool.actor_options())
        t_ready = time.perf_counter()
        with observer_factory(len(todo), sum(frames.values())) as observer:
            run = _Run(ray, pool, lambda: actor.remote(args, code_ref, spelling()), jobs, units, videos, frames, opts,
                       observer, notes)
            try:
                run.run()
            except BaseException:  # Ctrl-C, SIGTERM, or workers that cannot be kept alive
                with deferred_interrupts():  # a second Ctrl-C must not cut the clean-up short
                    run.stop()
                raise
        return {**described, "ray": {"workers": pool.workers, "nodes": pool.nodes, "gpus_each": pool.gpus_each,
                                     "threads_each": pool.threads, "workers_replaced": run.replaced,
                                     "seconds_to_start": round(t_ready - t0, 3),
                                     "seconds_working": round(time.perf_counter() - t_ready, 3),
                                     "segmented": {str(jobs[i].src): len(v.parts) for i, v in videos.items()}}}
    finally:
        with deferred_interrupts():
            _remove_segments_folder(out_dir)
            ray.shutdown()


def _get(ray: Any, ref: Any) -> Any:
    """``ray.get`` that turns a remote user error back into the one-line error it was."""
    from ray.exceptions import RayTaskError

    try:
        return ray.get(ref)
    except RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, VStyleError):
            raise VStyleError(str(cause)) from None
        raise VStyleError(f"a Ray worker failed: {exception_line(cause or exc)}") from None


def _absolute_if_file(model: str | None) -> str | None:
    """``--model`` as workers must see it: a file path made absolute (names are looked up on the node)."""
    return str(Path(model).absolute()) if model and Path(model).is_file() else model


def _absolute_style(spec: str) -> str:
    """A ``--style PATH[:WEIGHT]`` with its path made absolute."""
    from ..jobs.engine import parse_style_spec

    parsed = parse_style_spec(spec)
    return f"{parsed.path.absolute()}:{parsed.weight}"


def _remove_segments_folder(out_dir: Path) -> None:
    """Segments are never outputs: whatever is left of them (a stopped run) goes."""
    shutil.rmtree(out_dir / SEGMENTS_DIR, ignore_errors=True)
