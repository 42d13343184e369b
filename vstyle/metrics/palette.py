"""Palette distance: how far an output's colours are from the style image's, in CIELAB."""

from __future__ import annotations

import cv2
import numpy as np

DIRECTIONS = 64
SAMPLES = 4096
QUANTILES = 256


def lab_pixels(image: np.ndarray, samples: int = SAMPLES, seed: int = 0) -> np.ndarray:
    """Up to ``samples`` pixels (fixed random subset) of an H×W×3 uint8 RGB image as CIELAB, K×3 float64.

    L in [0, 100], a and b about [-127, 127] (OpenCV's float conversion, D65).
    """
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float64)
    if len(lab) > samples:
        lab = lab[np.random.default_rng(seed).choice(len(lab), samples, replace=False)]
    return lab


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, directions: int = DIRECTIONS, seed: int = 0) -> float:
    """Sliced 1-Wasserstein distance between two point sets (K×3 and M×3), in their units.

    Both are projected on ``directions`` fixed random unit vectors; each 1-D distance is the mean absolute
    difference of matching quantiles; the result is their mean.
    """
    rng = np.random.default_rng(seed)
    dirs = rng.normal(size=(directions, a.shape[1]))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    qs = np.linspace(0, 1, QUANTILES)
    pa = np.quantile(a @ dirs.T, qs, axis=0)
    pb = np.quantile(b @ dirs.T, qs, axis=0)
    return float(np.abs(pa - pb).mean())


def palette_distance(output: np.ndarray, style: np.ndarray) -> float:
    """Sliced Wasserstein distance of the CIELAB colours of ``output`` and ``style`` (uint8 RGB images)."""
    return sliced_wasserstein(lab_pixels(output), lab_pixels(style))
