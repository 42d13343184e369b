"""Run a small ONNX graph with torch operations, on any device.

onnxruntime's wheel runs on the CPU only, so on a CUDA machine the Magenta teacher through it bounds a
training step by the CPU (about 1 s a step at batch 32, whatever the GPU). This interpreter covers the
operators of Magenta's two int8 QDQ graphs (``arbitrary_predict.onnx``, ``arbitrary_transform.onnx``):
activations are quantised and dequantised as ONNX defines it (round half to even, saturate), so the
outputs follow onnxruntime's to within its rounding of near-ties (measured in ``tests/test_teacher.py``).
The weights' and biases' DequantizeLinear nodes are folded once, at construction, with the same float64
arithmetic as the loss net's weights (:func:`~.magenta_onnx.folded_dequantize`); shape, pad and scale
inputs become Python numbers then, so a run never waits on the GPU to read them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .magenta_onnx import folded_dequantize

if TYPE_CHECKING:
    import onnx

_QRANGE = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255)}
#: Attributes each operator may carry (anything else is refused when the module is built).
_ATTRS: dict[str, set[str]] = {
    "QuantizeLinear": set(), "DequantizeLinear": {"axis"},
    "Conv": {"strides", "dilations", "kernel_shape", "pads", "group"}, "Pad": {"mode"},
    "Resize": {"mode", "coordinate_transformation_mode", "nearest_mode", "exclude_outside"},
    "Transpose": {"perm"}, "Add": set(), "Sub": set(), "Mul": set(), "Sqrt": set(), "Reciprocal": set(),
    "Relu": set(), "Sigmoid": set(), "Clip": set(), "GlobalAveragePool": set(), "Reshape": set(),
}
Array = np.ndarray


def _reflect_indices(size: int, begin: int, end: int) -> Tensor:
    """Source indices of a reflect pad of one axis (as ``np.pad(mode="reflect")``)."""
    return torch.cat([torch.arange(begin, 0, -1), torch.arange(size), torch.arange(size - 2, size - 2 - end, -1)])


def _reflect_pad(x: Tensor, pads: Sequence[int]) -> Tensor:
    """ONNX Pad in reflect mode on any axes (pads = all begins, then all ends)."""
    rank = x.ndim
    for dim in range(rank):
        begin, end = pads[dim], pads[dim + rank]
        if begin or end:
            x = x.index_select(dim, _reflect_indices(x.shape[dim], begin, end).to(x.device))
    return x


class OnnxGraphModule(nn.Module):
    """An ONNX graph as a frozen torch module: ``module(*inputs)`` gives the graph's first output.

    Inputs are float tensors laid out as the graph's inputs are (NHWC for Magenta's). Raises
    ValueError on an operator, attribute or non-constant input it does not implement, when it is built.
    """

    def __init__(self, model: "onnx.ModelProto") -> None:
        from onnx import helper, numpy_helper

        super().__init__()
        graph = model.graph
        arrays: dict[str, Array] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.inputs = [i.name for i in graph.input if i.name not in arrays]
        self.output = graph.output[0].name
        self._steps: list[tuple[Callable[..., Tensor], list[str | None], str]] = []
        for node in graph.node:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            unknown = set(attrs) - _ATTRS.get(node.op_type, set())
            if node.op_type not in _ATTRS or unknown:
                raise ValueError(f"ONNX {node.op_type} {sorted(unknown)} is not implemented")
            names: list[str | None] = [n or None for n in node.input]  # "": an omitted optional input
            folded = folded_dequantize(node, arrays)  # weights and biases: once, here
            if folded is not None:
                arrays[node.output[0]] = folded
                continue
            fn, tensor_inputs = self._op(node.op_type, attrs, names, arrays)
            self._steps.append((fn, tensor_inputs, node.output[0]))
        used = {n for _, names, _ in self._steps for n in names if n is not None}
        self._const_names = sorted(used & arrays.keys())
        for i, name in enumerate(self._const_names):
            self.register_buffer(f"c{i}", torch.from_numpy(np.array(arrays[name], dtype=np.float32)),
                                 persistent=False)
        self.eval()

    @staticmethod
    def _op(op: str, attrs: dict[str, Any], names: list[str | None],
            arrays: dict[str, Array]) -> tuple[Callable[..., Tensor], list[str | None]]:
        """(the torch function of one node, the names of the tensors it takes at run time)."""

        def const(i: int) -> Array:
            name = names[i] if i < len(names) else None
            if name is None or name not in arrays:
                raise ValueError(f"ONNX {op} needs a constant input {i}")
            return arrays[name]

        if op == "QuantizeLinear":
            if const(1).ndim:
                raise ValueError("per-axis QuantizeLinear is not implemented")
            qmin, qmax = _QRANGE[const(2).dtype] if len(names) > 2 and names[2] else (0, 255)
            # Kept in float (integer values); torch.round rounds half to even, as ONNX asks.
            return (lambda x, s, z=0.0: torch.clamp(torch.round(x / s) + z, qmin, qmax)), names
        if op == "DequantizeLinear":  # activations: per-tensor scale and zero point
            if const(1).ndim:
                raise ValueError("per-axis DequantizeLinear of a non-constant is not implemented")
            return (lambda q, s, z=0.0: (q - z) * s), names
        if op == "Conv":
            top, left, bottom, right = (int(p) for p in attrs.get("pads", [0, 0, 0, 0]))
            stride = tuple(int(s) for s in attrs.get("strides", [1, 1]))
            dilation = tuple(int(d) for d in attrs.get("dilations", [1, 1]))
            group = int(attrs.get("group", 1))

            def conv(x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
                if (top, left) != (bottom, right):
                    x, pad = F.pad(x, (left, right, top, bottom)), (0, 0)
                else:
                    pad = (top, left)
                return F.conv2d(x, w, b, stride, pad, dilation, group)
            return conv, names
        if op == "Pad":
            if attrs.get("mode", b"constant") != b"reflect":
                raise ValueError(f"ONNX Pad mode {attrs.get('mode')!r} is not implemented")
            pads = [int(p) for p in const(1)]
            return (lambda x: _reflect_pad(x, pads)), names[:1]
        if op == "Resize":
            mode = (attrs.get("mode"), attrs.get("coordinate_transformation_mode"), attrs.get("nearest_mode"))
            scales = [float(s) for s in const(2)]
            if mode != (b"nearest", b"asymmetric", b"floor") or len(names) > 3 or scales[:2] != [1.0, 1.0]:
                raise ValueError(f"ONNX Resize {mode} with scales {scales} is not implemented")
            # torch's 'nearest' is floor(out · in / out_size): ONNX's asymmetric + floor for integer scales.
            return (lambda x: F.interpolate(x, scale_factor=tuple(scales[2:]), mode="nearest")), names[:1]
        if op == "Reshape":
            shape = [int(s) for s in const(1)]
            # allowzero 0: a 0 copies the input's size on that axis, −1 is inferred.
            return (lambda x: x.reshape([x.shape[i] if s == 0 else s for i, s in enumerate(shape)])), names[:1]
        if op == "Clip":
            return (lambda x, lo=None, hi=None: torch.clamp(x, lo, hi)), names
        if op == "Transpose":
            perm = [int(p) for p in attrs["perm"]]
            return (lambda x: x.permute(*perm)), names
        simple: dict[str, Callable[..., Tensor]] = {
            "Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Sqrt": torch.sqrt,
            "Reciprocal": torch.reciprocal, "Relu": torch.relu, "Sigmoid": torch.sigmoid,
            "GlobalAveragePool": lambda x: x.mean(dim=tuple(range(2, x.ndim)), keepdim=True),
        }
        return simple[op], names

    def forward(self, *inputs: Tensor) -> Tensor:
        """Run the graph in full fp32: autocast and TF32 off, since each QuantizeLinear rounds to the step."""
        values: dict[str | None, Tensor | None] = {None: None}
        values.update({name: getattr(self, f"c{i}") for i, name in enumerate(self._const_names)})
        values.update(zip(self.inputs, (x.float() for x in inputs)))
        tf32 = torch.backends.cudnn.allow_tf32
        torch.backends.cudnn.allow_tf32 = False
        try:
            with torch.autocast(inputs[0].device.type, enabled=False):
                for fn, names, out in self._steps:
                    values[out] = fn(*(values[n] for n in names))
        finally:
            torch.backends.cudnn.allow_tf32 = tf32
        return cast(Tensor, values[self.output])
