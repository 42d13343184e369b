"""OpenVINO Runtime backend (CPU): the project's ONNX export, or its int8 quantisation, compiled per frame shape.

OpenVINO 2025+ Python API (docs.openvino.ai, "Integrate OpenVINO with your application" and the CPU
device page): ``Core.read_model``, ``Model.reshape``, ``Core.compile_model(model, "CPU", config)``
with ``INFERENCE_NUM_THREADS``, ``INFERENCE_PRECISION_HINT`` and ``PERFORMANCE_HINT``, the
``CACHE_DIR`` property for compiled blobs, and ``InferRequest.infer``.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ...errors import VStyleError
from ...flags import flag
from ...hostinfo import has_int8_units
from ...export.graph import OUTPUT_NAME
from ...export.onnx_export import cache_dir, cached_onnx_path, exporter_and
from ...models import SCTNet
from ..device import resolve_precision
from ..padding import pad_plan

#: Compiled shapes kept per engine: video keeps one, a folder of mixed images may bring a few.
_MAX_SHAPES = 4
#: The CPU plugin's compute precision per vstyle precision; int8 models keep float32 outside their
#: quantised convolutions. fp32 is asked for explicitly: on CPUs with bf16 units the plugin would
#: otherwise pick bf16 by itself (max difference 33/255 against torch on this model).
_HINTS = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}
#: Input name of the uint8-frames graph (:meth:`OpenVinoBackend.run_frames`).
FRAMES_U8 = "frames_u8"


def openvino_ready() -> bool:
    """Whether OpenVINO and the ONNX exporter it compiles from are importable (checked without importing)."""
    return exporter_and("openvino")


def import_openvino() -> Any:
    """The ``openvino`` module, or one clear line saying how to install it."""
    try:
        import openvino
    except ImportError:
        raise VStyleError(f"{flag('backend')} openvino needs OpenVINO: pip install 'vstyle[openvino]' "
                          "(or pip install openvino nncf)") from None
    return openvino


class OpenVinoBackend:
    """Runs the graph of :func:`vstyle.export.onnx_export.cached_onnx` (fp32, bf16) or of
    :func:`vstyle.export.openvino_int8.cached_int8_model` (int8) on the CPU.

    Each padded frame shape gets its own compiled model (static shapes run about 15 % faster here
    than one dynamic compilation); OpenVINO keeps the compiled blobs in ``$VSTYLE_HOME/cache/openvino``
    so later processes load instead of compiling. ``threads``: CPU inference threads (default: the
    plugin's choice, one per core).
    """

    name = "openvino"

    def __init__(self, model: SCTNet, device: torch.device, precision: str = "fp32",
                 threads: int | None = None) -> None:
        resolve_precision(precision, device, self.name)
        ov = import_openvino()
        self.device = device
        self.precision = precision
        self._core = ov.Core()
        blobs = cache_dir() / "openvino"
        try:
            blobs.mkdir(parents=True, exist_ok=True)
            self._core.set_property({"CACHE_DIR": str(blobs)})
        except OSError:
            pass  # an unwritable cache only costs compiling again next time
        if precision == "int8":
            from ...export.openvino_int8 import cached_int8_model

            if has_int8_units() is False:
                print("vstyle: this CPU has no int8 units (VNNI/AMX): int8 runs at about fp32's speed here, "
                      f"and fp32 ({flag('backend')} openvino) is exact", file=sys.stderr, flush=True)
            source: Path = cached_int8_model(model)
        else:
            source = cached_onnx_path(model, "fp32")
        self.source = source
        self._model = self._core.read_model(str(source))
        self._margin, self._multiple = model.margin, model.multiple
        self._config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": _HINTS[precision], "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            self._config["INFERENCE_NUM_THREADS"] = int(threads)
        self._requests: OrderedDict[tuple[str, tuple[int, ...]], Any] = OrderedDict()

    def _request(self, kind: str, shape: tuple[int, ...]) -> Any:
        """An infer request compiled for one input shape, least recently used evicted: ``kind``
        "padded" takes padded N×3×H×W floats (``run``), "frames" N×H×W×3 uint8 (``run_frames``)."""
        key = (kind, shape)
        req = self._requests.get(key)
        if req is not None:
            self._requests.move_to_end(key)
            return req
        static = self._model.clone()
        if kind == "padded":
            static.reshape({"frames": list(shape)})
        else:
            static = self._frames_model(static, shape)
        req = self._core.compile_model(static, "CPU", self._config).create_infer_request()
        self._requests[key] = req
        if len(self._requests) > _MAX_SHAPES:
            self._requests.popitem(last=False)
        return req

    def _frames_model(self, model: Any, shape: tuple[int, ...]) -> Any:
        """``model`` wrapped for N×H×W×3 uint8 frames of one ``shape``: scale, pad, run, crop, round, all
        in the graph, where the CPU plugin fuses them into the first and last convolutions."""
        import openvino as ov
        import openvino.opset13 as ops

        n, h, w, _ = shape
        (left, right, top, bottom), mode = pad_plan(h, w, self._multiple, self._margin)
        model.reshape({"frames": [n, 3, h + top + bottom, w + left + right]})
        i64 = np.int64
        x = ops.parameter(list(shape), ov.Type.u8, name=FRAMES_U8)
        f = ops.multiply(ops.convert(x, ov.Type.f32), np.float32(1 / 255))
        f = ops.transpose(f, np.array([0, 3, 1, 2], i64))
        if left or right or top or bottom:
            f = ops.pad(f, np.array([0, 0, top, left], i64), np.array([0, 0, bottom, right], i64),
                        "reflect" if mode == "reflect" else "edge")
        old = next(p for p in model.get_parameters() if p.get_friendly_name() == "frames")
        for target in list(old.output(0).get_target_inputs()):
            target.replace_source_output(f.output(0))
        y = model.get_results()[0].input_value(0)
        y = ops.slice(y, np.array([0, 0, top, left], i64), np.array([n, 3, top + h, left + w], i64),
                      np.ones(4, i64))
        # The torch path's rounding: clamp to [0, 1], then ⌊255·y + ½⌋.
        y = ops.floor(ops.add(ops.multiply(ops.clamp(y, 0.0, 1.0), np.float32(255)), np.float32(0.5)))
        y = ops.transpose(ops.convert(y, ov.Type.u8), np.array([0, 2, 3, 1], i64))
        params = [x] + [p for p in model.get_parameters() if p is not old and p.get_friendly_name() != "frames"]
        return ov.Model([ops.result(y)], params, "vstyle-frames")

    def run(self, x: Tensor, sigma: Tensor, mean: Tensor, alpha: float) -> Tensor:
        frames = x.detach().float().contiguous().numpy()
        feeds = {"frames": frames,
                 "sigma": sigma.detach().float().cpu().contiguous().numpy(),
                 "mean": mean.detach().float().cpu().contiguous().numpy(),
                 "alpha": np.array([alpha], dtype=np.float32)}
        result = self._request("padded", tuple(frames.shape)).infer(feeds, share_inputs=True)
        return torch.from_numpy(result[OUTPUT_NAME])

    def run_frames(self, frames: np.ndarray, sigma: Tensor, mean: Tensor, alpha: float) -> np.ndarray:
        feeds = {FRAMES_U8: np.ascontiguousarray(frames),
                 "sigma": sigma.detach().float().cpu().contiguous().numpy(),
                 "mean": mean.detach().float().cpu().contiguous().numpy(),
                 "alpha": np.array([alpha], dtype=np.float32)}
        # Outputs are copied out of the request (``share_outputs`` stays off): the next call reuses its buffer.
        return self._request("frames", tuple(frames.shape)).infer(feeds, share_inputs=True)[0]
