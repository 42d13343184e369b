"""What the live window shows: the stylised frame (optionally beside the camera) with a stats box."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .state import LiveState
from .stats import Snapshot


def compose(stylised: np.ndarray, camera: np.ndarray | None = None) -> np.ndarray:
    """The stylised frame alone, or the camera frame (scaled to the same height) on its left."""
    if camera is None:
        return stylised
    import cv2

    h = stylised.shape[0]
    if camera.shape[0] != h:
        w = max(1, round(camera.shape[1] * h / camera.shape[0]))
        camera = cv2.resize(camera, (w, h), interpolation=cv2.INTER_AREA)
    return np.concatenate([camera, stylised], axis=1)


def overlay_lines(stats: Snapshot, state: LiveState, style_name: str, recording_path: str | None) -> list[str]:
    """The text of the stats box."""
    lines = [
        f"capture {stats.capture_fps:4.1f} fps  stylise {stats.stylize_fps:4.1f} fps",
        f"latency {stats.latency_ms:4.0f} ms  dropped {stats.dropped}",
        f"style {state.style_index + 1}/{state.n_styles} {style_name}  alpha {state.alpha:.1f}"
        + ("  colour kept" if state.preserve_color else ""),
    ]
    if recording_path:
        lines.append(f"REC {recording_path}")
    return lines


def draw_overlay(image: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """Draw ``lines`` in the top-left corner on a dark translucent box; returns a new image."""
    import cv2

    out = image.copy()
    if not lines:
        return out
    # Scale the text with the frame so it stays readable from 256 px to full HD.
    scale = max(0.35, min(0.8, image.shape[1] / 1100))
    thick = 1 if scale < 0.8 else 2
    font = cv2.FONT_HERSHEY_SIMPLEX
    sizes = [cv2.getTextSize(t, font, scale, thick)[0] for t in lines]
    line_h = max(h for _, h in sizes) + int(8 * scale) + 2
    pad = int(6 * scale) + 2
    box_w = min(image.shape[1], max(w for w, _ in sizes) + 2 * pad)
    box_h = min(image.shape[0], line_h * len(lines) + pad)
    region = out[:box_h, :box_w]
    region[:] = (region.astype(np.uint16) * 2 // 5).astype(np.uint8)  # darken to 40 %
    for i, text in enumerate(lines):
        y = pad + line_h * (i + 1) - int(6 * scale) - 2
        color = (255, 80, 80) if text.startswith("REC") else (255, 255, 255)
        cv2.putText(out, text, (pad, y), font, scale, color, thick, cv2.LINE_AA)
    return out
