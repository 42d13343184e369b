"""TensorRT engine building from the exported ONNX graph (TensorRT ≥ 10 Python API, imported lazily).

TensorRT 10 Python calls used here (docs.nvidia.com/deeplearning/tensorrt, Python API reference:
Core/Builder, Core/BuilderConfig, Core/OptimizationProfile, Parsers/Onnx, Core/TimingCache):
``trt.Logger``, ``trt.Builder``, ``Builder.create_network(flags)`` with
``NetworkDefinitionCreationFlag.STRONGLY_TYPED`` (EXPLICIT_BATCH is documented as deprecated and
ignored in 10.0: networks are always explicit batch), ``trt.OnnxParser(network, logger).parse``,
``Builder.create_builder_config``, ``IBuilderConfig.set_memory_pool_limit(MemoryPoolType.WORKSPACE, bytes)``,
``Builder.create_optimization_profile`` + ``IOptimizationProfile.set_shape(name, min, opt, max)``,
``IBuilderConfig.add_optimization_profile``, ``IBuilderConfig.create_timing_cache(bytes)`` /
``set_timing_cache(cache, ignore_mismatch)`` / ``get_timing_cache().serialize()``, and
``Builder.build_serialized_network(network, config)``.

Precision: fp16 engines are built from an fp16 ONNX graph as a *strongly typed* network, so
TensorRT keeps exactly the graph's types: convolutions in fp16, instance normalisation in fp32
(the model casts around it; relu4_1 variances overflow fp16). The older route, ``BuilderFlag.FP16``
plus per-layer precision constraints, is deprecated in TensorRT 10.12 and removed in 11 (see the
"TensorRT 10.x to 11.x Python API" migration page), and its layer constraints were reported to be
ignored in 10.0 (NVIDIA/TensorRT#3941); strong typing behaves the same on 10.x and 11.x.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from ..errors import VStyleError
from ..flags import flag
from ..io.atomic import write_bytes_atomic
from ..models import SCTNet
from .graph import INPUT_NAMES, OUTPUT_NAME, style_dims
from .shapes import Profile
from .sidecar import make_sidecar, read_sidecar, sidecar_json, sidecar_path

MIN_TRT_MAJOR = 10


def missing_for_tensorrt() -> list[str]:
    """What keeps TensorRT from running here (empty when it can): CUDA, the package, its version."""
    missing = []
    if not torch.cuda.is_available():
        missing.append(f"no CUDA GPU is visible to torch (torch {torch.__version__}, "
                       f"CUDA build {torch.version.cuda or 'none'})")
    try:
        import tensorrt as trt
    except ImportError:
        missing.append("the tensorrt Python package is not installed (pip install tensorrt)")
    else:
        major = int(str(trt.__version__).split(".")[0])
        if major < MIN_TRT_MAJOR:
            missing.append(f"TensorRT {trt.__version__} is too old (vstyle needs {MIN_TRT_MAJOR} or newer)")
    return missing


def import_tensorrt() -> ModuleType:
    """The ``tensorrt`` module, or one VStyleError line naming everything that is missing."""
    missing = missing_for_tensorrt()
    if missing:
        raise VStyleError("TensorRT is unavailable: " + "; ".join(missing))
    import tensorrt as trt

    return trt


def runtime_info(trt: ModuleType, device: torch.device) -> dict[str, str]:
    """TensorRT version, GPU name and compute capability of ``device`` (what an engine is tied to)."""
    index = device.index if device.index is not None else torch.cuda.current_device()
    major, minor = torch.cuda.get_device_capability(index)
    return {"tensorrt_version": str(trt.__version__), "gpu_name": torch.cuda.get_device_name(index),
            "compute_capability": f"{major}.{minor}"}


def make_logger(trt: ModuleType) -> Any:
    """Warnings and errors from TensorRT go to stderr (its default logger)."""
    return trt.Logger(trt.Logger.WARNING)


def build_serialized(trt: ModuleType, onnx_bytes: bytes, profile: Profile, style: tuple[int, int], *,
                     workspace_mb: int | None = None, timing_cache: Path | None = None) -> bytes:
    """Parse the ONNX graph and build a serialized engine for the frames ``profile``.

    ``style`` is (K, C); Σ, μ and α have fixed shapes in the graph, so only ``frames`` gets a
    profile entry. The timing cache file, when given, is read first and rewritten after the build.
    """
    logger = make_logger(trt)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_bytes):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise VStyleError("TensorRT could not parse the ONNX graph: " + (errors[0].splitlines()[0] if errors else "?"))
    _check_network_io(network, style)

    config = builder.create_builder_config()
    if workspace_mb:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
    opt_profile = builder.create_optimization_profile()
    opt_profile.set_shape(INPUT_NAMES[0], profile.min.nchw(), profile.opt.nchw(), profile.max.nchw())
    config.add_optimization_profile(opt_profile)

    cache = None
    if timing_cache is not None:
        previous = timing_cache.read_bytes() if timing_cache.is_file() else b""
        cache = config.create_timing_cache(previous)
        # ignore_mismatch=False: a cache from another GPU/TensorRT is dropped rather than trusted.
        config.set_timing_cache(cache, ignore_mismatch=False)

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise VStyleError("TensorRT failed to build the engine (see its messages above); "
                          f"a larger {flag('workspace_mb')} or a smaller {flag('max_shape')} may help")
    if timing_cache is not None:
        write_bytes_atomic(timing_cache, bytes(config.get_timing_cache().serialize()), shared=True)
    return bytes(serialized)


def _check_network_io(network: Any, style: tuple[int, int]) -> None:
    """The parsed network must be vstyle's per-frame graph: frames (dynamic) + fixed-shape style inputs."""
    k, c = style
    expected = {"frames": None, "sigma": (k, k), "mean": (c,), "alpha": (1,)}
    names = [network.get_input(i).name for i in range(network.num_inputs)]
    if sorted(names) != sorted(expected) or network.num_outputs != 1 or network.get_output(0).name != OUTPUT_NAME:
        raise VStyleError(f"the ONNX graph has inputs {names}; expected {list(INPUT_NAMES)} → {OUTPUT_NAME}")
    for i in range(network.num_inputs):
        t = network.get_input(i)
        want = expected[t.name]
        if want is not None and tuple(t.shape) != want:
            raise VStyleError(f"ONNX input {t.name} has shape {tuple(t.shape)}, expected {want}")


def default_timing_cache(runtime: dict[str, str]) -> Path:
    """One timing cache per GPU model and TensorRT version under ``$VSTYLE_HOME/cache/trt``."""
    from .onnx_export import cache_dir

    gpu = "".join(ch if ch.isalnum() else "_" for ch in runtime["gpu_name"])
    name = f"timing-{gpu}-sm{runtime['compute_capability']}-trt{runtime['tensorrt_version']}.cache"
    return cache_dir() / "trt" / name


def build_engine_file(model: SCTNet, output: Path, profile: Profile, precision: str = "fp16", *,
                      device: torch.device | None = None, workspace_mb: int | None = None,
                      timing_cache: Path | None = None, overwrite: bool = False,
                      onnx_bytes: bytes | None = None) -> dict[str, Any]:
    """Export (or take) the ONNX graph in ``precision``, build the engine, and write ``output`` and its
    JSON sidecar atomically. Returns the sidecar."""
    from ..io.atomic import atomic_output, check_writable
    from .onnx_export import OPSET, export_onnx, read_metadata

    trt = import_tensorrt()
    device = device or torch.device("cuda")
    check_writable(output, overwrite)
    check_writable(sidecar_path(output), overwrite)
    runtime = runtime_info(trt, device)
    onnx_bytes = onnx_bytes if onnx_bytes is not None else export_onnx(model, precision)
    meta = read_metadata(onnx_bytes)
    if meta.get("precision") != precision:
        raise VStyleError(f"the ONNX graph is {meta.get('precision')}, but a {precision} engine was asked for")
    cache = timing_cache if timing_cache is not None else default_timing_cache(runtime)
    with torch.cuda.device(device):
        engine = build_serialized(trt, onnx_bytes, profile, style_dims(model), workspace_mb=workspace_mb,
                                  timing_cache=cache)
    side = make_sidecar(runtime=runtime, profile=profile, precision=precision, model_meta=meta,
                        workspace_mb=workspace_mb, opset=OPSET)
    with atomic_output(output, overwrite=overwrite) as tmp_engine, \
            atomic_output(sidecar_path(output), overwrite=overwrite) as tmp_side:
        tmp_engine.write_bytes(engine)
        tmp_side.write_text(sidecar_json(side))
    return side


def cached_engine(model: SCTNet, precision: str, profile: Profile, device: torch.device,
                  weights_sha256: str | None = None) -> Path:
    """An engine for ``model`` under ``$VSTYLE_HOME/cache/trt``, built on first use (this takes minutes)
    and reused while the GPU, TensorRT version, weights, precision and profile stay the same."""
    from .onnx_export import cache_dir, weights_sha256 as digest_of

    trt = import_tensorrt()
    runtime = runtime_info(trt, device)
    digest = weights_sha256 or digest_of(model)
    key = hashlib.sha256(repr((digest, precision, profile.to_json(), sorted(runtime.items()))).encode()).hexdigest()
    path = cache_dir() / "trt" / f"{model.arch}-{precision}-{key[:20]}.engine"
    if path.is_file() and sidecar_path(path).is_file():
        read_sidecar(path)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"vstyle: building a {precision} TensorRT engine for {runtime['gpu_name']} (once, takes minutes; "
          f"cached as {path})", file=sys.stderr, flush=True)
    build_engine_file(model, path, profile, precision, device=device, overwrite=True)
    return path
