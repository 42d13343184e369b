"""Style specificity: do the outputs of one content under different styles differ, or is it one look?"""

from __future__ import annotations

from itertools import combinations
from typing import Mapping, Sequence

import numpy as np

Features = Mapping[str, np.ndarray]


def relative_distance(a: Features, b: Features) -> float:
    """‖a − b‖ / mean(‖a‖, ‖b‖) per tap, averaged over taps (0 = identical; 0 ≤ d ≤ 2)."""
    values = []
    for tap in a:
        x, y = a[tap].astype(np.float64).ravel(), b[tap].astype(np.float64).ravel()
        scale = (np.linalg.norm(x) + np.linalg.norm(y)) / 2
        values.append(float(np.linalg.norm(x - y) / scale) if scale > 0 else 0.0)
    return float(np.mean(values))


def style_specificity(per_style: Sequence[Sequence[Features]]) -> float | None:
    """Mean pairwise :func:`relative_distance` between outputs of the same frames under different styles.

    ``per_style[s][f]`` holds the features of frame ``f`` stylised with style ``s``; every style lists
    the same frames. Low values mean one look for every style. None with fewer than two styles.
    """
    if len(per_style) < 2:
        return None
    dists = [relative_distance(fa, fb)
             for a, b in combinations(per_style, 2) for fa, fb in zip(a, b)]
    return float(np.mean(dists))
