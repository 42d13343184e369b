"""Recognisability: does the stylised image still show what the photo showed, to an ImageNet classifier?"""

from __future__ import annotations

import numpy as np

KL_EPS = 1e-12


def top1_in_top5(content_probs: np.ndarray, output_probs: np.ndarray) -> bool:
    """Whether the content's most likely class is among the output's five most likely ones."""
    top5 = np.argsort(output_probs)[-5:]
    return int(np.argmax(content_probs)) in set(top5.tolist())


def kl_divergence(content_probs: np.ndarray, output_probs: np.ndarray) -> float:
    """KL(content ‖ output) of two class distributions, in nats (0 = the same belief about the image)."""
    p = np.clip(np.asarray(content_probs, np.float64), KL_EPS, None)
    q = np.clip(np.asarray(output_probs, np.float64), KL_EPS, None)
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * (np.log(p) - np.log(q))))
