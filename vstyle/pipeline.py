"""Double-buffered frame pipeline: a reader thread → bounded queue → engine (batched) → bounded queue →
a writer thread.

Knows frames, an engine and two callables, nothing of files. Frames leave in the order they came in.
Queues are bounded, so memory stays flat however many frames flow through. On CUDA the next batch's
host→device copy is issued while the current batch computes (Engine.upload copies on a side stream).
An error in any thread stops the others and is re-raised in the caller's thread; so is Ctrl-C,
within a fraction of a second (a batch already computing is abandoned, not awaited).
"""

from __future__ import annotations

import atexit
import functools
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np

from .errors import VStyleError
from .flags import flag
from .interrupts import Terminated, deferred_interrupts, run_at_exit

if TYPE_CHECKING:
    from .engine.stylizer import Stylizer
    from .models import StyleCode

M = TypeVar("M")
T = TypeVar("T")
#: How often blocked threads look at the stop flag (seconds).
POLL_S = 0.05
#: Frames per batch aimed at on CUDA by ``auto_batch`` (pixels per batch ≈ this × 512×512).
_CUDA_BATCH_PIXELS = 8 * 512 * 512


class _End:
    """Marks the end of a queue's stream."""


_END = _End()


class _Stopped(Exception):
    """Raised inside worker threads when another thread asked everyone to stop."""


@dataclass
class PipelineStats:
    """What a run did: frames written, wall seconds, and the batch size used."""

    frames: int
    seconds: float
    batch: int

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def auto_batch(device_type: str, height: int, width: int) -> int:
    """Frames per batch: 1 on CPU (batching does not speed up CPU convolutions, it only adds
    latency and memory); on CUDA enough frames to fill the GPU, up to 16."""
    if device_type != "cuda":
        return 1
    return int(max(1, min(16, _CUDA_BATCH_PIXELS // max(1, height * width))))


class _Control:
    """Stop flag plus the first error raised by any thread."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def fail(self, exc: BaseException) -> None:
        with self._lock:
            if self.error is None:
                self.error = exc
        self.stop.set()

    def put(self, q: queue.Queue[Any], item: Any) -> None:
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                q.put(item, timeout=POLL_S)
                return
            except queue.Full:
                continue

    def get(self, q: queue.Queue[Any]) -> Any:
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                return q.get(timeout=POLL_S)
            except queue.Empty:
                continue


def _worker(ctl: _Control, name: str, fn: Callable[[], None]) -> threading.Thread:
    def body() -> None:
        try:
            fn()
        except _Stopped:
            pass
        except BaseException as exc:
            ctl.fail(exc)

    # Daemon: a batch that is still computing when the user presses Ctrl-C must not keep the process alive.
    t = threading.Thread(target=body, name=f"vstyle-{name}", daemon=True)
    t.start()
    return t


def run_pipeline(frames: Iterable[tuple[np.ndarray, M]], engine: Stylizer, code: StyleCode,
                 write: Callable[[np.ndarray, M], None], *, batch: int = 1, alpha: float = 1.0,
                 preserve_color: bool = False, on_progress: Callable[[int], None] | None = None,
                 depth: int | None = None) -> PipelineStats:
    """Stylise ``(image, meta)`` pairs from ``frames`` and hand ``(stylised, meta)`` to ``write``, in order.

    ``frames`` is iterated in a reader thread and ``write`` is called in a writer thread; both may
    release the GIL (PyAV does), so decode, compute and encode overlap. All images of a run must
    have the same size. ``on_progress(frames_written)`` is called from the caller's thread about
    every 0.1 s and at the end. ``depth`` bounds each queue (default: two batches).
    """
    if batch < 1:
        raise VStyleError(f"{flag('batch')} must be ≥ 1, got {batch}")
    ctl = _Control()
    depth = depth or max(2 * batch, 4)
    q_in: queue.Queue[Any] = queue.Queue(maxsize=depth)
    q_out: queue.Queue[Any] = queue.Queue(maxsize=depth)
    written = [0]

    def read() -> None:
        for item in frames:
            ctl.put(q_in, item)
        ctl.put(q_in, _END)

    def compute() -> None:
        for images, metas in _stylize_batches(_batches(ctl, q_in, batch), engine, code, alpha, preserve_color):
            for image, meta in zip(images, metas):
                ctl.put(q_out, (image, meta))
        ctl.put(q_out, _END)

    def encode() -> None:
        while True:
            item = ctl.get(q_out)
            if item is _END:
                return
            write(*item)
            written[0] += 1

    t0 = time.perf_counter()
    interrupted: KeyboardInterrupt | None = None
    started: dict[str, threading.Thread] = {}
    try:
        # Ctrl-C or SIGTERM (a KeyboardInterrupt too) is held back while the threads start and delivered
        # when they all run, inside this ``try``: it can never leave a thread reading or writing files
        # the caller is about to close (the reader decoding a closed container crashes the process).
        with deferred_interrupts():
            for name, fn in (("read", read), ("compute", compute), ("write", encode)):
                started[name] = _worker(ctl, name, fn)
        writer = started["write"]
        while writer.is_alive():
            writer.join(0.1)
            if on_progress is not None:
                on_progress(written[0])
    except KeyboardInterrupt as exc:
        interrupted = exc
    finally:
        with deferred_interrupts():
            ctl.stop.set()
            # Reader and writer poll the stop flag between frames; both finish within a frame's work.
            # They must be out of ``frames``/``write`` before the caller closes the files behind them.
            for name in ("read", "write"):
                if name in started:
                    started[name].join()
            # The compute thread may still be inside one batch (not interruptible); it drops its result
            # and exits on its own. Don't wait for it here, but don't let it crash the exit either.
            if "compute" in started:
                _abandon(started["compute"],
                         None if interrupted is None else 143 if isinstance(interrupted, Terminated) else 130)
    if interrupted is not None:
        raise interrupted  # Terminated (SIGTERM) stays Terminated
    if ctl.error is not None:
        raise ctl.error
    if on_progress is not None:
        on_progress(written[0])
    return PipelineStats(frames=written[0], seconds=time.perf_counter() - t0, batch=batch)


_abandoned: list[tuple[threading.Thread, int | None]] = []


def _abandon(thread: threading.Thread, exit_code: int | None) -> None:
    """Remember a compute thread still busy with a batch nobody will use; ``exit_code`` is the
    status an interrupt will exit with (130 Ctrl-C, 143 SIGTERM), ``None`` after an error."""
    if thread.is_alive():
        if not _abandoned:
            atexit.register(_settle_abandoned)
        _abandoned.append((thread, exit_code))


def _settle_abandoned() -> None:
    """At interpreter exit, a daemon thread returning from native (torch) code would be torn down
    mid-call and abort the process. After Ctrl-C or SIGTERM, exit at once with the status already
    chosen (130 or 143); after an error, wait for the batch to finish so the exit status stays the error's."""
    alive = [(t, code) for t, code in _abandoned if t.is_alive()]
    if not alive:
        return
    codes = [code for _, code in alive if code is not None]
    if codes:
        run_at_exit()  # what later atexit handlers would have removed (temporary caches)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(codes[-1])
    for t, _ in alive:
        t.join()


def _batches(ctl: _Control, q_in: queue.Queue[Any], size: int) -> Iterator[tuple[list[np.ndarray], list[Any]]]:
    """Group queued frames into lists of up to ``size`` (the last may be shorter)."""
    done = False
    while not done:
        images: list[np.ndarray] = []
        metas: list[Any] = []
        while len(images) < size:
            item = ctl.get(q_in)
            if item is _END:
                done = True
                break
            images.append(item[0])
            metas.append(item[1])
        if images:
            yield images, metas


def _stylize_batches(batches: Iterator[tuple[list[np.ndarray], list[Any]]], engine: Stylizer, code: StyleCode,
                     alpha: float, preserve_color: bool) -> Iterator[tuple[np.ndarray, Sequence[Any]]]:
    """Engine work with one batch of look-ahead on CUDA: batch i+1 is uploaded while batch i computes.

    ``stylize_tensor`` only queues kernels on CUDA, so the upload issued after it runs on the
    copy stream alongside, and ``download`` (which waits for batch i) overlaps the copy.
    Elsewhere there is nothing to overlap, and ``stylize`` lets the engine take uint8 frames its
    fastest way (a backend may pad, scale and round them inside its graph).
    """
    if engine.device.type != "cuda":
        for images, metas in batches:
            call = functools.partial(engine.stylize, images, code, alpha=alpha, preserve_color=preserve_color)
            yield _oom_guard(call, len(images), images[0].shape[1::-1]), metas
        return
    cur = next(batches, None)
    if cur is None:
        return
    x = engine.upload(cur[0])
    while True:
        y = _oom_guard(functools.partial(engine.stylize_tensor, x, code, alpha=alpha, preserve_color=preserve_color),
                       len(cur[0]), x.shape[:-3:-1])
        nxt = next(batches, None)
        x_next = engine.upload(nxt[0]) if nxt is not None else None
        out = engine.download(y)
        del y
        yield out, cur[1]
        if nxt is None or x_next is None:
            return
        cur, x = nxt, x_next


def _oom_guard(fn: Callable[[], T], n: int, size: Sequence[int]) -> T:
    """Turn out-of-memory into a one-line hint; ``size`` is (width, height)."""
    import torch

    try:
        return fn()
    except torch.OutOfMemoryError:
        raise VStyleError(f"out of memory stylising a batch of {n} frames of {size[0]}×{size[1]}; "
                          f"use a smaller {flag('batch')} or {flag('max_size')}") from None
