"""TensorRT backend: a serialized engine run directly on torch's CUDA tensors (no host round trips).

TensorRT 10 Python runtime calls (docs.nvidia.com/deeplearning/tensorrt Python API, Core/Runtime,
Core/Engine, Core/ExecutionContext, and the 8.x→10.x migration guide's name-based tensor API):
``trt.Runtime(logger).deserialize_cuda_engine(bytes)``, ``ICudaEngine.num_io_tensors`` /
``get_tensor_name`` / ``get_tensor_mode`` / ``get_tensor_dtype``, ``ICudaEngine.create_execution_context()``,
``IExecutionContext.set_input_shape``, ``get_tensor_shape``, ``set_tensor_address(name, ptr)`` and
``execute_async_v3(stream_handle)`` on torch's current stream, so it orders with torch's own kernels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ...errors import VStyleError
from ...export.graph import INPUT_NAMES, OUTPUT_NAME
from ...export.shapes import FrameShape, check_in_profile, default_profile
from ...models import SCTNet
from ..device import resolve_precision



class TrtBackend:
    """Runs an engine built by ``vstyle export-trt`` (``engine_path``), or, without one, an engine
    built once for this model and GPU with the default shapes and cached under ``$VSTYLE_HOME``.

    Before loading, the engine's JSON sidecar is checked against this GPU and TensorRT version and
    the model's weights; each mismatch is one clear error line. The engine's own precision (fp16 or
    fp32, fixed at build time) is what runs, whatever ``precision`` asked for.
    """

    name = "trt"

    def __init__(self, model: SCTNet, device: torch.device, precision: str = "fp16",
                 engine_path: str | None = None) -> None:
        from ...export.onnx_export import weights_sha256
        from ...export.sidecar import check_model, check_runtime, engine_profile, read_sidecar
        from ...export.trt_build import cached_engine, import_tensorrt, make_logger, runtime_info

        trt = import_tensorrt()
        resolve_precision(precision, device, self.name)
        digest = weights_sha256(model)
        if engine_path is None:
            profile = default_profile(model.multiple, model.margin)
            path = cached_engine(model, precision, profile, device, weights_sha256=digest)
        else:
            path = Path(engine_path)
        meta = read_sidecar(path)
        check_runtime(meta, runtime_info(trt, device), path)
        check_model(meta, digest, path)
        #: The precision was fixed when the engine was built; it overrides --precision.
        self.precision = str(meta["precision"])
        self.device = device
        self.engine_path = path
        self.profile = engine_profile(meta)
        self._logger = make_logger(trt)
        self._runtime = trt.Runtime(self._logger)
        with torch.cuda.device(device):
            self.engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
            if self.engine is None:
                raise VStyleError(f"TensorRT could not load {path} (see its messages above); rebuild it with "
                                  "vstyle export-trt")
            self._check_io(trt)
            self.context = self.engine.create_execution_context()
        # Bytes TensorRT allocates itself for activations (outside torch's allocator); bench adds it.
        self.device_memory_bytes = int(getattr(self.engine, "device_memory_size_v2",
                                               getattr(self.engine, "device_memory_size", 0)) or 0)

    def _check_io(self, trt: Any) -> None:
        """The engine must expose vstyle's four float32 inputs and one float32 output."""
        names = {self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)}
        if names != set(INPUT_NAMES) | {OUTPUT_NAME}:
            raise VStyleError(f"{self.engine_path} has tensors {sorted(names)}; it is not a vstyle engine")
        for name in names:
            if self.engine.get_tensor_dtype(name) != trt.DataType.FLOAT:
                raise VStyleError(f"{self.engine_path}: tensor {name} is not float32; rebuild with vstyle export-trt")
        if self.engine.get_tensor_mode(OUTPUT_NAME) != trt.TensorIOMode.OUTPUT:
            raise VStyleError(f"{self.engine_path}: {OUTPUT_NAME} is not an output")

    def run(self, x: Tensor, sigma: Tensor, mean: Tensor, alpha: float) -> Tensor:
        n, _, h, w = x.shape
        check_in_profile(FrameShape(n, h, w), self.profile, str(self.engine_path))
        inputs = {"frames": x.float().contiguous(), "sigma": sigma.float().contiguous(),
                  "mean": mean.float().contiguous(),
                  "alpha": torch.full((1,), float(alpha), device=x.device, dtype=torch.float32)}
        ctx = self.context
        ctx.set_input_shape("frames", tuple(inputs["frames"].shape))
        out = torch.empty(tuple(ctx.get_tensor_shape(OUTPUT_NAME)), device=x.device, dtype=torch.float32)
        for name, t in inputs.items():
            ctx.set_tensor_address(name, t.data_ptr())
        ctx.set_tensor_address(OUTPUT_NAME, out.data_ptr())
        # Enqueued on torch's current stream: tensors freed after this call are only reused by work
        # queued later on the same stream, so no synchronisation is needed here.
        if not ctx.execute_async_v3(torch.cuda.current_stream(x.device).cuda_stream):
            raise RuntimeError(f"TensorRT failed to run {self.engine_path}")
        return out
