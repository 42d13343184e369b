"""Optical flow for the temporal metric: estimation (OpenCV DIS), ``.flo`` files, occlusion masks, warping.

Convention: a flow ``f`` *from frame a to frame b* is an H×W×2 float32 array on a's pixel grid with
``a(x) ≈ b(x + f(x))`` (``f[..., 0]`` is the x/column displacement, ``f[..., 1]`` the y/row one).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

_FLO_MAGIC = 202021.25  # Middlebury .flo tag


def to_grey(frame: np.ndarray) -> np.ndarray:
    """H×W×3 RGB (uint8 or float in [0, 1]) → H×W uint8 luma (BT.601), as DIS expects."""
    if frame.dtype != np.uint8:
        frame = np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def estimate_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Flow from RGB frame ``a`` to RGB frame ``b`` with OpenCV's DIS (medium preset)."""
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return np.asarray(dis.calc(to_grey(a), to_grey(b), None), dtype=np.float32)  # type: ignore[call-overload]


def read_flo(path: str | Path) -> np.ndarray:
    """Read a Middlebury ``.flo`` file as H×W×2 float32; ``ValueError`` if it is not one."""
    raw = Path(path).read_bytes()
    if len(raw) < 12 or np.frombuffer(raw[:4], "<f4")[0] != np.float32(_FLO_MAGIC):
        raise ValueError(f"{path} is not a .flo file")
    w, h = (int(v) for v in np.frombuffer(raw[4:12], "<i4"))
    data = np.frombuffer(raw[12:], "<f4")
    if w <= 0 or h <= 0 or data.size != w * h * 2:
        raise ValueError(f"{path}: truncated or corrupt .flo file")
    return data.reshape(h, w, 2).copy()


def resize_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resample a flow field to ``size`` = (width, height), scaling the vectors with the grid."""
    h, w = flow.shape[:2]
    out = cv2.resize(flow, size, interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= size[0] / w
    out[..., 1] *= size[1] / h
    return out


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resample a boolean mask to ``size`` = (width, height); a pixel stays valid only if all its sources are."""
    return cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_LINEAR) > 0.999


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` (frame b) at ``x + flow(x)``: with the flow from a to b this moves b onto a's grid.

    Bilinear; samples outside the frame repeat the border (callers mask them out).
    """
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def inside_mask(flow: np.ndarray) -> np.ndarray:
    """Pixels whose flow target lies inside the frame."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    tx, ty = gx + flow[..., 0], gy + flow[..., 1]
    return (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)


def consistency_mask(flow_ab: np.ndarray, flow_ba: np.ndarray) -> np.ndarray:
    """Reliable pixels of frame a: forward–backward consistent, not on a motion boundary, target in frame.

    Thresholds follow the usual check of Sundaram et al. (2010), also used by Ruder et al. (2016) for
    video style transfer: |f + b|² ≤ 0.01 (|f|² + |b|²) + 0.5 and |∇f|² ≤ 0.01 |f|² + 0.002.
    """
    back = warp(flow_ba, flow_ab)  # b→a flow read at each a pixel's target
    total = flow_ab + back
    consistent = (total ** 2).sum(-1) <= 0.01 * ((flow_ab ** 2).sum(-1) + (back ** 2).sum(-1)) + 0.5
    grad = sum(np.gradient(flow_ab[..., c], axis=ax) ** 2 for c in (0, 1) for ax in (0, 1))
    smooth = grad <= 0.01 * (flow_ab ** 2).sum(-1) + 0.002
    return consistent & smooth & inside_mask(flow_ab)
