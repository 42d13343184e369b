"""Temporal warping error (CCPL paper §5, after Lai et al. 2018): how much a stylised video flickers.

For a frame pair (t, s = t + Δ) take the optical flow of the *content* from s to t, move the stylised
frame t onto frame s's grid with it, and average the squared RGB difference to stylised frame s over the
pixels the flow can explain (not occluded, not on motion boundaries, not leaving the frame). A video whose
stylisation moves with its content scores close to what the content itself scores (the floor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .flow import consistency_mask, estimate_flow, warp

#: A clip's frames: a list of H×W×3 images or one N×H×W×3 array.
Frames = Sequence[np.ndarray] | np.ndarray


@dataclass(frozen=True)
class PairFlow:
    """Motion between content frames t and s = t + Δ, on frame s's grid.

    ``flow`` goes from s to t (s(x) ≈ t(x + flow(x))); ``mask`` marks pixels of s it explains.
    """

    t: int
    s: int
    flow: np.ndarray
    mask: np.ndarray


def pair_flow(frames: Frames, t: int, s: int,
              flow_fn: Callable[[np.ndarray, np.ndarray], np.ndarray] = estimate_flow) -> PairFlow:
    """Estimate the motion between content frames t and s (both directions, for the occlusion check)."""
    flow_st = flow_fn(frames[s], frames[t])
    flow_ts = flow_fn(frames[t], frames[s])
    return PairFlow(t, s, flow_st, consistency_mask(flow_st, flow_ts))


def pair_flows(frames: Frames, delta: int,
               flow_fn: Callable[[np.ndarray, np.ndarray], np.ndarray] = estimate_flow) -> list[PairFlow]:
    """Flows for every pair (t, t + delta) of a clip; empty when the clip is shorter than delta + 1."""
    return [pair_flow(frames, t, t + delta, flow_fn) for t in range(len(frames) - delta)]


def _as_float(frame: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] as float32 (uint8 frames are scaled)."""
    if frame.dtype == np.uint8:
        return frame.astype(np.float32) / 255.0
    return frame.astype(np.float32, copy=False)


def warping_error(out_t: np.ndarray, out_s: np.ndarray, pair: PairFlow) -> float:
    """Mean squared RGB difference in [0, 1] between warped ``out_t`` and ``out_s`` over valid pixels.

    NaN when no pixel is valid (the flow explains nothing in this pair).
    """
    if out_t.shape[:2] != pair.flow.shape[:2] or out_s.shape[:2] != pair.flow.shape[:2]:
        raise ValueError(f"frames {out_t.shape[:2]} / {out_s.shape[:2]} do not match the flow {pair.flow.shape[:2]}")
    if not pair.mask.any():
        return float("nan")
    diff = warp(_as_float(out_t), pair.flow) - _as_float(out_s)
    return float((diff ** 2).mean(-1)[pair.mask].mean())


def sequence_warping_errors(outputs: Frames, pairs: Sequence[PairFlow]) -> list[float]:
    """Warping error of every pair, in the order of ``pairs``."""
    return [warping_error(outputs[p.t], outputs[p.s], p) for p in pairs]
