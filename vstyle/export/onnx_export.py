"""ONNX export of the per-frame graph (dynamic batch, height and width), its metadata, and a cache.

Exporter choice (torch 2.14): ``torch.onnx.export(..., dynamo=True)`` gives a clean graph: 23 Conv,
18 reflect Pad, 3 Resize with constant scales, and instance normalisation as a handful of
Reduce/Sub/Mul/Div nodes with the unbiased-variance factor n/(n−1) computed from the runtime shape.
The legacy TorchScript exporter wraps every reflection pad in ~10 shape-computation nodes
(ConstantOfShape/Slice/Transpose/Concat) that its constant folding cannot remove. The dynamo
exporter needs ``onnxscript``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

import torch

from ..engine.device import torch_dtype
from ..engine.options import GRAPH_PRECISIONS
from ..errors import VStyleError, exception_line
from ..interrupts import at_exit
from ..io.atomic import write_bytes_atomic
from ..models import SCTNet
from .graph import INPUT_NAMES, MAX_BATCH, MAX_SIDE, OUTPUT_NAME, FrameGraph, example_inputs, input_specs

#: ONNX opset of exported files.
OPSET = 18
#: Bump when the exported graph changes, so cached files are rebuilt.
GRAPH_VERSION = 1


def weights_sha256(model: SCTNet) -> str:
    """Content digest of a model: architecture, config and every tensor (name, shape, fp32 bytes).

    Unlike a file hash it survives re-saving and identifies in-memory models, so caches and engine
    sidecars can be matched to the model actually loaded.
    """
    h = hashlib.sha256()
    h.update(json.dumps({"arch": model.arch, "mode": model.mode, "config": model.config}, sort_keys=True).encode())
    for name, t in sorted(model.state_dict().items()):
        t = t.detach().to("cpu")
        t = t.float() if t.is_floating_point() else t
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()


def source_sha256(model: SCTNet) -> str | None:
    """SHA-256 of the weight file the model was loaded from (``None`` for in-memory models)."""
    from ..weights import file_sha256

    path = getattr(model, "source_path", None)
    return file_sha256(Path(path)) if path and Path(path).is_file() else None


def model_metadata(model: SCTNet, precision: str) -> dict[str, str]:
    """String metadata stored in the ONNX file (``metadata_props``) and copied into engine sidecars."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        vstyle_version = version("vstyle")
    except PackageNotFoundError:
        vstyle_version = "unknown"
    return {
        "arch": model.arch,
        "mode": model.mode,
        "config": json.dumps(model.config, sort_keys=True),
        "multiple": str(model.multiple),
        "precision": precision,
        "source_sha256": source_sha256(model) or "",
        "weights_sha256": weights_sha256(model),
        "inputs": json.dumps(input_specs(model)),
        "graph_version": str(GRAPH_VERSION),
        "producer": f"vstyle {vstyle_version}, torch {torch.__version__}",
    }


#: What torch's ONNX exporter needs beside torch.
EXPORTER_MODULES = ("onnx", "onnxscript")


def exporter_and(runtime: str) -> bool:
    """Whether ``runtime`` and the ONNX exporter that feeds it are importable (checked without importing)."""
    return all(importlib.util.find_spec(name) is not None for name in (runtime, *EXPORTER_MODULES))


def _require_exporter() -> None:
    missing = [name for name in EXPORTER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise VStyleError(f"ONNX export needs the onnx and onnxscript packages ({', '.join(missing)} missing): "
                          "pip install onnx onnxscript")


def export_onnx(model: SCTNet, precision: str = "fp32") -> bytes:
    """The serialised ONNX model of ``model``'s per-frame graph, with metadata; checked by onnx.checker.

    ``precision`` ``fp16`` stores fp16 weights and computes in fp16 (instance norm stays fp32);
    inputs and output are float32 either way.
    """
    if precision not in GRAPH_PRECISIONS:
        raise VStyleError(f"ONNX export precision must be one of {', '.join(GRAPH_PRECISIONS)}, got {precision!r}")
    _require_exporter()
    import onnx
    from torch.export import Dim

    graph = FrameGraph(model, torch_dtype(precision))
    m = model.multiple
    # H and W are declared as multiple·k so the exporter knows every pooling level divides evenly;
    # min 2 cells keeps the deepest map ≥ 2 px (reflection padding needs that).
    batch = Dim("batch", min=1, max=MAX_BATCH)
    hc = Dim("hcells", min=2, max=MAX_SIDE // m)
    wc = Dim("wcells", min=2, max=MAX_SIDE // m)
    dynamic = {"frames": {0: batch, 2: m * hc, 3: m * wc}, "sigma": None, "mean": None, "alpha": None}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(graph, example_inputs(model), None, dynamo=True, opset_version=OPSET,
                                    input_names=list(INPUT_NAMES), output_names=[OUTPUT_NAME],
                                    dynamic_shapes=dynamic, verbose=False)
    if program is None:
        raise RuntimeError("torch.onnx.export returned no program")
    proto = program.model_proto
    _rename_dims(proto, {"batch": "batch", f"{m}*hcells": "height", f"{m}*wcells": "width"})
    onnx.helper.set_model_props(proto, model_metadata(model, precision))
    proto.doc_string = "vstyle per-frame graph: frames N×3×H×W [0,1] + style code (sigma, mean, alpha) → frames"
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def _rename_dims(proto: Any, names: dict[str, str]) -> None:
    """Give the symbolic dimensions readable names (``batch``, ``height``, ``width``) everywhere."""
    values = list(proto.graph.input) + list(proto.graph.output) + list(proto.graph.value_info)
    for v in values:
        for d in v.type.tensor_type.shape.dim:
            if d.dim_param in names:
                d.dim_param = names[d.dim_param]


def read_metadata(onnx_bytes: bytes) -> dict[str, str]:
    """The ``metadata_props`` of a serialised ONNX model."""
    import onnx

    proto = onnx.load_model_from_string(onnx_bytes)
    return {p.key: p.value for p in proto.metadata_props}


def write_onnx(model: SCTNet, output: Path, precision: str = "fp32", overwrite: bool = False) -> dict[str, str]:
    """Export to ``output`` atomically (refuses to replace a file without ``overwrite``); returns the metadata."""
    from ..io.atomic import atomic_output, check_writable

    source = getattr(model, "source_path", None)
    check_writable(output, overwrite, inputs=(Path(source),) if source else ())  # before the (slow) export
    data = export_onnx(model, precision)
    with atomic_output(output, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return read_metadata(data)


def cache_dir() -> Path:
    """``$VSTYLE_HOME/cache``: exported graphs and engines derived from models."""
    from ..weights import user_dir

    return user_dir() / "cache"


def store_in_cache(path: Path, write: Callable[[Path], None], prefix: str) -> Path:
    """``write(path)`` a file derived from a model into the cache and return where it went: where the cache
    cannot be written, a fresh temporary folder, and a note that it will be made again next time (the
    caller announced it as cached), removed when the process ends, interrupted or not."""
    try:
        write(path)
        return path
    except OSError as exc:
        print(f"vstyle: note: cannot write the cache ({exc.strerror or exception_line(exc)}: {path.parent}); "
              "it is made again next time", file=sys.stderr, flush=True)
        try:
            folder = Path(tempfile.mkdtemp(prefix=prefix))
            # Nothing will find it again (the next run makes its own), so it must not outlive this one.
            at_exit(functools.partial(shutil.rmtree, folder, ignore_errors=True))
            path = folder / path.name
            write(path)
        except OSError as again:
            raise VStyleError(f"cannot write {path.name} to the cache or a temporary folder: "
                              f"{again.strerror or exception_line(again)}") from None
        return path


def cached_onnx(model: SCTNet, precision: str = "fp32") -> bytes:
    """The exported graph of ``model``, from ``$VSTYLE_HOME/cache/onnx`` when present (keyed by the
    weights digest, precision, opset and graph version); exported and stored on first use.
    An unwritable cache folder only costs a re-export next time."""
    return cached_onnx_path(model, precision).read_bytes()


def cached_onnx_path(model: SCTNet, precision: str = "fp32") -> Path:
    """The file behind :func:`cached_onnx`, for runtimes that read models from disk. Where the cache
    folder is unwritable the export goes to a fresh temporary folder instead."""
    digest = weights_sha256(model)
    path = cache_dir() / "onnx" / f"{model.arch}-{digest[:20]}-{precision}-opset{OPSET}-g{GRAPH_VERSION}.onnx"
    if path.is_file():
        return path
    print(f"vstyle: exporting the {precision} ONNX graph once (cached as {path})", file=sys.stderr, flush=True)
    data = export_onnx(model, precision)
    return store_in_cache(path, lambda p: write_bytes_atomic(p, data, shared=True), "vstyle-onnx-")
