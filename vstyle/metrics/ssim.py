"""Structural similarity (Wang et al. 2004) on grey images, as a content-fidelity score."""

from __future__ import annotations

import cv2
import numpy as np

from .flow import to_grey

#: Side of the Gaussian window, 11×11 with σ = 1.5 (the paper's setting): the smallest image SSIM can score.
SSIM_WINDOW = 11
_SIGMA = 1.5
_K1, _K2 = 0.01, 0.03


def grey(frame: np.ndarray) -> np.ndarray:
    """RGB (uint8 or float [0, 1]) → float64 luma in [0, 1] (BT.601 weights)."""
    if frame.ndim == 2:
        return frame.astype(np.float64) / (255.0 if frame.dtype == np.uint8 else 1.0)
    if frame.dtype == np.uint8:
        return to_grey(frame).astype(np.float64) / 255.0
    rgb = frame.astype(np.float64)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two same-sized images (RGB are converted to grey first), dynamic range 1.

    Local statistics use an 11×11 Gaussian window (σ = 1.5), constants C1 = (0.01)², C2 = (0.03)²,
    averaged over the positions where the window fits entirely (no padding).
    """
    x, y = grey(a), grey(b)
    if x.shape != y.shape:
        raise ValueError(f"ssim needs same-sized images, got {x.shape} and {y.shape}")
    if min(x.shape) < SSIM_WINDOW:
        raise ValueError(f"ssim needs images of at least {SSIM_WINDOW}×{SSIM_WINDOW} pixels")

    def blur(img: np.ndarray) -> np.ndarray:
        r = SSIM_WINDOW // 2
        return cv2.GaussianBlur(img, (SSIM_WINDOW, SSIM_WINDOW), _SIGMA, borderType=cv2.BORDER_REFLECT)[r:-r, r:-r]

    c1, c2 = _K1 ** 2, _K2 ** 2
    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * cxy + c2)
    den = (mx * mx + my * my + c1) * (vx + vy + c2)
    return float((num / den).mean())
