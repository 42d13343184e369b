"""Scores by judges no vstyle model trains against: the ImageNet judge, CIELAB colours and a face detector.

Per (content, style, method): judge style distance, recognisability (top-1 in top-5, KL), palette
distance and faces kept. Style specificity needs one content's outputs under every style, so the
judge features of a few frames of every output are kept (:meth:`ContentRefs.keep`) and compared
once the content's styles are done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..metrics.faces import Box, detect_faces, faces_kept
from ..metrics.features import StyleStats, style_distances
from ..metrics.judge import JUDGE_TAPS, Features, ImageNetJudge
from ..metrics.palette import lab_pixels, sliced_wasserstein
from ..metrics.recognition import kl_divergence, top1_in_top5
from ..metrics.specificity import style_specificity

#: Frames per clip whose judge features are kept for style specificity (evenly spaced).
SPECIFICITY_FRAMES = 5


@dataclass
class ContentRefs:
    """What the judges saw in one content: class probabilities and faces per frame, kept output features."""

    probs: list[np.ndarray]
    faces: list[list[Box]]
    picks: list[int]  # frames used for style specificity
    kept: dict[str, list[list[Features]]] = field(default_factory=dict)  # method -> per style -> per pick

    def keep(self, method: str, features: list[Features]) -> None:
        """Store one style's output features (of the ``picks`` frames) for ``method``."""
        self.kept.setdefault(method, []).append([features[i] for i in self.picks])

    def specificity(self, method: str) -> float | None:
        """Mean pairwise relative judge-feature distance of ``method``'s outputs under the styles so far."""
        return style_specificity(self.kept.get(method, []))


class Judges:
    """The independent judges, loaded once for a whole evaluation."""

    def __init__(self) -> None:
        self.judge = ImageNetJudge()

    @property
    def description(self) -> str:
        """For the report."""
        return self.judge.description

    def content_refs(self, frames: np.ndarray) -> ContentRefs:
        """Judge the unstylised frames once per content."""
        probs = [j.probs for j in self.judge.many(frames)]
        picks = sorted({round(i) for i in np.linspace(0, len(frames) - 1, min(SPECIFICITY_FRAMES, len(frames)))})
        return ContentRefs(probs, [detect_faces(f) for f in frames], picks)

    def style_refs(self, scaled_style: np.ndarray) -> tuple[StyleStats, np.ndarray]:
        """Judge-feature statistics and CIELAB pixels of the style image (already scaled to the content's
        longer side)."""
        return StyleStats(self.judge(scaled_style).features), lab_pixels(scaled_style)

    def score(self, outputs: np.ndarray, refs: ContentRefs, style: tuple[StyleStats, np.ndarray],
              method: str) -> dict[str, Any]:
        """Judge scores of one method's frames for one (content, style), averaged over the frames."""
        stats, style_lab = style
        rows, top5, kl, palette, features = [], [], [], [], []
        kept = total = 0
        for out, probs, faces, judged in zip(outputs, refs.probs, refs.faces, self.judge.many(outputs)):
            rows.append(style_distances(judged.features, stats))
            top5.append(top1_in_top5(probs, judged.probs))
            kl.append(kl_divergence(probs, judged.probs))
            palette.append(sliced_wasserstein(lab_pixels(out), style_lab))
            features.append(judged.features)
            if faces:
                k, n = faces_kept(faces, out)
                kept, total = kept + k, total + n
        refs.keep(method, features)
        per_tap = {f"{kind}_{tap}": float(np.mean([r[f"{kind}_{tap}"] for r in rows]))
                   for kind in ("meanstd", "gram") for tap in JUDGE_TAPS}
        return {"judge_style_meanstd": float(np.mean([r["meanstd"] for r in rows])),
                "judge_style_gram": float(np.mean([r["gram"] for r in rows])),
                "judge_style_per_tap": per_tap,
                "top5_kept": float(np.mean(top5)), "kl_content": float(np.mean(kl)),
                "palette": float(np.mean(palette)),
                "faces": total, "faces_kept": kept / total if total else None}
