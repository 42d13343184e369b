"""The still optimiser's loss: content features and style statistics on a frozen training loss network.

Content is the MSE at one deep tap; style is the MSE of per-channel means and standard deviations at
several taps. Each is divided by its target's magnitude, so one style weight suits every photo, style
and tap (the measured recipe in ``../shared/reference/mobilenet_loss_notes.md``). The image is shifted
by a random few pixels at every evaluation (and the content target with it): MobileNetV2's stride-2
convs with TensorFlow-SAME padding otherwise print a colour grid and an edge line into the result.

The network comes from :func:`vstyle.train.lossnets.build_loss_net`, which refuses the evaluation's
judge by name: an image optimised against the judge would game the evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..train.losses import mean_std, shift_image
from ..train.lossnets import LOSS_NETS, LossLayers, LossNet, build_loss_net, default_layers, unknown_loss_net

#: The optimiser's default loss network (VGG-19 when the user gives its weights).
DEFAULT_LOSS_NET = "mnv2-magenta"


def loss_net_kind(file: str | None) -> str:
    """``mnv2-magenta`` unless ``file`` is given and is not an ONNX graph (then VGG-19 weights)."""
    return DEFAULT_LOSS_NET if file is None or file.lower().endswith(".onnx") else "vgg19"


def build_still_loss_net(file: str | None = None) -> tuple[LossNet, LossLayers]:
    """The frozen loss network (and its taps) for stills: Magenta's MobileNetV2, or VGG-19 from ``file``."""
    kind = loss_net_kind(file)
    layers = default_layers(kind, "art")
    return build_loss_net(kind, (*layers.style, layers.content), file), layers


def _weighted(tensors: Sequence[Tensor], weights: Sequence[float]) -> Tensor:
    """Σ wᵢ·tᵢ."""
    out = weights[0] * tensors[0]
    for w, t in zip(weights[1:], tensors[1:]):
        out = out + w * t
    return out


@dataclass(frozen=True)
class StyleStats:
    """Target per-channel means and stds at each style tap (1×C each)."""

    means: tuple[Tensor, ...]
    stds: tuple[Tensor, ...]

    @staticmethod
    def mix(stats: Sequence["StyleStats"], weights: Sequence[float]) -> "StyleStats":
        """Weighted average (weights normalised to sum to 1): the minimiser of the weighted sum of the
        separate style losses, so a blend costs one style's work per step."""
        total = float(sum(weights))
        ws = [float(w) / total for w in weights]
        n = len(stats[0].means)
        return StyleStats(tuple(_weighted([s.means[i] for s in stats], ws) for i in range(n)),
                          tuple(_weighted([s.stds[i] for s in stats], ws) for i in range(n)))


class StillObjective:
    """Loss of one image against one content image and blended style statistics, at one size.

    ``alpha`` moves the style target from the content's own statistics (0) to the style's (1), the
    optimisation's counterpart of the fast path's feature blend.
    """

    def __init__(self, loss_net: LossNet, layers: LossLayers, content: Tensor, styles: Sequence[Tensor],
                 weights: Sequence[float], *, style_weight: float, alpha: float = 1.0,
                 content_weight: float = 1.0, jitter: int = 2) -> None:
        if loss_net.kind not in LOSS_NETS:  # e.g. the evaluation's judge wrapped as a LossNet
            raise unknown_loss_net(loss_net.kind)
        self.net = loss_net
        self.content = content
        self.content_index = loss_net.index(layers.content)
        self.style_indices = [loss_net.index(t) for t in layers.style]
        self.style_weight = float(style_weight)
        self.content_weight = float(content_weight)
        self.jitter = int(jitter)
        with torch.no_grad():
            target = StyleStats.mix([self._stats(s) for s in styles], weights)
            if alpha < 1.0:
                target = StyleStats.mix([self._stats(content), target], [1.0 - alpha, alpha])
        self.target = target
        self._norms = [float((m.square().mean() + s.square().mean())) for m, s in zip(target.means, target.stds)]
        self._content_targets: dict[tuple[int, int], tuple[Tensor, float]] = {}

    def _stats(self, image: Tensor) -> StyleStats:
        feats = self.net.features(image)
        pairs = [mean_std(feats[i]) for i in self.style_indices]
        return StyleStats(tuple(m for m, _ in pairs), tuple(s for _, s in pairs))

    def _content_target(self, shift: tuple[int, int]) -> tuple[Tensor, float]:
        # At most (2·jitter + 1)² shifts: cached, the content's forward pass is not paid again.
        if shift not in self._content_targets:
            with torch.no_grad():
                feat = self.net.features(shift_image(self.content, *shift, self.jitter))[self.content_index]
            self._content_targets[shift] = (feat, float(feat.square().mean()) + 1e-8)
        return self._content_targets[shift]

    def random_shift(self, generator: torch.Generator) -> tuple[int, int]:
        """A random (dy, dx) within ±jitter."""
        if not self.jitter:
            return (0, 0)
        dy, dx = torch.randint(-self.jitter, self.jitter + 1, (2,), generator=generator).tolist()
        return int(dy), int(dx)

    def __call__(self, image: Tensor, shift: tuple[int, int] = (0, 0)) -> tuple[Tensor, dict[str, float]]:
        """(weighted total, {"content", "style"} weighted parts) of ``image`` seen shifted by ``shift``."""
        feats = self.net.features(shift_image(image, *shift, self.jitter))
        target, norm = self._content_target(shift)
        content = F.mse_loss(feats[self.content_index], target) / norm
        style = image.new_zeros(())
        for k, i in enumerate(self.style_indices):
            mean, std = mean_std(feats[i])
            style = style + (F.mse_loss(mean, self.target.means[k]) + F.mse_loss(std, self.target.stds[k])) \
                / self._norms[k]
        content, style = self.content_weight * content, self.style_weight * style / len(self.style_indices)
        return content + style, {"content": float(content.detach()), "style": float(style.detach())}
