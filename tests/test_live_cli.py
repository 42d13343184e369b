"""``vstyle live``: a file standing in for the camera, headless recording, one-line errors, and the
loop's behaviour (newest frame only, keys, unplugged camera, Ctrl-C) with fake devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from clitools import assert_one_line_error, run_vstyle
from vstyle.io import camera as camera_mod
from vstyle.io.camera import CameraSpec, LatestFrameCapture, OpenCVFrames
from vstyle.live.loop import LiveOptions, LiveStyle, run_live
from vstyle.live.state import LiveState
from vstyle.models import build
from vstyle.weights import save_model


def count_frames(path: Path) -> int:
    """Decode every video frame with PyAV (proves the file is finalised and plays)."""
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random photo-mode SCTNet (the smallest official layout; test fixture, never shipped)."""
    torch.manual_seed(0)
    return save_model(build("sctnet", {"mode": "photo"}), tmp_path_factory.mktemp("m") / "tiny.safetensors")


@pytest.fixture(scope="module")
def style(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("s") / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(path)
    return path


# ------------------------------------------------------------------ the real command


def test_file_as_camera_records_a_playable_30_frame_mp4(tmp_path: Path, example_clip: Path, example_style: Path,
                                                        model_file: Path, style: Path) -> None:
    out = tmp_path / "out.mp4"
    proc = run_vstyle("live", "--camera", example_clip, "--no-window",
                      "--record", out, "--frames", "30", "--model", model_file, "--style", style,
                      "--style", example_style, "--max-size", "96", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["frames"] == 30 and summary["stopped"] == "frames"
    assert summary["dropped"] == 0  # --frames with a file: deterministic, nothing dropped
    assert summary["recordings"] == [str(out)]
    assert count_frames(out) == 30
    assert not list(tmp_path.glob(".*partial*"))


def test_missing_camera_index_is_one_line_and_exit_2(model_file: Path, style: Path) -> None:
    start = time.perf_counter()
    proc = run_vstyle("live", "--camera", "7", "--no-window", "--model", model_file, "--style", style, timeout=60)
    line = assert_one_line_error(proc)
    assert "no camera at index 7" in line
    # Reported before torch is even imported; the 5 s target is measured in the report.
    assert time.perf_counter() - start < 60


def test_window_without_display_suggests_no_window(model_file: Path, style: Path, example_clip: Path) -> None:
    proc = run_vstyle("live", "--camera", example_clip, "--model", model_file,
                      "--style", style, env={"DISPLAY": "", "WAYLAND_DISPLAY": "", "QT_QPA_PLATFORM": ""})
    assert "--no-window" in assert_one_line_error(proc)


def test_unreachable_display_is_one_line_not_an_abort(model_file: Path, style: Path, example_clip: Path) -> None:
    if Path("/tmp/.X11-unix/X93").exists():
        pytest.skip("an X server runs on :93")
    proc = run_vstyle("live", "--camera", example_clip, "--model", model_file,
                      "--style", style, env={"DISPLAY": ":93", "QT_QPA_PLATFORM": ""})
    assert "--no-window" in assert_one_line_error(proc)


def test_virtual_cam_without_pyvirtualcam_names_the_extra(tmp_path: Path, model_file: Path, style: Path,
                                                          example_clip: Path) -> None:
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pyvirtualcam.py").write_text("raise ImportError('hidden for this test')\n")
    path = os.pathsep.join(filter(None, [str(shadow), os.environ.get("PYTHONPATH")]))
    proc = run_vstyle("live", "--camera", example_clip, "--no-window", "--virtual-cam",
                      "--model", model_file, "--style", style, env={"PYTHONPATH": path})
    assert "vstyle[live]" in assert_one_line_error(proc)


def test_virtual_cam_without_a_device_is_one_line(model_file: Path, style: Path, example_clip: Path) -> None:
    pytest.importorskip("pyvirtualcam")
    if sys.platform.startswith("linux") and list(Path("/dev").glob("video*")):
        pytest.skip("video devices present; a loopback device may exist")
    proc = run_vstyle("live", "--camera", example_clip, "--no-window", "--virtual-cam",
                      "--model", model_file, "--style", style)
    assert "virtual camera" in assert_one_line_error(proc)


@pytest.mark.parametrize("case", ["camera_missing", "camera_not_video", "camera_folder", "record_exists",
                                  "record_webm", "style_missing", "style_empty_folder", "no_out_dir"])
def test_bad_input_is_one_line_and_exit_2(case: str, tmp_path: Path, model_file: Path, style: Path,
                                          example_clip: Path) -> None:
    video = example_clip
    (tmp_path / "exists.mp4").write_bytes(b"keep me")
    (tmp_path / "notes.mp4").write_text("not a video\n")
    (tmp_path / "empty").mkdir()
    args = {
        "camera_missing": ["--camera", tmp_path / "nope.mp4"],
        "camera_not_video": ["--camera", tmp_path / "notes.mp4"],
        "camera_folder": ["--camera", tmp_path / "empty"],
        "record_exists": ["--camera", video, "--record", tmp_path / "exists.mp4"],
        "record_webm": ["--camera", video, "--record", tmp_path / "out.webm"],
        "style_missing": ["--camera", video, "--style", tmp_path / "nope.jpg"],
        "style_empty_folder": ["--camera", video, "--style", tmp_path / "empty"],
        "no_out_dir": ["--camera", video, "--out-dir", tmp_path / "missing"],
    }[case]
    proc = run_vstyle("live", "--no-window", "--frames", "2", "--model", model_file, "--style", style, *args)
    assert_one_line_error(proc)
    assert (tmp_path / "exists.mp4").read_bytes() == b"keep me"
    assert not (tmp_path / "out.webm").exists()


# ------------------------------------------------------------------ the loop, with fake devices


class FakeCap:
    """Stands in for cv2.VideoCapture: ``n`` numbered frames (value = frame number), then read failures."""

    def __init__(self, n: int, period_s: float = 0.0, size: tuple[int, int] = (24, 32)) -> None:
        self.n, self.period_s, self.size = n, period_s, size
        self.i = 0
        self.released = False

    def read(self) -> tuple[bool, Any]:
        if self.period_s:
            time.sleep(self.period_s)
        if self.i >= self.n:
            return False, None
        self.i += 1
        return True, np.full((*self.size, 3), self.i % 256, np.uint8)

    def get(self, prop: int) -> float:
        return 30.0

    def release(self) -> None:
        self.released = True


class FakeEngine:
    """Returns the frames unchanged; remembers what it was asked to do; can raise on a given call."""

    def __init__(self, delay_s: float = 0.0, interrupt_on: int | None = None) -> None:
        self.calls: list[tuple[int, Any, float, bool]] = []
        self.delay_s, self.interrupt_on = delay_s, interrupt_on

    def stylize(self, frames: np.ndarray, code: Any, alpha: float, preserve_color: bool) -> np.ndarray:
        self.calls.append((int(frames[0, 0, 0, 0]), code, alpha, preserve_color))
        if self.interrupt_on is not None and len(self.calls) == self.interrupt_on:
            raise KeyboardInterrupt
        time.sleep(self.delay_s)
        return frames.copy()


class FakeWindow:
    """Feeds scripted keys, one per shown frame (polls while waiting for a frame get none)."""

    def __init__(self, keys: str) -> None:
        self.keys = [ord(k) for k in keys]
        self.shown: list[np.ndarray] = []
        self.closed_by_user = False
        self._fresh = False

    def show(self, rgb: np.ndarray) -> None:
        self.shown.append(rgb)
        self._fresh = True

    def poll(self, delay_ms: int = 1) -> int:
        fresh, self._fresh = self._fresh, False
        return self.keys.pop(0) if fresh and self.keys else -1

    def closed(self) -> bool:
        return self.closed_by_user

    def close(self) -> None:
        pass


def start(cap: FakeCap, spec: CameraSpec, lossless: bool = False) -> tuple[LatestFrameCapture, Any]:
    capture = LatestFrameCapture(OpenCVFrames(cap), spec, lossless=lossless).start()
    first = capture.read(timeout=5)
    assert first is not None
    return capture, first


STYLES = [LiveStyle("a", "code-a"), LiveStyle("b", "code-b")]  # type: ignore[arg-type]
CAMERA = CameraSpec(0, "camera 0")


def test_capture_keeps_only_the_newest_frame() -> None:
    cap = FakeCap(200, period_s=0.002)
    capture, first = start(cap, CAMERA)
    seen = [first.number]
    while (frame := capture.read(timeout=2)) is not None:
        seen.append(frame.number)
        time.sleep(0.03)  # a slow consumer
    capture.close()
    assert seen == sorted(seen) and seen[-1] == 200
    assert capture.dropped > 0 and capture.dropped == 200 - len(seen)
    assert capture.ended == "lost"


def test_lossless_file_reading_drops_nothing(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    capture, first = start(FakeCap(40), CameraSpec(str(video), str(video)), lossless=True)
    seen = [first.number]
    while (frame := capture.read(timeout=2)) is not None:
        seen.append(frame.number)
        time.sleep(0.005)
    capture.close()
    assert seen == list(range(1, 41)) and capture.dropped == 0 and capture.ended == "end"


def test_unplugged_camera_stops_cleanly_and_the_recording_plays(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(camera_mod, "STALL_TIMEOUT_S", 0.2)
    capture, first = start(FakeCap(12, period_s=0.01), CAMERA)
    out = tmp_path / "rec.mp4"
    result = run_live(capture, first, FakeEngine(), STYLES, LiveState(n_styles=2),
                      LiveOptions(max_size=None, record=out), notify=lambda msg: None)
    assert result.reason == "lost"
    assert result.recordings == [out]
    assert count_frames(out) == result.stats.frames >= 1


def test_ctrl_c_finalises_the_recording(tmp_path: Path) -> None:
    capture, first = start(FakeCap(100, period_s=0.005), CAMERA)
    out = tmp_path / "rec.mp4"
    result = run_live(capture, first, FakeEngine(interrupt_on=4), STYLES, LiveState(n_styles=2),
                      LiveOptions(max_size=None, record=out), notify=lambda msg: None)
    assert result.reason == "interrupted"
    assert count_frames(out) == 3


def test_keys_switch_styles_alpha_colour_and_write_snapshots_and_recordings(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    capture, first = start(FakeCap(50), CameraSpec(str(video), str(video)), lossless=True)
    engine = FakeEngine()
    # One key per frame: next style, weaker, keep colours, snapshot, record 3 frames, previous, quit.
    window = FakeWindow("n-cs" + "r" + "xx" + "r" + "pq")
    messages: list[str] = []
    result = run_live(capture, first, engine, STYLES, LiveState(n_styles=2), LiveOptions(max_size=None,
                      out_dir=tmp_path), window=window, notify=messages.append)
    assert result.reason == "quit"
    codes = [c[1] for c in engine.calls]
    assert codes[0] == "code-a" and codes[1] == "code-b" and codes[-1] == "code-a"
    assert engine.calls[2][2] == pytest.approx(0.9)  # alpha after '-'
    assert engine.calls[3][3] is True  # colours kept after 'c'
    assert len(result.snapshots) == 1 and result.snapshots[0].suffix == ".png"
    snap = np.asarray(Image.open(result.snapshots[0]))
    assert snap.shape == (24, 32, 3) and snap[0, 0, 0] == 4  # the frame shown when 's' was pressed
    assert len(result.recordings) == 1 and count_frames(result.recordings[0]) == 3
    assert len(window.shown) == len(engine.calls) == 10
    assert any("recorded" in m for m in messages)


def test_closing_the_window_quits() -> None:
    capture, first = start(FakeCap(1000, period_s=0.001), CAMERA)
    window = FakeWindow("")
    window.closed_by_user = True
    result = run_live(capture, first, FakeEngine(), STYLES, LiveState(n_styles=2), LiveOptions(max_size=None),
                      window=window, notify=lambda msg: None)
    assert result.reason == "quit" and result.stats.frames == 1


def test_frame_and_time_limits(tmp_path: Path) -> None:
    capture, first = start(FakeCap(10_000, period_s=0.001), CAMERA)
    result = run_live(capture, first, FakeEngine(), STYLES, LiveState(n_styles=2),
                      LiveOptions(max_size=None, frames=5), notify=lambda msg: None)
    assert result.reason == "frames" and result.stats.frames == 5
    capture, first = start(FakeCap(10_000, period_s=0.001), CAMERA)
    result = run_live(capture, first, FakeEngine(delay_s=0.01), STYLES, LiveState(n_styles=2),
                      LiveOptions(max_size=None, seconds=0.3), notify=lambda msg: None)
    assert result.reason == "seconds" and 1 <= result.stats.frames <= 40


def test_recorder_times_frames_and_leaves_nothing_on_failure(tmp_path: Path) -> None:
    from vstyle.io.recorder import Recorder

    out = tmp_path / "vfr.mp4"
    rec = Recorder(out, fps=30)
    for i, t in enumerate([10.0, 10.1, 10.5, 11.0]):  # uneven capture times, as a slow loop delivers them
        rec.write(np.full((48, 64, 3), 60 * i, np.uint8), t)
    assert rec.close() == out
    import av

    with av.open(str(out)) as container:
        times = [float(f.pts * f.time_base) for f in container.decode(video=0)]
    assert times == pytest.approx([0.0, 0.1, 0.5, 1.0], abs=0.002)

    bad = tmp_path / "bad.mp4"
    rec = Recorder(bad)
    rec.write(np.zeros((48, 64, 3), np.float32))  # the encoder thread fails on this
    with pytest.raises(Exception):  # noqa: B017 - whatever the encoder raised must reach the caller
        rec.close()
    assert list(tmp_path.iterdir()) == [out]
    assert Recorder(tmp_path / "empty.mp4").close() is None
    assert list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_stopping_with_a_signal_finalises_the_recording(sig: str, tmp_path: Path, example_clip: Path,
                                                        model_file: Path, style: Path) -> None:
    import signal

    out = tmp_path / "rec.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "vstyle", "live", "--camera",
                             str(example_clip), "--no-window", "--record", str(out),
                             "--model", str(model_file), "--style", str(style), "--max-size", "64"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        # The temporary file appears once the first frame is being encoded.
        while not any(tmp_path.glob(".rec.*partial*")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "interrupted" in err
    assert count_frames(out) >= 1
    assert not any(tmp_path.glob(".rec.*partial*"))


def test_a_file_plays_as_vstyle_run_reads_it(tmp_path: Path) -> None:
    """``--camera FILE`` goes through the reader ``vstyle run`` uses: an HLG clip's white is white, an
    interlaced clip has no combs, and a variable-rate clip keeps its own timestamps (through OpenCV
    they were frame number ÷ rate, so such a clip played at the wrong pace)."""
    from video_helpers import comb_energy, flat_planes, make_clip, make_interlaced_clip, make_tagged_clip

    def frames(path: Path) -> list[Any]:
        capture, first = camera_mod.open_camera(CameraSpec(str(path), str(path)), lossless=True)
        got = [first]
        while (frame := capture.read(timeout=5)) is not None:
            got.append(frame)
        capture.close()
        assert capture.ended == "end"
        return got

    assert frames(make_tagged_clip(tmp_path / "hlg.mp4", flat_planes(0.75), 18))[0].image.min() >= 245
    assert max(comb_energy(f.image) for f in frames(make_interlaced_clip(tmp_path / "i.mp4"))) < 5
    vfr = frames(make_clip(tmp_path / "vfr.mp4", pts=[0, 100, 300, 350, 600]))
    assert [round(f.pts, 3) for f in vfr] == [0.0, 0.1, 0.3, 0.35, 0.6]
    assert [f.number for f in vfr] == [1, 2, 3, 4, 5]


def test_a_slow_first_frame_of_a_file_is_waited_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An HDR file's first frame takes seconds (FFmpeg builds its colour tables); a camera's patience
    would call such a file unreadable."""
    from video_helpers import flat_planes, make_tagged_clip

    monkeypatch.setattr(camera_mod, "FIRST_FRAME_TIMEOUT_S", 0.001)
    clip = make_tagged_clip(tmp_path / "hlg.mp4", flat_planes(0.75), 18)
    capture, first = camera_mod.open_camera(CameraSpec(str(clip), str(clip)), lossless=True)
    capture.close()
    assert first.image.min() >= 245
