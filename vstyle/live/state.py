"""What the keys do in live mode, as a pure function of the current state.

The loop feeds each key code to :func:`apply_key` and carries out the returned actions; tests
drive the same function directly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

#: Alpha changes by this much per ``+``/``-`` press.
ALPHA_STEP = 0.1
ESC = 27

HELP = ("n/p next/previous style, 1-9 pick a style, +/- style strength, c keep colours, "
        "s snapshot, r start/stop recording, q/Esc quit")


class Action(Enum):
    """Side effects the loop performs after a key."""

    SNAPSHOT = "snapshot"
    START_RECORDING = "start_recording"
    STOP_RECORDING = "stop_recording"
    QUIT = "quit"


@dataclass(frozen=True)
class LiveState:
    """Everything the keys can change."""

    n_styles: int
    style_index: int = 0
    alpha: float = 1.0
    preserve_color: bool = False
    recording: bool = False

    def __post_init__(self) -> None:
        if self.n_styles < 1:
            raise ValueError("live mode needs at least one style")
        if not 0 <= self.style_index < self.n_styles:
            raise ValueError(f"style_index {self.style_index} out of range for {self.n_styles} styles")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {self.alpha}")


def _key_char(key: int) -> str:
    """The character of an OpenCV key code (``waitKey`` may set high bits for modifiers)."""
    return chr(key & 0xFF)


def apply_key(state: LiveState, key: int) -> tuple[LiveState, tuple[Action, ...]]:
    """The state after pressing ``key`` (an OpenCV key code, -1 for none) and the actions to run.

    Unknown keys change nothing. ``+`` also answers to ``=`` (the same key unshifted on many
    layouts) and ``-`` to ``_``.
    """
    if key < 0:
        return state, ()
    ch = _key_char(key)
    if ch in ("q", "Q") or (key & 0xFF) == ESC:
        return state, (Action.QUIT,)
    if ch == "n":
        return replace(state, style_index=(state.style_index + 1) % state.n_styles), ()
    if ch == "p":
        return replace(state, style_index=(state.style_index - 1) % state.n_styles), ()
    if "1" <= ch <= "9" and int(ch) <= state.n_styles:
        return replace(state, style_index=int(ch) - 1), ()
    if ch in ("+", "="):
        return replace(state, alpha=round(min(1.0, state.alpha + ALPHA_STEP), 2)), ()
    if ch in ("-", "_"):
        return replace(state, alpha=round(max(0.0, state.alpha - ALPHA_STEP), 2)), ()
    if ch == "c":
        return replace(state, preserve_color=not state.preserve_color), ()
    if ch == "s":
        return state, (Action.SNAPSHOT,)
    if ch == "r":
        if state.recording:
            return replace(state, recording=False), (Action.STOP_RECORDING,)
        return replace(state, recording=True), (Action.START_RECORDING,)
    return state, ()
