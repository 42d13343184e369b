"""The threaded decode → stylise → encode pipeline: order, errors, interruption, bounded memory."""

from __future__ import annotations

import _thread
import random
import threading
import time

import numpy as np
import pytest
import torch

from vstyle.errors import VStyleError
from vstyle.pipeline import auto_batch, run_pipeline


class FakeEngine:
    """Engine-shaped stand-in: ``255 - x`` with random delays, recording batch sizes."""

    def __init__(self, delay: float = 0.0, fail_at: int | None = None, device: str = "cpu") -> None:
        self.delay, self.fail_at = delay, fail_at
        # "cuda" takes the pipeline's look-ahead path (upload, stylize_tensor, download); the tensors stay on the CPU.
        self.device = torch.device(device)
        self.batches: list[int] = []
        self.calls = 0

    def upload(self, frames: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255

    def stylize_tensor(self, x: torch.Tensor, code: object, alpha: float, preserve_color: bool) -> torch.Tensor:
        self.calls += 1
        if self.fail_at is not None and self.calls > self.fail_at:
            raise RuntimeError("engine exploded")
        time.sleep(random.uniform(0, self.delay))
        self.batches.append(x.shape[0])
        return 1 - x

    @staticmethod
    def download(x: torch.Tensor) -> np.ndarray:
        return (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()

    def stylize(self, frames: list[np.ndarray], code: object, alpha: float = 1.0,
                preserve_color: bool = False) -> np.ndarray:
        return self.download(self.stylize_tensor(self.upload(frames), code, alpha, preserve_color))


def frames(n: int) -> list[tuple[np.ndarray, int]]:
    out = []
    for i in range(n):
        out.append((np.full((4, 6, 3), i % 256, np.uint8), i))
    return out


def slow(items: list, delay: float):
    for item in items:
        time.sleep(random.uniform(0, delay))
        yield item


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("batch", [1, 3, 8])
def test_frames_leave_in_order_and_all_arrive(batch: int, device: str) -> None:
    random.seed(batch)
    got: list[tuple[int, int]] = []
    engine = FakeEngine(delay=0.003, device=device)

    def write(image: np.ndarray, meta: int) -> None:
        time.sleep(random.uniform(0, 0.002))
        got.append((meta, int(image[0, 0, 0])))

    progress: list[int] = []
    stats = run_pipeline(slow(frames(40), 0.002), engine, None, write, batch=batch, on_progress=progress.append)
    assert [m for m, _ in got] == list(range(40))
    assert all(v == 255 - m for m, v in got)
    assert stats.frames == 40 and progress[-1] == 40
    assert max(engine.batches) <= batch and sum(engine.batches) == 40


def test_memory_is_bounded_by_the_queues() -> None:
    """A slow writer must not let the reader run ahead: queued frames stay below a fixed bound."""
    read = [0]
    written = [0]
    ahead = [0]

    def source():
        for item in frames(200):
            read[0] += 1
            ahead[0] = max(ahead[0], read[0] - written[0])
            yield item

    def write(image: np.ndarray, meta: int) -> None:
        time.sleep(0.001)
        written[0] += 1

    run_pipeline(source(), FakeEngine(), None, write, batch=2, depth=4)
    # reader queue (4) + one batch being built + one in flight + output queue (4) + the writer's frame
    assert ahead[0] <= 4 + 2 + 2 + 4 + 2


@pytest.mark.parametrize("where", ["read", "compute", "write"])
def test_an_error_in_any_thread_reaches_the_caller(where: str) -> None:
    def source():
        for item in frames(1000):
            if where == "read" and item[1] == 20:
                raise VStyleError("bad frame 20")
            yield item

    def write(image: np.ndarray, meta: int) -> None:
        if where == "write" and meta == 20:
            raise VStyleError("disk full")

    engine = FakeEngine(fail_at=10 if where == "compute" else None)
    before = threading.active_count()
    t0 = time.perf_counter()
    with pytest.raises((VStyleError, RuntimeError)) as err:
        run_pipeline(source(), engine, None, write, batch=1)
    assert time.perf_counter() - t0 < 60  # a hang, not a speed limit (a busy 2-core machine is slow)
    assert {"read": "bad frame 20", "compute": "engine exploded", "write": "disk full"}[where] in str(err.value)
    deadline = time.monotonic() + 30  # returns as soon as the threads are gone
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_keyboard_interrupt_stops_every_thread() -> None:
    def source():
        while True:  # an endless video
            yield np.zeros((4, 6, 3), np.uint8), 0

    def write(image: np.ndarray, meta: int) -> None:
        time.sleep(0.001)

    timer = threading.Timer(0.3, _thread.interrupt_main)
    before = threading.active_count()
    timer.start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(source(), FakeEngine(delay=0.01), None, write, batch=2)
    assert time.perf_counter() - t0 < 60  # stopped, not ran forever; the latency is no test's business
    deadline = time.monotonic() + 30  # returns as soon as the threads are gone
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_signal_while_the_threads_start_leaves_none_reading_or_writing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C (or SIGTERM) landing while the threads start is held back until all run, then stops them all
    before it reaches the caller: the caller closes the files behind reader and writer next (a reader left
    decoding a closed container crashed batch, or hung it, in CI)."""
    import signal

    import vstyle.pipeline as pipeline

    start_worker = pipeline._worker

    def start_then_signal(ctl: object, name: str, fn: object) -> threading.Thread:
        thread = start_worker(ctl, name, fn)
        if name == "write":
            signal.raise_signal(signal.SIGINT)  # lands inside the start-up section
        return thread

    monkeypatch.setattr(pipeline, "_worker", start_then_signal)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_pipeline(slow(frames(10_000), 0.002), FakeEngine(delay=0.01), None, lambda *_: time.sleep(0.001))
    finally:
        signal.signal(signal.SIGINT, previous)
    # No grace period: reader and writer are joined before the interrupt leaves run_pipeline.
    alive = {t.name for t in threading.enumerate() if t.is_alive()}
    assert not alive & {"vstyle-read", "vstyle-write"}, alive


def test_bad_batch_size() -> None:
    with pytest.raises(VStyleError):
        run_pipeline(iter(()), FakeEngine(), None, lambda *_: None, batch=0)


def test_auto_batch() -> None:
    assert auto_batch("cpu", 1080, 1920) == 1
    assert auto_batch("cuda", 1080, 1920) == 1
    assert auto_batch("cuda", 256, 256) == 16
    assert 1 < auto_batch("cuda", 512, 512) <= 16


def test_real_engine_matches_per_frame_stylize(tiny_model, style_image) -> None:
    """Batched pipeline output equals stylising each frame on its own."""
    from vstyle.engine import Engine
    from vstyle.io.images import read_image
    from vstyle.weights import load_model

    engine = Engine(load_model(tiny_model), device="cpu")
    code = engine.style_code(read_image(style_image))
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (30, 42, 3), dtype=np.uint8) for _ in range(5)]
    got: list[np.ndarray] = []
    run_pipeline(((im, i) for i, im in enumerate(imgs)), engine, code, lambda im, i: got.append(im), batch=2)
    ref = [engine.stylize(im[None], code)[0] for im in imgs]
    assert len(got) == 5
    for a, b in zip(got, ref):
        assert a.shape == b.shape
        assert np.abs(a.astype(int) - b).max() <= 2
    assert np.abs(got[0].astype(int) - imgs[0]).mean() > 5  # actually changed
