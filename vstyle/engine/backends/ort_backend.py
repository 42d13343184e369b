"""ONNX Runtime backend: the exported per-frame graph on the CPU execution provider (CUDA EP when present)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ...errors import VStyleError
from ...flags import flag
from ...export.graph import INPUT_NAMES, OUTPUT_NAME
from ...models import SCTNet
from ..device import resolve_precision


def _import_ort() -> Any:
    try:
        import onnxruntime as ort
    except ImportError:
        raise VStyleError(f"{flag('backend')} ort needs onnxruntime "
                          "(pip install onnxruntime, or onnxruntime-gpu for CUDA)") from None
    return ort


class OrtBackend:
    """Runs the graph exported by :func:`vstyle.export.onnx_export.cached_onnx` (cached per model).

    CPU: fp32, ``threads`` intra-op threads (default: ONNX Runtime's choice, one per core).
    CUDA: fp32 or fp16 (an fp16 graph), inputs and output bound to torch's CUDA memory.
    """

    name = "ort"

    def __init__(self, model: SCTNet, device: torch.device, precision: str = "fp32",
                 threads: int | None = None) -> None:
        ort = _import_ort()
        from ...export.onnx_export import cached_onnx

        resolve_precision(precision, device, self.name)
        if device.type == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise VStyleError(f"{flag('backend')} ort on CUDA needs onnxruntime-gpu (this onnxruntime only has "
                                  f"{', '.join(ort.get_available_providers())})")
            providers: list[Any] = [("CUDAExecutionProvider", {"device_id": device.index or 0}), "CPUExecutionProvider"]
        else:
            providers = ["CPUExecutionProvider"]
        self.device = device
        self.precision = precision
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = int(threads)
        opts.log_severity_level = 3  # errors only: shape-inference notes would clutter the terminal
        if os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":
            # The same request torch's OpenMP honours: idle workers sleep instead of spinning, which
            # on a shared CPU leaves the cores to the threads doing work.
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(cached_onnx(model, precision), opts, providers=providers)
        self.providers = self.session.get_providers()

    def run(self, x: Tensor, sigma: Tensor, mean: Tensor, alpha: float) -> Tensor:
        if self.device.type == "cuda":
            return self._run_cuda(x, sigma, mean, alpha)
        feeds = {"frames": x.detach().float().contiguous().numpy(),
                 "sigma": sigma.detach().float().cpu().contiguous().numpy(),
                 "mean": mean.detach().float().cpu().contiguous().numpy(),
                 "alpha": np.array([alpha], dtype=np.float32)}
        (out,) = self.session.run([OUTPUT_NAME], feeds)
        return torch.from_numpy(out)

    def _run_cuda(self, x: Tensor, sigma: Tensor, mean: Tensor, alpha: float) -> Tensor:
        """Zero-copy through IOBinding: ONNX Runtime reads and writes torch's device buffers."""
        dev = self.device.index if self.device.index is not None else torch.cuda.current_device()
        tensors = {"frames": x.float().contiguous(), "sigma": sigma.float().contiguous(),
                   "mean": mean.float().contiguous(),
                   "alpha": torch.full((1,), float(alpha), device=x.device, dtype=torch.float32)}
        out = torch.empty(x.shape, device=x.device, dtype=torch.float32)
        binding = self.session.io_binding()
        for name in INPUT_NAMES:
            t = tensors[name]
            binding.bind_input(name, "cuda", dev, np.float32, tuple(t.shape), t.data_ptr())
        binding.bind_output(OUTPUT_NAME, "cuda", dev, np.float32, tuple(out.shape), out.data_ptr())
        # ONNX Runtime runs on its own CUDA stream: the inputs must be ready before it starts,
        # and run_with_iobinding returns once its work is done.
        torch.cuda.current_stream(x.device).synchronize()
        self.session.run_with_iobinding(binding)
        return out
