"""Training objective: named, weighted loss terms over one step's images and loss-net features.

A term is a small module with ``name``, ``weight`` and ``forward(ctx) -> scalar`` (unweighted).
:class:`Objective` sums the weighted terms and reports each one. New terms (for example a new
distillation loss) only need to read what they use from :class:`StepContext`.
"""

from __future__ import annotations

from typing import Sequence, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .ccpl import CCPL
from .lossnets import LossNet

STD_EPS = 1e-5


def mean_std(feat: Tensor) -> tuple[Tensor, Tensor]:
    """Per-sample, per-channel spatial mean and sqrt(unbiased var + 1e-5), in fp32.

    The variance is (E[x²] − E[x]²)·n/(n − 1): on the CPU ``Tensor.var`` is several times slower on
    large maps, and in fp32 the cancellation error (~1e-7·E[x²]) is far below the 1e-5 epsilon's
    scale for the feature magnitudes of the loss nets.
    """
    f = feat.float().flatten(2)
    n = f.shape[2]
    mean = f.mean(dim=2)
    var = (torch.linalg.vecdot(f, f) / n - mean * mean).clamp_min(0) * (n / max(n - 1, 1))
    return mean, torch.sqrt(var + STD_EPS)


def content_loss(generated: Tensor, target: Tensor) -> Tensor:
    """MSE between two feature maps (fp32)."""
    return F.mse_loss(generated.float(), target.float())


def style_loss(generated: Sequence[Tensor], style: Sequence[Tensor]) -> Tensor:
    """Sum over levels of MSE(means) + MSE(stds), each averaged over batch × channels."""
    total = generated[0].new_zeros((), dtype=torch.float32)
    for g, s in zip(generated, style):
        gm, gs = mean_std(g)
        sm, ss = mean_std(s)
        total = total + F.mse_loss(gm, sm) + F.mse_loss(gs, ss)
    return total


def gram_loss(generated: Sequence[Tensor], style: Sequence[Tensor]) -> Tensor:
    """Sum over levels of MSE between channel Gram matrices (F·Fᵀ / HW, fp32), averaged over batch × C × C.

    Mean and std see each channel alone; the Gram matrix also sees which channels fire together, the
    texture (Gatys et al. 2016; Magenta's transformer was trained with it). Sizes may differ.
    """
    total = generated[0].new_zeros((), dtype=torch.float32)
    for g, s in zip(generated, style):
        total = total + F.mse_loss(_gram(g), _gram(s))
    return total


def sliced_wasserstein_loss(generated: Sequence[Tensor], style: Sequence[Tensor],
                            generator: torch.Generator | None = None) -> Tensor:
    """Sum over levels of the sliced 2-Wasserstein distance between the two feature distributions (fp32).

    Each level's C-dimensional features are projected on C random unit directions, drawn afresh per call;
    the sorted projections of the output are compared with the style's quantiles at the same ranks (MSE,
    averaged over batch × directions × positions). Mean/std and Gram see two moments; this sees the whole
    distribution of each projection (Heitz et al., CVPR 2021, "A Sliced Wasserstein Loss for Neural
    Texture Synthesis"). Sizes may differ: the style's sorted values are resampled to the output's count.
    """
    total = generated[0].new_zeros((), dtype=torch.float32)
    for g, s in zip(generated, style):
        c = g.shape[1]
        # Drawn where the generator lives (the trainer's is on the CPU), so a resumed run draws the same.
        directions = torch.randn(c, c, generator=generator, device=None if generator is None else generator.device)
        directions = F.normalize(directions.to(g.device), dim=0)
        with torch.autocast(g.device.type, enabled=False):
            proj_g = torch.matmul(directions.T, g.float().flatten(2)).sort(dim=2).values
            with torch.no_grad():
                proj_s = torch.matmul(directions.T, s.float().flatten(2)).sort(dim=2).values
                if proj_s.shape[2] != proj_g.shape[2]:
                    proj_s = F.interpolate(proj_s, size=proj_g.shape[2], mode="linear", align_corners=True)
        total = total + F.mse_loss(proj_g, proj_s)
    return total


def _gram(f: Tensor) -> Tensor:
    # Autocast would put the product back in fp16/bf16 (fp16 overflows on large maps); scaling by √HW
    # first keeps the sums small.
    with torch.autocast(f.device.type, enabled=False):
        flat = f.float().flatten(2) / f.shape[2:].numel() ** 0.5
        return flat @ flat.transpose(1, 2)


def shift_image(x: Tensor, dy: int, dx: int, pad: int) -> Tensor:
    """``x`` moved by (dy, dx) pixels with reflect padding, same size (|dy|, |dx| ≤ pad)."""
    if pad == 0:
        return x
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    h, w = x.shape[2:]
    return padded[:, :, pad - dy: pad - dy + h, pad - dx: pad - dx + w]


class StepContext:
    """Everything a loss term may need for one step, with loss-net features computed once each.

    ``content``, ``style``, ``output`` (and optionally ``teacher`` and ``identity``, the content
    stylised with itself as the style) are N×3×H×W images in [0, 1] (``output`` and ``identity``
    unclamped, carrying gradients). Features of the output, content and teacher are
    taken on copies shifted by ``shift`` (dy, dx) when ``shift_pad`` > 0; style features need no shift
    because only their statistics are used. ``given`` pre-fills features (e.g. shared with the model's
    encoder) for unshifted images.
    """

    def __init__(self, loss_net: LossNet, content: Tensor, style: Tensor, output: Tensor, *,
                 teacher: Tensor | None = None, identity: Tensor | None = None, shift: tuple[int, int] = (0, 0),
                 shift_pad: int = 0,
                 generator: torch.Generator | None = None, given: dict[str, list[Tensor]] | None = None) -> None:
        self.loss_net = loss_net
        self.images = {"content": content, "style": style, "output": output}
        if teacher is not None:
            self.images["teacher"] = teacher
        if identity is not None:
            self.images["identity"] = identity
        self.shift = shift
        self.shift_pad = shift_pad
        self.generator = generator
        # Pre-computed features are of unshifted images: with a shift only the style's still apply.
        self._feats: dict[str, list[Tensor]] = {
            k: v for k, v in (given or {}).items() if shift_pad == 0 or k == "style"}

    @property
    def output(self) -> Tensor:
        """The generated image (with gradients)."""
        return self.images["output"]

    @property
    def teacher(self) -> Tensor:
        """The teacher's output for this batch."""
        if "teacher" not in self.images:
            raise RuntimeError("this objective needs teacher outputs but none were computed")
        return self.images["teacher"]

    @property
    def identity(self) -> Tensor:
        """The content stylised with itself as the style (with gradients)."""
        if "identity" not in self.images:
            raise RuntimeError("this objective needs the identity rendering but none was computed")
        return self.images["identity"]

    def features(self, which: str) -> list[Tensor]:
        """Loss-net taps of ``content``, ``style``, ``output``, ``teacher`` or ``identity`` (only the
        generated images' carry gradients)."""
        if which not in self._feats:
            x = self.teacher if which == "teacher" else self.identity if which == "identity" else self.images[which]
            if which != "style":
                x = shift_image(x, *self.shift, self.shift_pad)
            if which in ("output", "identity"):
                self._feats[which] = self.loss_net.features(x)
            else:
                with torch.no_grad():
                    self._feats[which] = self.loss_net.features(x)
        return self._feats[which]


class LossTerm(nn.Module):
    """One weighted term; subclasses implement ``forward(ctx)`` returning the unweighted value."""

    def __init__(self, name: str, weight: float) -> None:
        super().__init__()
        self.name = name
        self.weight = float(weight)

    def forward(self, ctx: StepContext) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class ContentTerm(LossTerm):
    """MSE between a generated image's features and the content image's at one tap (the CCPL recipe:
    to the content, not to the SCT output). ``generated`` is ``output`` or ``identity``."""

    def __init__(self, weight: float, index: int, name: str = "content", generated: str = "output") -> None:
        super().__init__(name, weight)
        self.index = index
        self.generated = generated

    def forward(self, ctx: StepContext) -> Tensor:
        return content_loss(ctx.features(self.generated)[self.index], ctx.features("content")[self.index])


def channel_softmax(feat: Tensor, temperature: float) -> Tensor:
    """Softmax over channels at ``temperature``, times the channel count (so a flat map stays at 1 and the
    loss keeps a magnitude independent of the width): SWAG's smoothing of peaky activations."""
    return F.softmax(feat.float() / temperature, dim=1) * feat.shape[1]


#: What a style term compares: channel means and stds, Gram matrices, or sliced feature distributions.
STYLE_STATISTICS = ("moments", "gram", "sliced")


class StyleTerm(LossTerm):
    """Matching to the style image, summed over taps, of one of :data:`STYLE_STATISTICS`; on
    channel-softmaxed activations when ``softmax`` (a temperature) is positive."""

    def __init__(self, weight: float, indices: Sequence[int], softmax: float = 0.0, name: str = "style",
                 statistic: str = "moments") -> None:
        super().__init__(name, weight)
        if statistic not in STYLE_STATISTICS:
            raise ValueError(f"unknown style statistic {statistic!r}")
        self.indices = tuple(indices)
        self.softmax = float(softmax)
        self.statistic = statistic

    def forward(self, ctx: StepContext) -> Tensor:
        out, sty = ctx.features("output"), ctx.features("style")
        outs, stys = [out[i] for i in self.indices], [sty[i] for i in self.indices]
        if self.softmax > 0:
            outs = [channel_softmax(f, self.softmax) for f in outs]
            stys = [channel_softmax(f, self.softmax) for f in stys]
        if self.statistic == "sliced":
            return sliced_wasserstein_loss(outs, stys, ctx.generator)
        return gram_loss(outs, stys) if self.statistic == "gram" else style_loss(outs, stys)


class StyleEmbedTerm(LossTerm):
    """MSE between the loss net's global style embeddings of the output and of the style image."""

    def __init__(self, weight: float) -> None:
        super().__init__("style_embed", weight)

    def forward(self, ctx: StepContext) -> Tensor:
        with torch.no_grad():
            target = ctx.loss_net.embedding(ctx.images["style"].float())
        return F.mse_loss(ctx.loss_net.embedding(ctx.output.float()).float(), target.float())


class CCPLTerm(LossTerm):
    """CCPL between output and content features; owns the trainable projector heads."""

    def __init__(self, weight: float, indices: Sequence[int], ccpl: CCPL) -> None:
        super().__init__("ccpl", weight)
        self.indices = tuple(indices)
        self.ccpl = ccpl

    def forward(self, ctx: StepContext) -> Tensor:
        out, con = ctx.features("output"), ctx.features("content")
        return self.ccpl([out[i] for i in self.indices], [con[i] for i in self.indices], ctx.generator)


class TeacherPixelTerm(LossTerm):
    """L1 between the output and the teacher's output, in pixels."""

    def __init__(self, weight: float) -> None:
        super().__init__("teacher_pix", weight)

    def forward(self, ctx: StepContext) -> Tensor:
        return F.l1_loss(ctx.output.float(), ctx.teacher.float())


class TeacherFeatureTerm(LossTerm):
    """Feature MSE to the teacher's output on the loss net, summed over taps."""

    def __init__(self, weight: float, indices: Sequence[int]) -> None:
        super().__init__("teacher_feat", weight)
        self.indices = tuple(indices)

    def forward(self, ctx: StepContext) -> Tensor:
        out, tea = ctx.features("output"), ctx.features("teacher")
        total = out[0].new_zeros((), dtype=torch.float32)
        for i in self.indices:
            total = total + content_loss(out[i], tea[i])
        return total


class IdentityPixelTerm(LossTerm):
    """L1 between the content and the content stylised with itself as the style."""

    def __init__(self, weight: float) -> None:
        super().__init__("identity", weight)

    def forward(self, ctx: StepContext) -> Tensor:
        return F.l1_loss(ctx.identity.float(), ctx.images["content"].float())


class IdentityFeatureTerm(ContentTerm):
    """Feature MSE between that image and the content at the content tap."""

    def __init__(self, weight: float, index: int) -> None:
        super().__init__(weight, index, name="identity_feat", generated="identity")


class Objective(nn.Module):
    """The weighted sum of its terms; its parameters (CCPL heads) are trained with the model."""

    def __init__(self, terms: Sequence[LossTerm]) -> None:
        super().__init__()
        if not terms:
            raise ValueError("the objective needs at least one loss term with a non-zero weight")
        self.terms = nn.ModuleList(terms)

    def _terms(self) -> list[LossTerm]:
        """The terms, typed (a ModuleList yields plain Modules)."""
        return cast("list[LossTerm]", list(self.terms))

    @property
    def names(self) -> list[str]:
        """Term names, in order."""
        return [t.name for t in self._terms()]

    @property
    def needs_teacher(self) -> bool:
        """Whether any term reads the teacher's output."""
        return any(isinstance(t, (TeacherPixelTerm, TeacherFeatureTerm)) for t in self._terms())

    @property
    def needs_identity(self) -> bool:
        """Whether any term reads the identity rendering."""
        return any(isinstance(t, (IdentityPixelTerm, IdentityFeatureTerm)) for t in self._terms())

    def forward(self, ctx: StepContext) -> tuple[Tensor, dict[str, Tensor]]:
        """(total, {name: weighted value}) for one step."""
        parts = {t.name: t.weight * t(ctx) for t in self._terms()}
        total = torch.stack(list(parts.values())).sum()
        return total, parts
