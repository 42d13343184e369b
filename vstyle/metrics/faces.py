"""Faces kept: are the content's faces still found by a face detector after stylisation?

The detector is OpenCV's Viola–Jones frontal-face cascade, whose model ships inside the
``opencv-python`` 4.x wheel (``cv2.data``; OpenCV 5 dropped the cascades). It is neither a network
any vstyle model trains against nor a strong detector: a painted face it still finds is clearly a face.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

CASCADE = "haarcascade_frontalface_default.xml"
MATCH_IOU = 0.3
# 8 neighbours: on the 36 shared photos at 256 px this finds exactly the 7 people's faces (5 also
# found two "faces" on the lion).
MIN_NEIGHBOURS = 8
Box = tuple[int, int, int, int]  # x, y, w, h


@lru_cache(maxsize=1)
def _detector() -> Any:
    path = Path(cv2.data.haarcascades) / CASCADE  # type: ignore[attr-defined]  # missing from OpenCV's stubs
    detector = cv2.CascadeClassifier(str(path))
    if detector.empty():
        raise RuntimeError(f"cannot load the face cascade {path}")
    return detector


def detect_faces(image: np.ndarray) -> list[Box]:
    """Frontal faces in an H×W×3 uint8 RGB image, as (x, y, w, h) boxes; faces under 1/12 of the short side
    are ignored (at 256 px they are too small to judge)."""
    grey = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
    side = max(16, min(image.shape[:2]) // 12)
    found = _detector().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=MIN_NEIGHBOURS, minSize=(side, side))
    return [tuple(int(v) for v in box) for box in found]  # type: ignore[misc]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


def faces_kept(content_faces: list[Box], output: np.ndarray) -> tuple[int, int]:
    """(content faces found again in ``output`` at IoU ≥ 0.3, content faces)."""
    found = detect_faces(output)
    kept = sum(any(iou(face, other) >= MATCH_IOU for other in found) for face in content_faces)
    return kept, len(content_faces)
