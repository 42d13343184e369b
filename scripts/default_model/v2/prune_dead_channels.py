"""Cut a v2 model's dead decoder channels: those whose ReLU never fires, so the convs computing them do
nothing but zeros.

    python scripts/default_model/v2/prune_dead_channels.py IN.safetensors OUT.safetensors --name NAME

Each decoder level ends in conv → ReLU. Over every photo, painting and clip frame under ../shared/data
(clips: 8 frames each), each stylised by several of the paintings, the script records each channel's
largest pre-ReLU value; a channel whose largest value stays below −``--margin`` is dead. A level with
at least ``--min-share`` of its channels dead is pruned (putting the dead channels back beside the live
ones copies the level's output once, which outweighs a few channels' convolutions). Its
channels are reordered, live first, in the level's convs and in everything that reads the level (its skip
projection, its FiLM scale and shift, the next level's or the RGB head's input), and the convs keep
only the live ones (``dec_live_channels`` in the file's config); the decoder puts the dead ones back as
the zeros they were (:class:`vstyle.models.mobile_decoder.MobileDecoder`). The output is the input
model's: the script checks it on every content image under two styles and refuses to write when any
pixel differs by more than one grey level. The provenance records the source's SHA-256, the margin,
the channels cut per level and the check.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from vstyle.errors import VStyleError
from vstyle.io.images import fit_within, read_image
from vstyle.models import SCTNet, StyleCode, build
from vstyle.train.data import list_media, read_video_frames
from vstyle.weights.modelfile import file_sha256, save_model
from weight_files import check_new_output, load_source

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
#: Long side of the content images the activations are measured on (the recipe trains on 256–384 crops).
CONTENT_SIDE = 384
#: Styles each content image is stylised with while measuring (round robin over all paintings).
STYLES_PER_IMAGE = 9


def as_input(image: np.ndarray, side: int, multiple: int) -> Tensor:
    """1×3×H×W in [0, 1], fitted to ``side`` and cropped to a multiple of the model's stride."""
    image = fit_within(image, side)
    h, w = image.shape[0] // multiple * multiple, image.shape[1] // multiple * multiple
    return torch.from_numpy(np.ascontiguousarray(image[:h, :w])).permute(2, 0, 1)[None].float() / 255


def level_convs(level: nn.Sequential) -> list[nn.Conv2d]:
    """The convs of a decoder level that produce its channels: [conv] or [1×1, depthwise]."""
    convs = [m for m in level if isinstance(m, nn.Conv2d)]
    return convs if len(convs) == 2 and convs[1].groups == convs[1].out_channels > 1 else convs[-1:]


def largest_pre_relu(model: SCTNet, contents: list[Tensor], codes: list[StyleCode]) -> list[Tensor]:
    """Per decoder level, each channel's largest value before the level's ReLU over all the pairs."""
    peaks: list[Tensor | None] = [None] * len(model.decoder.body)
    hooks = []
    for i, lvl in enumerate(model.decoder.body):
        def record(module: nn.Module, args: Any, out: Tensor, i: int = i) -> None:
            peak = out.detach().amax(dim=(0, 2, 3))
            peaks[i] = peak if peaks[i] is None else torch.maximum(peaks[i], peak)  # type: ignore[arg-type]
        hooks.append(level_convs(lvl)[-1].register_forward_hook(record))
    try:
        for k, x in enumerate(contents):
            for j in range(STYLES_PER_IMAGE):
                code = codes[(k * STYLES_PER_IMAGE + j) % len(codes)]
                model(x, code.sigma, code.mean)
    finally:
        for hook in hooks:
            hook.remove()
    return [p for p in peaks if p is not None]


def reorder(state: dict[str, Tensor], model: SCTNet, level_index: int, order: Tensor, live: int) -> None:
    """Put level ``level_index``'s channels in ``order`` (live first) everywhere they are written or read,
    and keep only the first ``live`` in the level's own convs."""
    dec = model.decoder
    names = {m: n for n, m in model.named_modules()}
    lvl = dec.body[level_index]
    for conv in level_convs(lvl):  # the channels' producers: output rows (and the depthwise's own rows)
        for p in ("weight", "bias"):
            key = f"{names[conv]}.{p}"
            state[key] = state[key][order][:live]
    for proj, at in zip(dec.skips, dec.skip_levels):  # skip detail added to this level
        if at == level_index:
            key = f"{names[proj.proj]}.weight"
            state[key] = state[key][order]
    if dec.modulation is not None:  # this level's FiLM scale and shift: rows of the MLP's last layer
        stage = len(dec.modulated) + level_index
        start = sum(dec.modulation.widths[:stage])
        total = sum(dec.modulation.widths)
        rows = torch.arange(total + total)
        for offset in (start, total + start):
            rows[offset:offset + len(order)] = offset + order
        last = dec.modulation.net[-1]
        for p in ("weight", "bias"):
            key = f"{names[last]}.{p}"
            state[key] = state[key][rows]
    reader = level_convs(dec.body[level_index + 1])[0] if level_index + 1 < len(dec.body) else dec.out
    key = f"{names[reader]}.weight"
    state[key] = state[key][:, order]


def prune(model: SCTNet, peaks: list[Tensor], margin: float, min_share: float) -> tuple[SCTNet, list[int]]:
    """A copy of ``model`` whose levels with at least ``min_share`` of their channels peaking below −``margin``
    compute only the others; (model, channels computed per level)."""
    if model.config.get("dec_live_channels"):
        raise VStyleError("the model is already pruned")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    live_counts = []
    for i, peak in enumerate(peaks):
        alive = peak >= -margin
        if float((~alive).float().mean()) < min_share:
            alive = torch.ones_like(alive)
        order = torch.cat([torch.nonzero(alive).flatten(), torch.nonzero(~alive).flatten()])
        live = int(alive.sum())
        reorder(state, model, i, order, live)
        live_counts.append(live)
    pruned = build(model.arch, {**model.config, "dec_live_channels": live_counts})
    pruned.load_state_dict(state)
    pruned.apply_settings(model.inference_settings)
    return pruned.eval(), live_counts


def largest_difference(a: SCTNet, b: SCTNet, contents: list[Tensor], codes: list[StyleCode]) -> int:
    """Largest difference in grey levels between the two models' rounded outputs, each content under two styles
    (pruning leaves the encoder and the SCT alone, so one set of style codes serves both)."""
    worst = 0
    for k, x in enumerate(contents):
        for j in (k % len(codes), (k + len(codes) // 2) % len(codes)):
            ya = a(x, codes[j].sigma, codes[j].mean).clamp(0, 1).mul(255).round()
            yb = b(x, codes[j].sigma, codes[j].mean).clamp(0, 1).mul(255).round()
            worst = max(worst, int((ya - yb).abs().max()))
    return worst


def main() -> None:
    """Parse the arguments, measure, prune, check, write (fp16, atomically; refuses to overwrite the input)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--name", required=True, help="Model name for the provenance.")
    parser.add_argument("--margin", type=float, default=0.05,
                        help="A channel is dead when its largest pre-ReLU value is below −MARGIN [0.05].")
    parser.add_argument("--min-share", type=float, default=0.25,
                        help="Prune a level only when at least this share of its channels is dead [0.25].")
    parser.add_argument("--overwrite", action="store_true", help="Replace an existing output file.")
    args = parser.parse_args()
    check_new_output(parser, args.output, [args.source], args.overwrite)
    model, provenance = load_source(parser, args.source)
    if model.arch != "sctnet-mobile":
        parser.error(f"{args.source} is not an sctnet-mobile model")
    torch.set_grad_enabled(False)
    try:
        paintings = [read_image(p) for p in list_media([DATA / "styles"], "painting", videos=False).images]
        photos = [read_image(p) for p in list_media([DATA / "content"], "photo", videos=False).images]
        clips = list_media([DATA / "video"], "clip", videos=True).videos
    except VStyleError as exc:
        parser.exit(1, f"error: {exc}\n")
    frames = [f for clip in clips for f in read_video_frames(clip, 8)]
    stride = model.multiple
    codes = [model.encode_style(as_input(p, model.style_size, stride)) for p in paintings]
    contents = [as_input(im, CONTENT_SIDE, stride) for im in photos + frames + paintings]
    print(f"measuring {len(contents)} images × {STYLES_PER_IMAGE} of {len(codes)} styles", flush=True)
    peaks = largest_pre_relu(model, contents, codes)
    try:
        pruned, live = prune(model, peaks, args.margin, args.min_share)
    except VStyleError as exc:
        parser.exit(1, f"error: {exc}\n")
    widths = [int(p.numel()) for p in peaks]
    for i, (n, w, peak) in enumerate(zip(live, widths, peaks)):
        dead = peak[peak < -args.margin]
        closest = f", the closest to firing peaks at {float(dead.max()):.3f}" if dead.numel() else ""
        kept = "" if n < w or not dead.numel() else " (kept: too few to repay)"
        print(f"level {i}: {dead.numel()} of {w} channels dead{closest}{kept}")
    checks = [as_input(im, CONTENT_SIDE, stride) for im in photos]
    worst = largest_difference(model, pruned, checks, codes)
    print(f"check: {len(checks)} photos × 2 styles, largest difference {worst} grey level(s)")
    if worst > 1:
        parser.exit(1, "error: the pruned model's pictures differ; nothing written\n")
    provenance.update(name=args.name, pruned_from_sha256=file_sha256(args.source), prune_margin=args.margin,
                      prune_min_share=args.min_share,
                      pruned_channels=[w - n for w, n in zip(widths, live)],
                      prune_check=f"{len(checks)} photos × 2 styles: largest difference {worst}/255")
    save_model(pruned, args.output, provenance, dtype=torch.float16)
    print(f"wrote {args.output} (decoder levels compute {live} of {widths} channels)")


if __name__ == "__main__":
    main()
