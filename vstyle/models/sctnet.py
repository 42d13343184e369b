"""SCTNet assembly: encoder → SCT → decoder, with the style side cached as a StyleCode."""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import Tensor, nn

from .decoder import VGGDecoder
from .mobilenet import MobileNetTrunk
from .sct import SCT
from .settings import InferenceSettings
from .stylecode import StyleCode
from .vgg import VGGEncoder


class SCTNet(nn.Module):
    """Feed-forward arbitrary style transfer network.

    ``encoder`` maps RGB [0, 1] (N×3×H×W) to the SCT level; it must expose ``features(x)``
    (list of loss taps) and ``channels``. ``multiple`` is the total stride: inputs are padded
    to it by the engine. ``min_style_side`` is the smallest style image the SCT can take.
    ``margin`` is how many pixels of reflected context the engine adds on every side before a frame
    goes in (and crops off after): for networks whose outermost rows and columns are unreliable.
    ``style_size`` is the longer side style images are scaled down to by default: the scale the
    network was trained to read styles at, which sets the size of the strokes it paints.
    """

    def __init__(
        self,
        encoder: nn.Module,
        sct: SCT,
        decoder: nn.Module,
        *,
        arch: str,
        mode: str,
        multiple: int,
        min_style_side: int,
        margin: int = 0,
        style_size: int = 512,
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.sct = sct
        self.decoder = decoder
        self.arch = arch
        self.mode = mode
        self.multiple = multiple
        self.min_style_side = min_style_side
        self.margin = margin
        self.style_size = style_size
        self.config = dict(config or {})
        #: The file the weights came from (set by the loader; None for a model built in memory).
        self.source_path: str | None = None
        for p in self.encoder.parameters():
            p.requires_grad_(False)

    @property
    def inference_settings(self) -> InferenceSettings:
        """Style size, margin, stride multiple and mode: what a model file stores beside the weights."""
        return InferenceSettings(style_size=self.style_size, margin=self.margin, multiple=self.multiple,
                                 mode=self.mode)

    def apply_settings(self, settings: InferenceSettings) -> None:
        """Run with ``settings`` (a model file's) instead of the builder's defaults."""
        self.style_size, self.margin, self.multiple = settings.style_size, settings.margin, settings.multiple

    @torch.no_grad()
    def encode_style(self, style: Tensor) -> StyleCode:
        """Style code of one image (1×3×H×W, RGB [0, 1]); computed once per style."""
        if style.dim() != 4 or style.shape[0] != 1:
            raise ValueError("encode_style takes one image shaped 1×3×H×W")
        sigma, mean = self.sct.style_stats(self.encoder(style))
        return StyleCode(sigma[0], mean[0])

    def stylize_features(self, fc: Tensor, sigma: Tensor, mean: Tensor, alpha: Tensor | float = 1.0) -> Tensor:
        """SCT output blended with the content features: α·t + (1−α)·fc (the alpha that really works)."""
        t = self.sct.transform(fc, sigma, mean)
        if isinstance(alpha, float) and alpha == 1.0:
            return t
        return alpha * t + (1 - alpha) * fc

    @property
    def uses_skips(self) -> bool:
        """Whether the decoder also takes unstylised shallow encoder features (see :meth:`encode_content`)."""
        return bool(getattr(self.encoder, "skip_taps", ()))

    def encode_content(self, content: Tensor) -> tuple[Tensor, list[Tensor]]:
        """(features at the SCT level, the skip features the decoder takes; empty for most models)."""
        if self.uses_skips:
            fc, skips = cast(MobileNetTrunk, self.encoder).forward_skips(content)
            return fc, skips
        return self.encoder(content), []

    @property
    def modulates_decoder(self) -> bool:
        """Whether the decoder also takes the style code (a FiLM of its stages, see :meth:`decode`)."""
        return getattr(self.decoder, "modulation", None) is not None

    def decode(self, features: Tensor, skips: list[Tensor], sigma: Tensor, mean: Tensor,
               alpha: Tensor | float = 1.0) -> Tensor:
        """Decoder output for (stylised) SCT-level features, :meth:`encode_content`'s skips and the style code.

        Most decoders ignore the style code; a modulated one scales its FiLM by ``alpha``.
        """
        if self.modulates_decoder:
            return self.decoder(features, skips, (sigma, mean, alpha))
        return self.decoder(features, skips) if skips else self.decoder(features)

    def forward(self, content: Tensor, sigma: Tensor, mean: Tensor, alpha: Tensor | float = 1.0) -> Tensor:
        """Stylise a batch; output is unclamped RGB of size ``multiple``·⌈H/multiple⌉ × …"""
        fc, skips = self.encode_content(content)
        return self.decode(self.stylize_features(fc, sigma, mean, alpha), skips, sigma, mean, alpha)

    def trainable_parameters(self) -> list[nn.Parameter]:
        """SCT + decoder parameters (the encoder is frozen)."""
        return [p for m in (self.sct, self.decoder) for p in m.parameters()]


def build_sctnet(config: dict[str, Any]) -> SCTNet:
    """Architecture "sctnet", the official SCTNet: ``mode`` ``art`` (relu4_1) or ``photo`` (relu3_1)."""
    mode = config.get("mode", "art")
    if mode == "art":
        return SCTNet(VGGEncoder(4), SCT.artistic(), VGGDecoder(photo=False),
                      arch="sctnet", mode="art", multiple=8, min_style_side=33, config={"mode": "art"})
    if mode == "photo":
        return SCTNet(VGGEncoder(3), SCT.photo(), VGGDecoder(photo=True),
                      arch="sctnet", mode="photo", multiple=4, min_style_side=9, config={"mode": "photo"})
    raise ValueError(f"mode must be 'art' or 'photo', got {mode!r}")
