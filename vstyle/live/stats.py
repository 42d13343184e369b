"""Running numbers for the overlay and the final summary: rates and latency over the last second."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from ..errors import counted


class RateMeter:
    """Events per second from a growing counter, over a sliding time window."""

    def __init__(self, window_s: float = 1.0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()

    def update(self, count: int, now: float) -> None:
        """Record that ``count`` events had happened by time ``now`` (seconds)."""
        self._samples.append((now, count))
        # Keep one sample older than the window so the rate spans the whole window.
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window_s:
            self._samples.popleft()

    def rate(self) -> float:
        """Events per second over the window (0 until two samples exist)."""
        if len(self._samples) < 2:
            return 0.0
        (t0, c0), (t1, c1) = self._samples[0], self._samples[-1]
        return (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0


@dataclass(frozen=True)
class Snapshot:
    """The numbers shown on screen and printed at the end."""

    frames: int
    seconds: float
    capture_fps: float
    stylize_fps: float
    latency_ms: float
    dropped: int
    #: False for a whole run of fewer than two output frames: no interval to take a rate over, so the
    #: rates and latency (zeros) are not measurements.
    measured: bool = True

    def line(self) -> str:
        """One human line, e.g. for the end of a run."""
        head = f"{counted(self.frames, 'frame')} in {self.seconds:.1f} s: "
        if not self.measured:
            return head + f"too few to measure rates (2 or more needed), {self.dropped} dropped"
        return head + (f"capture {self.capture_fps:.1f} fps, stylise {self.stylize_fps:.1f} fps, "
                       f"latency {self.latency_ms:.0f} ms, {self.dropped} dropped")

    def as_dict(self) -> dict[str, float | int | None]:
        """For ``--json`` (rates and latency null when not measured)."""
        def rounded(value: float, digits: int) -> float | None:
            return round(value, digits) if self.measured else None

        return {"frames": self.frames, "seconds": round(self.seconds, 3),
                "capture_fps": rounded(self.capture_fps, 2), "stylize_fps": rounded(self.stylize_fps, 2),
                "latency_ms": rounded(self.latency_ms, 1), "dropped": self.dropped}


class LiveStats:
    """Capture rate, stylise rate and capture→output latency: windowed for display, whole-run at the end.

    The whole-run numbers start at the first output frame, so one-time warm-up (the first
    stylisation, the model load the first frame waited for) does not count.
    """

    def __init__(self, window_s: float = 1.0) -> None:
        self.started = time.perf_counter()
        self.window_s = window_s
        self.frames = 0
        self._dropped = 0
        self._capture = RateMeter(window_s)
        self._stylize = RateMeter(window_s)
        self._latencies: deque[tuple[float, float]] = deque()
        self._first: tuple[float, int] | None = None  # (time, captured) at the first output
        self._last: tuple[float, int] | None = None
        self._latency_sum = 0.0

    def record(self, captured_at: float, captured: int, dropped: int, now: float | None = None) -> None:
        """One output frame is ready; ``captured``/``dropped`` are the capture's running counters."""
        now = time.perf_counter() if now is None else now
        self.frames += 1
        self._dropped = dropped
        self._capture.update(captured, now)
        self._stylize.update(self.frames, now)
        latency = now - captured_at
        if self._first is None:
            self._first = (now, captured)
        else:
            self._latency_sum += latency
        self._last = (now, captured)
        self._latencies.append((now, latency))
        while self._latencies and now - self._latencies[0][0] > self.window_s:
            self._latencies.popleft()

    def current(self) -> Snapshot:
        """Numbers over the last window (for the overlay)."""
        lat = [v for _, v in self._latencies]
        return Snapshot(self.frames, time.perf_counter() - self.started, self._capture.rate(),
                        self._stylize.rate(), 1000.0 * sum(lat) / len(lat) if lat else 0.0, self._dropped)

    def total(self) -> Snapshot:
        """Steady-state averages from the first output frame to the last (final line, ``--json``)."""
        seconds = time.perf_counter() - self.started
        if self._first is None or self._last is None or self.frames < 2 or self._last[0] <= self._first[0]:
            return Snapshot(self.frames, seconds, 0.0, 0.0, 0.0, self._dropped, measured=False)
        span = self._last[0] - self._first[0]
        return Snapshot(self.frames, seconds, (self._last[1] - self._first[1]) / span, (self.frames - 1) / span,
                        1000.0 * self._latency_sum / (self.frames - 1), self._dropped)
