"""Light decoder for the mobile architecture: ×2 upsampling + reflection-padded 3×3 convs.

No transposed convs (they checkerboard). Upsampling is nearest or bilinear: with only a few narrow
convs after it, nearest leaves the stride-8 block structure visible on flat areas; bilinear hands
the convs a smooth map to refine instead. The highest-resolution levels can use depthwise-separable
convs, which dominate the cost at large frame sizes otherwise.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


UPSAMPLE_MODES = ("nearest", "bilinear")


def level(cin: int, cout: int, upsample: bool, separable: bool, mode: str = "nearest",
          live: int | None = None) -> nn.Sequential:
    """One decoder level: [×2 upsampling] → reflection pad 1 → 3×3 conv → ReLU.

    The separable form is 1×1 conv (cin→cout) → [×2 upsampling] → pad → 3×3 depthwise → ReLU: a 1×1
    conv commutes with nearest and with bilinear upsampling (both mix each channel spatially with
    weights summing to 1), so doing it first runs it on a quarter of the pixels and upsamples
    ``cout`` rather than ``cin`` channels.

    ``live`` < ``cout``: the convs compute only the first ``live`` channels (the others, channels whose
    ReLU never fires, cut from trained weights by ``scripts/default_model/v2/prune_dead_channels.py``,
    are zeros that :class:`MobileDecoder` adds back). Parameter names stay those of the full level.
    """
    if mode not in UPSAMPLE_MODES:
        raise ValueError(f"upsampling must be one of {UPSAMPLE_MODES}, got {mode!r}")
    live = cout if live is None else live
    if not 1 <= live <= cout:
        raise ValueError(f"a level of {cout} channels computes 1…{cout} of them, got {live}")
    # align_corners=False: the half-pixel convention ONNX Resize and TensorRT implement natively.
    corners = False if mode == "bilinear" else None  # nearest takes no align_corners
    up = [nn.Upsample(scale_factor=2, mode=mode, align_corners=corners)] if upsample else []
    if separable:
        layers = [nn.Conv2d(cin, live, 1), *up, nn.ReflectionPad2d(1), nn.Conv2d(live, live, 3, groups=live)]
    else:
        layers = [*up, nn.ReflectionPad2d(1), nn.Conv2d(cin, live, 3)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True))


def add_to_first_channels(x: Tensor, y: Tensor) -> Tensor:
    """``y`` with ``x`` added to its first channels (``x`` has at most as many): a pruned level's output
    plus a skip projection, without first padding the level's dead channels with zeros."""
    n = x.shape[1]
    return x + y if n == y.shape[1] else torch.cat([x + y[:, :n], y[:, n:]], dim=1)


class SeparableResidual(nn.Module):
    """x + (pad → 3×3 depthwise → 1×1 → ReLU → pad → 3×3 depthwise → 1×1)(x), at constant width.

    Depthwise-separable: about a ninth of a full 3×3 block's cost, so several fit in the decoder's
    budget at the bottleneck, where they turn SCT features into strokes before any upsampling.
    """

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3, groups=width), nn.Conv2d(width, width, 1),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3, groups=width), nn.Conv2d(width, width, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Same shape as ``x``."""
        return x + self.body(x)


class SkipProjection(nn.Module):
    """Unstylised encoder detail → a decoder level: instance norm (no affine) → 1×1 conv, zero-initialised.

    The norm strips the content's own channel statistics (its colours and contrast), so what reaches
    the decoder is where edges and fine structure are, not how the photo looks; the style still comes
    only through the SCT. Zero weights make a grown model start as the model it grew from.
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(cin, cout, 1, bias=False)
        nn.init.zeros_(self.proj.weight)

    def forward(self, x: Tensor) -> Tensor:
        """``cout`` channels at the resolution of ``x``."""
        return self.proj(F.instance_norm(x))


class StyleModulation(nn.Module):
    """Style code → a per-channel scale and shift for each decoder stage (FiLM), zero-initialised.

    The SCT sets the style only at the bottleneck, so a small decoder paints every style's fine texture
    and colour contrast with the same filters; Magenta's transformer conditions every layer on its style
    vector instead. Here the code the engine already caches (SCT ``sigma`` K×K and ``mean`` C) is
    flattened, standardised per entry (batch statistics while training, their running averages after:
    the raw entries share a large style-independent part, which left a first trial's MLP blind to the
    style) and mapped by a two-layer MLP to ``(1 + γ, β)`` per stage. Its cost is per call, not per
    pixel, and zero output weights make a grown model start as the model it grew from.
    """

    def __init__(self, code_dim: int, widths: Sequence[int], hidden: int = 128) -> None:
        super().__init__()
        self.widths = [int(w) for w in widths]
        last = nn.Linear(hidden, 2 * sum(self.widths))
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.norm = nn.BatchNorm1d(code_dim, affine=False)
        self.net = nn.Sequential(nn.Linear(code_dim, hidden), nn.ReLU(inplace=True), last)

    def forward(self, sigma: Tensor, mean: Tensor, strength: Tensor | float = 1.0) -> list[tuple[Tensor, Tensor]]:
        """(scale, shift), each B×W×1×1 (B = 1 for an unbatched code), per stage in ``widths`` order.

        ``strength`` (the style's alpha) scales γ and β, so alpha 0 leaves the decoder unmodulated.
        """
        if sigma.dim() == 2:
            sigma, mean = sigma[None], mean[None]
        code = torch.cat([sigma.flatten(1), mean], dim=1)
        if self.training and code.shape[0] == 1:  # one code has no batch statistics: use the running ones
            code = F.batch_norm(code, self.norm.running_mean, self.norm.running_var, training=False,
                                eps=self.norm.eps)
        else:
            code = self.norm(code)
        gammas, betas = (self.net(code) * strength).chunk(2, dim=1)
        return [(1 + g[:, :, None, None], b[:, :, None, None])
                for g, b in zip(gammas.split(self.widths, 1), betas.split(self.widths, 1))]


class MobileDecoder(nn.Module):
    """Features (``channels`` at stride 2^(len(widths)−1)) → RGB at full resolution, unbounded.

    Level 0 maps ``channels`` to ``widths[0]`` at the feature resolution; each later level
    upsamples ×2 and maps to the next width; a final 1×1 conv gives RGB with no
    activation (like the official decoder; clamp for display). ``separable`` is how many of
    the highest-resolution levels use depthwise-separable convs; ``upsample`` is ``"nearest"`` or
    ``"bilinear"`` (no parameters either way, so weights move between the two). ``res_blocks`` > 0
    puts a 1×1 conv to ``res_width`` channels and that many :class:`SeparableResidual` blocks before
    level 0 (0: the original layout, and the parameter names of files saved before it existed).
    ``skips`` lists (channels, stride) of unstylised encoder features that :meth:`forward` takes beside
    ``x``; each is added (through a :class:`SkipProjection`) to the output of the level at its stride.
    ``style_dim`` > 0 adds a :class:`StyleModulation` of a style code that long (the bottleneck output and
    every level, after its skip); :meth:`forward` then takes the code. ``live`` (one entry per level, or
    empty for all) is how many of each level's channels its convs compute (see :func:`level`).
    """

    def __init__(self, channels: int, widths: Sequence[int], separable: int = 0, upsample: str = "nearest",
                 res_blocks: int = 0, res_width: int = 128, skips: Sequence[tuple[int, int]] = (),
                 style_dim: int = 0, live: Sequence[int] = ()) -> None:
        super().__init__()
        if not widths:
            raise ValueError("the decoder needs at least one width")
        if not 0 <= separable <= len(widths):
            raise ValueError(f"separable must be 0…{len(widths)}, got {separable}")
        if res_blocks < 0 or res_width < 1:
            raise ValueError(f"res_blocks must be >= 0 and res_width >= 1, got {res_blocks}, {res_width}")
        if live and len(live) != len(widths):
            raise ValueError(f"live needs one entry per level ({len(widths)}), got {len(live)}")
        cin = channels
        self.bottleneck: nn.Module
        if res_blocks:
            self.bottleneck = nn.Sequential(nn.Conv2d(channels, res_width, 1), nn.ReLU(inplace=True),
                                            *(SeparableResidual(res_width) for _ in range(res_blocks)))
            cin = res_width
        else:
            self.bottleneck = nn.Identity()
        layers: list[nn.Module] = []
        for i, width in enumerate(widths):
            layers.append(level(cin, width, upsample=i > 0, separable=i >= len(widths) - separable, mode=upsample,
                                live=live[i] if live else None))
            cin = width
        self.body = nn.Sequential(*layers)
        self.widths = [int(w) for w in widths]
        top = len(widths) - 1
        # Level i's output has stride 2^(top − i).
        self.skip_levels = [top - (stride.bit_length() - 1) for _, stride in skips]
        for (_, stride), lvl in zip(skips, self.skip_levels):
            if stride < 2 or stride & (stride - 1) or lvl < 1:
                raise ValueError(f"skip stride must be a power of two from 2 to {2 ** (top - 1)}, got {stride}")
        self.skips = nn.ModuleList(SkipProjection(cin_skip, widths[lvl])
                                   for (cin_skip, _), lvl in zip(skips, self.skip_levels))
        # 1×1: the last level already mixes space; a 3×3 conv with 3 outputs (plus its padded copy)
        # was the costliest layer of the whole net at full resolution on CPU.
        self.out = nn.Conv2d(cin, 3, 1)
        self.stride = 2 ** (len(widths) - 1)
        self.modulated = [res_width] if res_blocks else []
        self.modulation = StyleModulation(style_dim, self.modulated + list(widths)) if style_dim else None

    def forward(self, x: Tensor, skips: Sequence[Tensor] = (),
                style: tuple[Tensor, Tensor, Tensor | float] | None = None) -> Tensor:
        """RGB of size stride·h × stride·w for features of size h × w.

        ``skips``: one per ``skips`` entry; ``style``: (sigma, mean, alpha) of the style code, needed
        exactly when the decoder was built with ``style_dim``.
        """
        if len(skips) != len(self.skips):
            raise ValueError(f"the decoder takes {len(self.skips)} skip features, got {len(skips)}")
        if (style is None) != (self.modulation is None):
            raise ValueError("a style-modulated decoder needs the style code, and only it takes one")
        film = self.modulation(*style) if self.modulation is not None and style is not None else []
        x = self.bottleneck(x)
        if film and self.modulated:
            (scale, shift), film = film[0], film[1:]
            x = x * scale + shift
        for i, lvl in enumerate(self.body):
            x = lvl(x)
            for feat, level_index, proj in zip(skips, self.skip_levels, self.skips):
                if level_index == i:
                    x = add_to_first_channels(x, proj(feat))
            if x.shape[1] < self.widths[i]:  # a pruned level with no skip: its dead channels as zeros
                x = F.pad(x, (0, 0, 0, 0, 0, self.widths[i] - x.shape[1]))
            if film:
                scale, shift = film[i]
                x = x * scale + shift
        return self.out(x)
