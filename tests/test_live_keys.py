"""Live mode, what the user presses and sees: every key through the pure ``apply_key``, the
stats overlay and the rate/latency numbers."""

from __future__ import annotations

import numpy as np
import pytest

from vstyle.live.overlay import compose, draw_overlay, overlay_lines
from vstyle.live.state import ESC, Action, LiveState, apply_key
from vstyle.live.stats import LiveStats, RateMeter, Snapshot


def press(state: LiveState, *keys: str | int) -> tuple[LiveState, list[Action]]:
    """Apply several keys; returns the final state and all actions in order."""
    actions: list[Action] = []
    for k in keys:
        state, acts = apply_key(state, ord(k) if isinstance(k, str) else k)
        actions.extend(acts)
    return state, actions


S3 = LiveState(n_styles=3)


def test_n_and_p_cycle_through_styles_and_wrap() -> None:
    assert press(S3, "n")[0].style_index == 1
    assert press(S3, "n", "n", "n")[0].style_index == 0
    assert press(S3, "p")[0].style_index == 2
    assert press(S3, "n", "n", "p")[0].style_index == 1
    assert press(S3, "n")[1] == []


def test_digits_pick_a_style_only_when_it_exists() -> None:
    assert press(S3, "3")[0].style_index == 2
    assert press(S3, "2", "1")[0].style_index == 0
    assert press(S3, "4")[0] == S3
    assert press(S3, "0")[0] == S3
    nine = LiveState(n_styles=12)
    assert press(nine, "9")[0].style_index == 8


@pytest.mark.parametrize("up,down", [("+", "-"), ("=", "_")])
def test_plus_minus_change_alpha_in_steps_and_clamp(up: str, down: str) -> None:
    half = LiveState(n_styles=1, alpha=0.5)
    assert press(half, up)[0].alpha == pytest.approx(0.6)
    assert press(half, down)[0].alpha == pytest.approx(0.4)
    assert press(half, *[up] * 8)[0].alpha == 1.0
    assert press(half, *[down] * 8)[0].alpha == 0.0
    # Repeated steps land exactly on tenths (no float drift shown in the overlay).
    assert press(LiveState(n_styles=1, alpha=0.0), *[up] * 3)[0].alpha == 0.3


def test_c_toggles_preserve_color() -> None:
    assert press(S3, "c")[0].preserve_color is True
    assert press(S3, "c", "c")[0].preserve_color is False


def test_s_asks_for_a_snapshot_without_changing_state() -> None:
    assert press(S3, "s") == (S3, [Action.SNAPSHOT])


def test_r_starts_then_stops_recording() -> None:
    started, acts = press(S3, "r")
    assert started.recording and acts == [Action.START_RECORDING]
    stopped, acts = press(started, "r")
    assert not stopped.recording and acts == [Action.STOP_RECORDING]


@pytest.mark.parametrize("key", [ord("q"), ord("Q"), ESC])
def test_q_and_esc_quit(key: int) -> None:
    assert apply_key(S3, key) == (S3, (Action.QUIT,))


@pytest.mark.parametrize("key", [-1, ord("x"), ord(" "), 13, 255])
def test_no_key_or_unknown_keys_change_nothing(key: int) -> None:
    assert apply_key(S3, key) == (S3, ())


def test_modifier_bits_from_waitkey_are_ignored() -> None:
    # Some OpenCV backends report modifier state in the high bits of the key code.
    assert apply_key(S3, 0x100000 | ord("n"))[0].style_index == 1


def test_state_is_frozen_and_validated() -> None:
    with pytest.raises(AttributeError):
        S3.alpha = 0.3  # type: ignore[misc]
    with pytest.raises(ValueError):
        LiveState(n_styles=0)
    with pytest.raises(ValueError):
        LiveState(n_styles=2, style_index=2)
    with pytest.raises(ValueError):
        LiveState(n_styles=1, alpha=1.5)


# ------------------------------------------------------------------ overlay


def test_overlay_draws_in_the_corner_only_and_keeps_the_input() -> None:
    img = np.full((240, 320, 3), 200, np.uint8)
    stats = Snapshot(frames=10, seconds=1.0, capture_fps=30.0, stylize_fps=12.5, latency_ms=80.0, dropped=17)
    lines = overlay_lines(stats, LiveState(n_styles=2, style_index=1, alpha=0.7, preserve_color=True),
                          "wave", "rec.mp4")
    text = "\n".join(lines)
    for part in ("30.0 fps", "12.5 fps", "80 ms", "dropped 17", "2/2 wave", "alpha 0.7", "colour kept", "REC rec.mp4"):
        assert part in text
    out = draw_overlay(img, lines)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert (img == 200).all()
    assert (out[:20, :20] != 200).any()
    assert (out[-40:, -40:] == 200).all()


def test_overlay_without_recording_has_no_rec_line() -> None:
    stats = Snapshot(1, 1.0, 0.0, 0.0, 0.0, 0)
    assert not any(line.startswith("REC") for line in overlay_lines(stats, S3, "a", None))


def test_side_by_side_puts_the_camera_left_at_the_same_height() -> None:
    cam = np.zeros((480, 640, 3), np.uint8)
    sty = np.full((240, 320, 3), 255, np.uint8)
    view = compose(sty, cam)
    assert view.shape == (240, 640, 3)
    assert (view[:, :320] == 0).all() and (view[:, 320:] == 255).all()
    assert compose(sty) is sty


# ------------------------------------------------------------------ numbers


def test_rate_meter_counts_events_per_second_over_the_window() -> None:
    meter = RateMeter(window_s=1.0)
    assert meter.rate() == 0.0
    for i in range(31):
        meter.update(i, i / 10.0)  # 10 events per second for 3 s
    assert meter.rate() == pytest.approx(10.0)


def test_live_stats_totals_skip_the_warm_up_frame() -> None:
    stats = LiveStats()
    # The first frame waited 5 s (model load); then one frame every 0.1 s with 50 ms latency.
    stats.record(captured_at=0.0, captured=1, dropped=0, now=5.0)
    for i in range(1, 11):
        stats.record(captured_at=5.0 + 0.1 * i - 0.05, captured=1 + 3 * i, dropped=2 * i, now=5.0 + 0.1 * i)
    total = stats.total()
    assert total.frames == 11
    assert total.stylize_fps == pytest.approx(10.0)
    assert total.capture_fps == pytest.approx(30.0)
    assert total.latency_ms == pytest.approx(50.0)
    assert total.dropped == 20
    assert "stylise 10.0 fps" in total.line() and total.as_dict()["stylize_fps"] == 10.0


def test_live_stats_of_one_frame_say_no_rate_was_measured() -> None:
    """``live --frames 1`` reported "stylise 0.0 fps": one frame spans no interval to take a rate over."""
    stats = LiveStats()
    stats.record(captured_at=0.0, captured=1, dropped=0, now=0.5)
    total = stats.total()
    assert not total.measured
    assert "too few to measure rates" in total.line() and "0.0 fps" not in total.line()
    assert {total.as_dict()[k] for k in ("capture_fps", "stylize_fps", "latency_ms")} == {None}
