"""Run a small ONNX graph with torch operations, on any device.

onnxruntime's wheel runs on the CPU only, so on a CUDA machine the Magenta teacher through it bounds a
training step by the CPU (about 1 s a step at batch 32, whatever the GPU). This interpreter covers the
operators of Magenta's two int8 QDQ graphs (``arbitrary_predict.onnx``, ``arbitrary_transform.onnx``):
activations are quantised and dequantised as ONNX defines it (round half to even, saturate), so the
outputs follow onnxruntime's to within its fused-kernel rounding (measured in ``tests/test_teacher.py``).
Nodes whose inputs are all constants (the weights' DequantizeLinear) are folded once, at construction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

if TYPE_CHECKING:
    import onnx

_QRANGE = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255)}


def _quantize(x: Tensor, scale: Tensor, zero_point: Tensor | int, qmin: int, qmax: int) -> Tensor:
    """QuantizeLinear, kept in float (integer values): torch.round rounds half to even, as ONNX asks."""
    return torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax)


def _reflect_pad(x: Tensor, pads: Sequence[int]) -> Tensor:
    """ONNX Pad in reflect mode on any axes (pads = all begins, then all ends)."""
    rank = x.ndim
    for dim in range(rank):
        begin, end = int(pads[dim]), int(pads[dim + rank])
        if begin or end:
            n = x.shape[dim]
            idx = torch.cat([torch.arange(begin, 0, -1), torch.arange(n), torch.arange(n - 2, n - 2 - end, -1)])
            x = x.index_select(dim, idx.to(x.device))
    return x


def _reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    """ONNX Reshape (allowzero 0): a 0 copies the input's size on that axis, −1 is inferred."""
    return x.reshape([x.shape[i] if s == 0 else int(s) for i, s in enumerate(shape)])


class OnnxGraphModule(nn.Module):
    """An ONNX graph as a frozen torch module: ``module(*inputs)`` gives the graph's first output.

    Inputs are float tensors laid out as the graph's inputs are (NHWC for Magenta's). Raises
    ValueError on an operator or attribute it does not implement, when it is built.
    """

    def __init__(self, model: "onnx.ModelProto") -> None:
        from onnx import helper, numpy_helper

        super().__init__()
        graph = model.graph
        arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self._qrange: dict[str, tuple[int, int]] = {}
        consts: dict[str, Tensor] = {}
        for name, arr in arrays.items():
            if arr.dtype in _QRANGE:
                self._qrange[name] = _QRANGE[arr.dtype]
            consts[name] = torch.from_numpy(arr.astype(np.int64 if arr.dtype == np.int64 else np.float32))
        self.inputs = [i.name for i in graph.input if i.name not in arrays]
        self.output = graph.output[0].name
        self._steps: list[tuple[Callable[..., Tensor], list[str], str]] = []
        for node in graph.node:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            fn = self._op(node.op_type, attrs, list(node.input))
            names = [n for n in node.input if n]
            if all(n in consts for n in names):  # weights and biases: fold once
                consts[node.output[0]] = fn(*(consts[n] for n in names))
            else:
                self._steps.append((fn, names, node.output[0]))
        used = {n for _, names, _ in self._steps for n in names}
        self._const_names = sorted(used & consts.keys())
        for i, name in enumerate(self._const_names):
            self.register_buffer(f"c{i}", consts[name], persistent=False)
        self.requires_grad_(False).eval()

    def _op(self, op: str, attrs: dict[str, Any], inputs: list[str]) -> Callable[..., Tensor]:
        """The torch function of one node (its constant inputs resolved at call time)."""
        if op == "QuantizeLinear":
            qmin, qmax = self._qrange.get(inputs[2], (0, 255)) if len(inputs) > 2 else (0, 255)
            return lambda x, s, z=None: _quantize(x, s, 0 if z is None else z, qmin, qmax)
        if op == "DequantizeLinear":
            axis = int(attrs.get("axis", 1))

            def dequantize(q: Tensor, s: Tensor, z: Tensor | None = None) -> Tensor:
                z = z if z is not None else torch.zeros((), device=q.device)
                if s.ndim == 1 and q.ndim > 0:  # per-axis
                    shape = [1] * q.ndim
                    shape[axis] = -1
                    s, z = s.reshape(shape), z.reshape(shape)
                return (q.float() - z) * s
            return dequantize
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
            return conv
        if op == "Pad":
            if attrs.get("mode", b"constant") != b"reflect":
                raise ValueError(f"Pad mode {attrs.get('mode')!r} is not implemented")
            return lambda x, pads, value=None: _reflect_pad(x, pads.tolist())
        if op == "Resize":
            mode = (attrs.get("mode"), attrs.get("coordinate_transformation_mode"), attrs.get("nearest_mode"))
            if mode != (b"nearest", b"asymmetric", b"floor"):
                raise ValueError(f"Resize {mode} is not implemented")
            # torch's 'nearest' is floor(out · in / out_size): ONNX's asymmetric + floor for integer scales.
            return lambda x, roi, scales: F.interpolate(x, scale_factor=tuple(scales.tolist()[2:]), mode="nearest")
        simple: dict[str, Callable[..., Tensor]] = {
            "Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Sqrt": torch.sqrt,
            "Reciprocal": torch.reciprocal, "Relu": torch.relu, "Sigmoid": torch.sigmoid,
            "Clip": lambda x, lo=None, hi=None: torch.clamp(x, lo, hi),
            "GlobalAveragePool": lambda x: x.mean(dim=tuple(range(2, x.ndim)), keepdim=True),
            "Reshape": lambda x, shape: _reshape(x, shape.tolist()),
            "Transpose": lambda x: x.permute(*attrs["perm"]),
        }
        if op not in simple:
            raise ValueError(f"ONNX operator {op} is not implemented")
        return simple[op]

    def forward(self, *inputs: Tensor) -> Tensor:
        """Run the graph in fp32 (autocast off: the quantisation steps need full precision)."""
        values: dict[str, Tensor] = {name: getattr(self, f"c{i}") for i, name in enumerate(self._const_names)}
        values.update(zip(self.inputs, (x.float() for x in inputs)))
        with torch.autocast(inputs[0].device.type, enabled=False):
            for fn, names, out in self._steps:
                values[out] = fn(*(values[n] for n in names))
        return values[self.output]
