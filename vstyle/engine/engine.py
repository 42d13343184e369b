"""The inference engine: uint8 RGB frames in, stylised uint8 RGB frames out, any size, batched."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ..errors import VStyleError
from ..flags import flag
from ..sizes import MAX_STYLE_SIZE
from ..models import SCTNet, StyleCode
from .backends import Backend, FrameBackend
from .color import preserve_color as _preserve_color
from .auto import pick_backend
from .device import resolve_device, resolve_precision
from .options import BACKENDS
from .padding import pad_to_multiple



def frames_to_tensor(frames: np.ndarray | Sequence[np.ndarray]) -> Tensor:
    """Stack uint8 H×W×3 frames into an N×H×W×3 uint8 CPU tensor (no copy when already stacked)."""
    arr = frames if isinstance(frames, np.ndarray) and frames.ndim == 4 else np.stack(list(frames))
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"frames must be N×H×W×3 uint8, got {arr.dtype} {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr))


class Engine:
    """Style codes once, frames many.

    ``backend``: ``torch`` (eager; ``compile=True`` for torch.compile), ``ort`` (ONNX Runtime),
    ``trt`` (a TensorRT engine file, CUDA only), ``openvino`` (OpenVINO Runtime, CPU; the one for
    ``int8``) or ``auto`` (the fastest available for the device and precision, and for a job of
    ``megapixels``: see :func:`~vstyle.engine.auto.pick_backend`).
    """

    def __init__(self, model: SCTNet, device: str = "auto", precision: str = "fp32", backend: str = "torch",
                 channels_last: bool | None = None, compile: bool = False, threads: int | None = None,
                 engine_path: str | None = None, megapixels: float | None = None) -> None:
        self.device = resolve_device(device)
        if backend not in BACKENDS:
            raise VStyleError(f"unknown backend {backend!r}; use {', '.join(BACKENDS)}")
        if backend == "auto":
            backend = pick_backend(self.device, engine_path, precision, megapixels, compile)
        _check_backend_options(backend, self.device, compile, engine_path)
        resolve_precision(precision, self.device, backend)  # before any model work
        if threads:
            torch.set_num_threads(threads)
        self.model = model.eval().to(self.device)
        self.backend: Backend = _make_backend(backend, model, self.device, precision,
                                              channels_last=channels_last, compile=compile, threads=threads,
                                              engine_path=engine_path)
        self.backend_name = self.backend.name
        # A TensorRT engine's precision is fixed when it is built; report what really runs.
        self.precision = self.backend.precision
        self._copy_stream = torch.cuda.Stream(self.device) if self.device.type == "cuda" else None

    # ------------------------------------------------------------------ style side

    def style_code(self, image: np.ndarray, max_size: int | None = None) -> StyleCode:
        """Encode a style image (H×W×3 uint8 RGB) once; its longer side is first limited to ``max_size``
        (default: the model's own ``style_size``)."""
        from ..io.images import fit_within

        h0, w0 = image.shape[:2]
        longest = max_size or self.model.style_size
        image = fit_within(image, longest)
        h, w = image.shape[:2]
        need = self.model.min_style_side
        if min(h, w) < need:
            if min(h0, w0) < need:
                raise VStyleError(f"style image is {w0}×{h0} px; this model needs at least {need} px per side")
            # Fitting the longer side to the style size made the shorter one too short: say which size works.
            enough = -(-need * max(h0, w0) // min(h0, w0))
            fix = (f"pass {flag('style_size')} {enough} or more" if enough <= MAX_STYLE_SIZE
                   else "crop it to a less elongated shape")
            raise VStyleError(f"style image {w0}×{h0} px is {w}×{h} at {flag('style_size')} {longest}; this model "
                              f"needs at least {need} px per side: {fix}")
        x = frames_to_tensor(image[None]).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        with torch.inference_mode():
            code = self.model.encode_style(x)
        return code.to(self.device, torch.float32)

    # ------------------------------------------------------------------ frames

    def upload(self, frames: np.ndarray | Sequence[np.ndarray]) -> Tensor:
        """uint8 frames → N×3×H×W float [0, 1] on the engine's device.

        On CUDA the host buffer is pinned and copied on a side stream so the copy overlaps compute.
        """
        t = frames_to_tensor(frames)
        if self._copy_stream is None:
            return t.permute(0, 3, 1, 2).float().div_(255.0)
        t = t.pin_memory()
        with torch.cuda.stream(self._copy_stream):
            dev = t.to(self.device, non_blocking=True)
        torch.cuda.current_stream(self.device).wait_stream(self._copy_stream)
        dev.record_stream(torch.cuda.current_stream(self.device))
        return dev.permute(0, 3, 1, 2).float().div_(255.0)

    @staticmethod
    def download(x: Tensor) -> np.ndarray:
        """N×3×H×W float [0, 1] → N×H×W×3 uint8 numpy (quantised on the device: 4× less to copy)."""
        q = x.clamp(0, 1).mul(255.0).add_(0.5).to(torch.uint8).permute(0, 2, 3, 1).contiguous()
        return q.cpu().numpy()

    def stylize_tensor(self, x: Tensor, code: StyleCode, alpha: float = 1.0, preserve_color: bool = False) -> Tensor:
        """Stylise N×3×H×W float [0, 1] on the device; returns the same size, clamped to [0, 1]."""
        _check_alpha(alpha)
        m = self.model.margin
        padded, h, w = pad_to_multiple(x, self.model.multiple, m)
        with torch.inference_mode():
            y = self.backend.run(padded, code.sigma, code.mean, float(alpha))
            y = y[..., m:m + h, m:m + w].float().clamp_(0, 1)
            if preserve_color:
                y = _preserve_color(y, x.float())
        return y

    def stylize(self, frames: np.ndarray | Sequence[np.ndarray], code: StyleCode, alpha: float = 1.0,
                preserve_color: bool = False) -> np.ndarray:
        """Stylise same-sized uint8 RGB frames (N×H×W×3 or a list); output has exactly the input size.

        Backends that take uint8 frames whole (:class:`~vstyle.engine.backends.FrameBackend`) get them
        so, unless colours are preserved (that blends with the float frames on the host).
        """
        if isinstance(self.backend, FrameBackend) and not preserve_color:
            _check_alpha(alpha)
            return self.backend.run_frames(frames_to_tensor(frames).numpy(), code.sigma, code.mean, float(alpha))
        return self.download(self.stylize_tensor(self.upload(frames), code, alpha, preserve_color))

    def describe(self) -> dict[str, str]:
        """What runs where, for ``--json`` summaries."""
        return {"device": str(self.device), "backend": self.backend_name, "precision": self.precision,
                "arch": self.model.arch, "mode": self.model.mode}


def _check_backend_options(backend: str, device: torch.device, compile: bool, engine_path: str | None) -> None:
    """Refuse options the backend that will run would ignore: a user who asks for torch.compile or a
    TensorRT engine and silently gets neither measures the wrong thing."""
    if compile and backend != "torch":
        raise VStyleError(f"{flag('compile_')} is torch.compile, for the torch backend; this run uses {backend}")
    if engine_path is not None and backend != "trt":
        raise VStyleError(f"{flag('engine_path')} {engine_path} is a TensorRT engine, run by the trt backend on "
                          f"CUDA; this run uses {backend} on {device.type}")


def _check_alpha(alpha: float) -> None:
    if not 0.0 <= alpha <= 1.0:
        raise VStyleError(f"alpha must be between 0 and 1, got {alpha}")


def _make_backend(name: str, model: SCTNet, device: torch.device, precision: str, *,
                  channels_last: bool | None, compile: bool, threads: int | None,
                  engine_path: str | None) -> Backend:
    """Instantiate a backend by name (imports optional runtimes only when asked for)."""
    if name == "torch":
        from .backends.torch_backend import TorchBackend

        # channels-last is the faster layout on CUDA and on the CPU (oneDNN; see README "Backends").
        cl = True if channels_last is None else channels_last
        return TorchBackend(model, device, precision, channels_last=cl, compile=compile)
    if name == "ort":
        from .backends.ort_backend import OrtBackend

        return OrtBackend(model, device, precision, threads=threads)
    if name == "openvino":
        from .backends.openvino_backend import OpenVinoBackend

        return OpenVinoBackend(model, device, precision, threads=threads)
    from .backends.trt_backend import TrtBackend

    return TrtBackend(model, device, precision, engine_path=engine_path)
