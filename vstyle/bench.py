"""Benchmark core: time every backend × precision × frame size × batch through the real Engine.

Timing covers :meth:`vstyle.engine.Engine.stylize_tensor` on frames already on the device (pad,
network, crop, clamp), after warm-up runs; the median of the timed runs is reported, with the
median process CPU time (all threads) per frame, which a shared machine's load disturbs far less
than wall time. All variants
are created first and their runs are interleaved (run 1 of every variant, then run 2, …), so a
machine whose load drifts, such as a shared CPU, affects them alike and the ratios stay fair.

Peak memory of a variant at a size = what creating it added (weights, sessions, engines; TensorRT's
own activation memory included) + the largest rise during one of its calls at that size (CUDA:
``torch.cuda.max_memory_allocated``; CPU: resident set size sampled every 2 ms, or ``ru_maxrss``
where /proc is unavailable). Unavailable combinations are reported as skipped with the reason.
"""

from __future__ import annotations

import copy
import os
import platform
import resource
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch

from .engine.options import PRECISIONS, unsupported
from .errors import VStyleError, exception_line
from .hostinfo import cpu_name
from .process_settings import describe_process_settings
from .models import SCTNet

if TYPE_CHECKING:
    from .engine import Engine
    from .models.stylecode import StyleCode

#: Benchmarkable variants: the four backends plus two torch settings worth comparing.
VARIANTS = {
    "torch": "PyTorch eager (channels-last where that is the default)",
    "torch-nchw": "PyTorch eager, contiguous NCHW tensors",
    "torch-compile": "torch.compile (CUDA: with CUDA graphs)",
    "ort": "ONNX Runtime",
    "trt": "TensorRT engine",
    "openvino": "OpenVINO Runtime (CPU)",
}
DEFAULT_BACKENDS = ("torch", "ort", "trt", "openvino")


@dataclass
class Result:
    """What one case gave; ``status`` is ``ok``, ``skipped`` (unavailable here) or ``failed``."""

    backend: str
    precision: str
    size: str
    width: int
    height: int
    batch: int
    status: str
    reason: str = ""
    ms_per_frame: float | None = None
    fps: float | None = None
    ms_per_batch: float | None = None
    cpu_ms_per_frame: float | None = None
    peak_mb: float | None = None
    runs_ms: list[float] = field(default_factory=list)


def default_precisions(device: torch.device) -> list[str]:
    """Every precision the torch backend can run on ``device`` (fp32 and bf16; fp16 on CUDA too)."""
    return [p for p in PRECISIONS if unsupported(p, device.type) is None]


def skip_reason(backend: str, precision: str, device: torch.device) -> str | None:
    """Why a variant cannot run here (``None`` when it may), checked without building anything."""
    if backend not in VARIANTS:
        return f"unknown backend (known: {', '.join(VARIANTS)})"
    reason = unsupported(precision, device.type, backend.split("-")[0])  # torch-nchw: the torch backend
    if reason is not None:
        return reason
    if backend == "ort":
        try:
            import onnxruntime as ort
        except ImportError:
            return "onnxruntime not installed"
        if device.type == "cuda" and "CUDAExecutionProvider" not in ort.get_available_providers():
            return "onnxruntime has no CUDA provider (install onnxruntime-gpu)"
    if backend == "trt":
        from .export.trt_build import missing_for_tensorrt

        missing = missing_for_tensorrt()
        if missing:
            return "; ".join(missing)
    if backend == "openvino":
        from .engine.backends.openvino_backend import openvino_ready

        if not openvino_ready():
            return "openvino, onnx or onnxscript not installed"
    return None


def machine_info(device: torch.device) -> dict[str, str | int]:
    """Where the numbers come from: CPU model and threads (a number) or GPU name, library versions."""
    info: dict[str, str | int] = {"device": str(device), "cpu": cpu_name(), "cpu_threads": torch.get_num_threads(),
            "os": platform.platform(terse=True), "python": platform.python_version(), "torch": torch.__version__,
            **describe_process_settings()}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    try:
        import onnxruntime as ort

        info["onnxruntime"] = ort.__version__
    except ImportError:
        pass
    try:
        import openvino

        info["openvino"] = openvino.get_version()
    except ImportError:
        pass
    return info


class MemoryMeter:
    """Memory in use and the peak rise during one call: CUDA allocator statistics, or sampled RSS."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._proc = os.path.exists("/proc/self/statm")

    def _rss(self) -> int:
        if self._proc:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * self._page
        # ru_maxrss is KiB on Linux, bytes on macOS: a lifetime peak, the best available without /proc.
        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return r if sys.platform == "darwin" else r * 1024

    def current(self) -> int:
        """Bytes in use now (CUDA: allocated by torch; CPU: resident set size)."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            return torch.cuda.memory_allocated(self.device)
        return self._rss()

    def peak_rise(self, fn: Callable[[], object]) -> int:
        """Run ``fn`` and return how far memory rose above its level at the start, at the peak."""
        start = self.current()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            fn()
            torch.cuda.synchronize(self.device)
            return max(0, torch.cuda.max_memory_allocated(self.device) - start)
        peak = [start]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.002):
                peak[0] = max(peak[0], self._rss())

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            fn()
        finally:
            stop.set()
            thread.join()
        return max(0, max(peak[0], self._rss()) - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _make_engine(model: SCTNet, device: torch.device, backend: str, precision: str, threads: int | None,
                 engine_path: str | None) -> Engine:
    from .engine import Engine

    kwargs: dict[str, Any] = {}
    if backend == "torch-nchw":
        kwargs["channels_last"] = False
    if backend == "torch-compile":
        kwargs["compile"] = True
    name = "torch" if backend.startswith("torch") else backend
    return Engine(model, device=str(device), precision=precision, backend=name, threads=threads,
                  engine_path=engine_path if backend == "trt" else None, **kwargs)


@dataclass
class _Live:
    """A created variant: its engine, style code and the memory its creation added."""

    backend: str
    precision: str
    engine: Engine
    code: StyleCode
    static_bytes: int


def _create(model: SCTNet, device: torch.device, backend: str, precision: str, meter: MemoryMeter,
            threads: int | None, engine_path: str | None) -> _Live | str:
    """A live variant, or the reason it cannot run here."""
    reason = skip_reason(backend, precision, device)
    if reason is not None:
        return reason
    style = np.random.default_rng(0).integers(0, 256, size=(256, 256, 3), dtype=np.uint8)
    before = meter.current()
    try:
        # A private copy per variant: backends may convert the model in place (memory format).
        engine = _make_engine(copy.deepcopy(model), device, backend, precision, threads, engine_path)
        code = engine.style_code(style)
    except VStyleError as exc:
        return str(exc)
    if engine.precision != precision:  # a given TensorRT engine has one fixed precision
        return f"the engine runs {engine.precision}"
    static = max(0, meter.current() - before) + int(getattr(engine.backend, "device_memory_bytes", 0))
    return _Live(backend, precision, engine, code, static)


def run_bench(model: SCTNet, device: torch.device, sizes: list[tuple[str, int, int]], batches: list[int],
              backends: list[str], precisions: list[str], *, warmup: int = 1, runs: int = 3,
              threads: int | None = None, engine_path: str | None = None,
              on_call: Callable[[int, int, str], None] | None = None) -> list[Result]:
    """Measure every backend × precision × size × batch; ``sizes`` are (label, width, height).

    Variants are created once (torch.compile, engine loading and ONNX export are not timed); for
    each size and batch, warm-up and timed runs go round-robin over the variants.
    ``on_call(done, total, description)`` is called before every stylisation (progress display).
    """
    meter = MemoryMeter(device)
    variants = [(b, p) for b in backends for p in precisions]
    created = {v: _create(model, device, v[0], v[1], meter, threads, engine_path) for v in variants}
    live = [c for c in created.values() if isinstance(c, _Live)]
    per_shape = sum(max(warmup, 1 if v.backend == "torch-compile" else 0) + runs for v in live)
    counter = _Counter(per_shape * len(sizes) * len(batches), on_call)
    results: dict[tuple[str, str, str, int], Result] = {}
    for label, w, h in sizes:
        for batch in batches:
            case_results = _measure_shape(live, device, meter, label, w, h, batch, warmup, runs, counter)
            for (backend, precision), c in created.items():
                r = case_results[(backend, precision)] if isinstance(c, _Live) else \
                    Result(backend, precision, label, w, h, batch, "skipped", c)
                results[(backend, precision, label, batch)] = r
    # Report grouped by variant, then size, then batch.
    return [results[(b, p, label, n)] for (b, p) in variants for (label, _, _) in sizes for n in batches]


class _Counter:
    """Counts stylisation calls for the progress callback."""

    def __init__(self, total: int, fn: Callable[[int, int, str], None] | None) -> None:
        self.total, self.done, self.fn = total, 0, fn

    def tick(self, description: str) -> None:
        if self.fn:
            self.fn(self.done, self.total, description)
        self.done += 1


def _measure_shape(live: list[_Live], device: torch.device, meter: MemoryMeter, label: str, w: int, h: int,
                   batch: int, warmup: int, runs: int, counter: _Counter) -> dict[tuple[str, str], Result]:
    """Warm-up then interleaved timed runs of every live variant on one batch shape."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, h, w, generator=gen).to(device)
    out: dict[tuple[str, str], Result] = {}
    rise: dict[tuple[str, str], int] = {}
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}

    def call(v: _Live) -> tuple[float, float] | None:
        """One stylisation; None once the variant failed or was refused at this shape."""
        key = (v.backend, v.precision)
        counter.tick(f"{v.backend} {v.precision} {batch}×{w}×{h}")
        if out.get(key) is not None:
            return None
        t = [0.0, 0.0]

        def fn() -> None:
            t0, c0 = time.perf_counter(), time.process_time()
            v.engine.stylize_tensor(x, v.code)
            _sync(device)
            t[0], t[1] = time.perf_counter() - t0, time.process_time() - c0

        try:
            rise[key] = max(rise.get(key, 0), meter.peak_rise(fn))
        except VStyleError as exc:
            out[key] = Result(v.backend, v.precision, label, w, h, batch, "skipped", str(exc))
            return None
        except (RuntimeError, MemoryError) as exc:
            if device.type == "cuda":
                torch.cuda.empty_cache()
            out[key] = Result(v.backend, v.precision, label, w, h, batch, "failed", exception_line(exc))
            return None
        return t[0], t[1]

    for v in live:
        # torch.compile compiles on its first call: never let that be a timed run.
        for _ in range(max(warmup, 1 if v.backend == "torch-compile" else 0)):
            call(v)
    for r in range(runs):
        order = live[r % len(live):] + live[: r % len(live)] if live else []
        for v in order:
            t = call(v)
            if t is not None:
                times.setdefault((v.backend, v.precision), []).append(t)
    for v in live:
        key = (v.backend, v.precision)
        if key in out:
            continue
        med = statistics.median(t for t, _ in times[key])
        cpu = statistics.median(c for _, c in times[key])
        out[key] = Result(v.backend, v.precision, label, w, h, batch, "ok", ms_per_frame=med * 1000 / batch,
                          fps=batch / med, ms_per_batch=med * 1000, cpu_ms_per_frame=cpu * 1000 / batch,
                          peak_mb=(v.static_bytes + rise.get(key, 0)) / 2**20,
                          runs_ms=[t * 1000 for t, _ in times[key]])
    return out


def results_json(results: list[Result]) -> list[dict[str, Any]]:
    """Results as plain dicts (rounded for reading)."""
    out = []
    for r in results:
        d = asdict(r)
        for k in ("ms_per_frame", "fps", "ms_per_batch", "cpu_ms_per_frame", "peak_mb"):
            if d[k] is not None:
                d[k] = round(d[k], 2)
        d["runs_ms"] = [round(t, 2) for t in d["runs_ms"]]
        out.append(d)
    return out
