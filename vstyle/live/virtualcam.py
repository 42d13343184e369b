"""Feed the stylised stream to a virtual camera (pyvirtualcam, optional extra ``live``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import VStyleError, exception_line
from ..flags import flag


def _missing() -> str:
    return f"{flag('virtual_cam')} needs the pyvirtualcam package: pip install 'vstyle[live]'"


def require_pyvirtualcam() -> None:
    """Fail with one line (before any model work) when the optional package is missing."""
    try:
        import pyvirtualcam  # noqa: F401
    except ImportError:
        raise VStyleError(_missing()) from None


class VirtualCamera:
    """A virtual webcam other apps (video calls, OBS) can select; frames are RGB uint8.

    Frames are sent as soon as they are ready, without pacing, to keep latency low.
    """

    def __init__(self, width: int, height: int, fps: float, device: str | None = None) -> None:
        try:
            import pyvirtualcam
        except ImportError:
            raise VStyleError(_missing()) from None
        try:
            self._cam: Any = pyvirtualcam.Camera(width, height, fps, fmt=pyvirtualcam.PixelFormat.RGB,
                                                 device=device)
        except (RuntimeError, ValueError, OSError) as exc:
            raise VStyleError(f"cannot start the virtual camera: {exception_line(exc)}") from None
        self.width, self.height = width, height
        self.device: str = str(getattr(self._cam, "device", device or "virtual camera"))

    def send(self, frame: np.ndarray) -> None:
        """Send one H×W×3 RGB frame (resized if its size differs from the camera's)."""
        if frame.shape[:2] != (self.height, self.width):
            import cv2

            frame = cv2.resize(frame, (self.width, self.height), interpolation=cv2.INTER_AREA)
        self._cam.send(np.ascontiguousarray(frame))

    def close(self) -> None:
        """Release the virtual device."""
        self._cam.close()
