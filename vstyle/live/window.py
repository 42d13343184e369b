"""The OpenCV preview window and its keyboard, with one-line errors where no display exists."""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

import numpy as np

from ..errors import VStyleError, exception_line
from ..flags import flag



def _windowless() -> str:
    """How to run without a window."""
    return f"use {flag('no_window')} with {flag('record')} and/or {flag('virtual_cam')}"


def check_display() -> None:
    """Fail early (before any model work) where a window cannot be opened.

    On Linux, OpenCV's Qt backend aborts the whole process when it cannot reach an X11 display
    (no ``except`` can catch that), so we look before we leap: DISPLAY must be set and its X
    server must accept a connection. A user-chosen ``QT_QPA_PLATFORM`` is trusted as is.
    """
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    display = os.environ.get("DISPLAY", "")
    if not display:
        raise VStyleError(f"no display to open a window on (DISPLAY is not set); {_windowless()}")
    if not x11_reachable(display):
        raise VStyleError(f"cannot connect to the display {display}; {_windowless()}")


def x11_reachable(display: str, timeout_s: float = 1.0) -> bool:
    """Whether an X server answers at ``display`` (``[host]:N[.screen]``); unknown forms count as yes."""
    host, sep, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not sep or not number.isdigit() or "/" in host:
        return True
    try:
        if host in ("", "unix"):
            path = f"/tmp/.X11-unix/X{number}"
            for address in (path, "\0" + path):  # filesystem socket, then Linux abstract socket
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.settimeout(timeout_s)
                    try:
                        sock.connect(address)
                        return True
                    except OSError:
                        continue
            return False
        with socket.create_connection((host, 6000 + int(number)), timeout=timeout_s):
            return True
    except OSError:
        return False


class Window:
    """A resizable window showing RGB frames; :meth:`poll` returns the key pressed (-1 for none)."""

    def __init__(self, title: str = "vstyle live") -> None:
        check_display()
        # opencv-python's bundled Qt warns on stderr about its missing font folder on every
        # start; read when Qt starts (the first window), so setting it here is in time.
        os.environ.setdefault("QT_LOGGING_RULES", "default.warning=false")
        import cv2

        self._cv2: Any = cv2
        self.title = title
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
        except cv2.error as exc:
            raise VStyleError(f"cannot open a window ({exception_line(exc, last=True)}); {_windowless()}") from None
        self._shown = False

    def show(self, rgb: np.ndarray) -> None:
        """Display an RGB frame."""
        cv2 = self._cv2
        cv2.imshow(self.title, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self._shown = True

    def poll(self, delay_ms: int = 1) -> int:
        """Pump window events for ``delay_ms``; the key pressed, or -1."""
        return int(self._cv2.waitKey(delay_ms))

    def closed(self) -> bool:
        """True once the user has closed the window with its close button."""
        if not self._shown:
            return False
        try:
            return self._cv2.getWindowProperty(self.title, self._cv2.WND_PROP_VISIBLE) < 1
        except self._cv2.error:
            return True

    def close(self) -> None:
        """Destroy the window."""
        try:
            self._cv2.destroyWindow(self.title)
            self._cv2.waitKey(1)
        except self._cv2.error:
            pass
