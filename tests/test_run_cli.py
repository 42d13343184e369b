"""``vstyle run`` end to end through the real entry point (subprocess): outputs, errors, Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from clitools import run_vstyle
from conftest import ROOT, SHORT
from video_helpers import facts, make_bad_videos, make_clip, run_cli


def check_stylised_copy(src: Path, out: Path, start: float = 0.0, duration: float | None = None) -> dict:
    """The bars: same frame count and fps, duration within a frame, audio within 50 ms, pixels changed."""
    a, b = facts(src), facts(out)
    n = a.frames
    expect_secs = a.video_seconds
    if duration is not None:
        n = round(duration * a.fps)
        expect_secs = duration
    assert b.frames == n
    assert b.fps == pytest.approx(a.fps, rel=2e-3)
    assert abs(b.video_seconds - expect_secs) <= 1 / a.fps
    if a.audio_codec is not None:
        assert b.audio_codec is not None, "audio stream missing"
        expect_audio = a.audio_seconds if duration is None else duration
        assert abs(b.audio_seconds - expect_audio) <= 0.05
    if duration is None:
        assert np.allclose(b.times, a.times, atol=2e-3)
    # Stylised: far from the input on average (same size here thanks to --keep-size).
    if (a.width, a.height) == (b.width, b.height) and duration is None:
        assert np.abs(b.mean_frame - a.mean_frame).mean() > 10
    return {"frames": (a.frames, b.frames), "fps": (a.fps, b.fps), "video_s": (a.video_seconds, b.video_seconds),
            "audio_s": (a.audio_seconds, b.audio_seconds)}


def test_run_example_clip_keeps_frames_fps_duration_audio(example_clip: Path, example_style: Path, tmp_path: Path,
                                                           tiny_model: Path) -> None:
    src = example_clip
    out = tmp_path / "out.mp4"
    r = run_cli("run", src, "--style", example_style, "--model", tiny_model, "--max-size", "64", "--keep-size",
                "-o", out, "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["frames"] == 72 and summary["output"] == str(out)
    assert summary["codec"] == "libx264" and summary["audio"] == [{"codec": "aac", "mode": "copy"}]
    for key in ("input", "fps_in", "fps_out", "seconds", "model", "device", "backend", "processing_fps"):
        assert key in summary
    assert summary["output_size"] == [640, 360] and summary["processing_size"] == [64, 36]
    check_stylised_copy(src, out)
    assert not list(tmp_path.glob(".*partial*"))


def test_non_square_pixels_are_stylised_and_written_square(tmp_path: Path, tiny_model: Path,
                                                            style_image: Path) -> None:
    """A DVD-like clip (72×48 stored, pixels 32:27 wide) is stylised at the 86×48 a player shows, so the
    strokes are not stretched on screen, and written so; ``--keep-size`` writes the stored geometry back."""
    import av
    from fractions import Fraction

    src = make_clip(tmp_path / "anamorphic.mp4", width=72, height=48, frames=4, sar=Fraction(32, 27))
    for extra, size, sar in (((), [86, 48], None), (("--keep-size",), [72, 48], Fraction(32, 27))):
        out = tmp_path / f"out{len(extra)}.mp4"
        r = run_cli("run", src, "--style", style_image, "--model", tiny_model, "-o", out, "--json", *extra)
        assert r.returncode == 0, r.stderr
        summary = json.loads(r.stdout)
        assert summary["processing_size"] == [86, 48] and summary["output_size"] == size
        with av.open(str(out)) as container:
            written = container.streams.video[0].sample_aspect_ratio
        assert (Fraction(written) if written and written != 1 else None) == sar


def test_the_recording_date_is_kept_and_the_location_is_not(tmp_path: Path, tiny_model: Path,
                                                           style_image: Path) -> None:
    """Photo libraries sort videos by the container's ``creation_time``; the position a phone writes
    (``location``) does not travel with a video made to be shared."""
    import av

    clip = make_clip(tmp_path / "plain.mp4", frames=3)
    src = tmp_path / "dated.mov"
    with av.open(str(clip)) as inp, av.open(str(src), "w") as out:
        out.metadata["creation_time"] = "2024-05-01T10:00:00.000000Z"
        out.metadata["location"] = "+48.8577+002.2950/"
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    dst = tmp_path / "out.mp4"
    r = run_cli("run", src, "--style", style_image, "--model", tiny_model, "-o", dst)
    assert r.returncode == 0, r.stderr
    with av.open(str(dst)) as written:
        assert written.metadata.get("creation_time") == "2024-05-01T10:00:00.000000Z"
        assert "location" not in written.metadata


@pytest.mark.slow
def test_run_big_buck_bunny(shared_data: Path, tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    src = shared_data / "video" / "big_buck_bunny_cut.mp4"
    out = tmp_path / "bbb.mp4"
    segment = ["--duration", "2"] if SHORT else []
    r = run_cli("run", src, "--style", style_image, "--model", tiny_model, "--max-size", "64", "--keep-size",
                "-o", out, *segment)
    assert r.returncode == 0, r.stderr
    check_stylised_copy(src, out, duration=2.0 if SHORT else None)


def test_segment(tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    src = make_clip(tmp_path / "clip.mp4", width=64, height=48, frames=36, fps=12, audio=True)
    out = tmp_path / "seg.mp4"
    r = run_cli("run", src, "--style", style_image, "--model", tiny_model, "--start", "1", "--duration", "1.5",
                "-o", out)
    assert r.returncode == 0, r.stderr
    check_stylised_copy(src, out, start=1.0, duration=1.5)


def test_bad_inputs_fail_with_one_line_and_leave_nothing(example_clip: Path, tmp_path: Path, tiny_model: Path,
                                                          style_image: Path) -> None:
    (tmp_path / "in").mkdir()
    bad = make_bad_videos(tmp_path / "in", example_clip)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for name, path in bad.items():
        out = out_dir / f"{name}.mp4"
        # Small frames: the damage is found by decoding, whatever the size the frames are stylised at.
        r = run_cli("run", path, "--style", style_image, "--model", tiny_model, "-o", out, "--max-size", "64")
        assert r.returncode == 2, (name, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("vstyle: error:"), (name, r.stderr)
        assert "Traceback" not in r.stderr
        assert list(out_dir.iterdir()) == [], name


def test_odd_size_video(tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    src = make_clip(tmp_path / "odd.mkv", width=321, height=241, frames=6, pix_fmt="yuv444p")
    out = tmp_path / "odd.mp4"
    r = run_cli("run", src, "--style", style_image, "--model", tiny_model, "-o", out, "--max-size", "0")
    assert r.returncode == 0, r.stderr
    got = facts(out)
    assert (got.width, got.height, got.frames) == (320, 240, 6)
    assert np.abs(got.mean_frame - facts(src).mean_frame[:240, :320]).mean() > 10


def test_default_name_and_no_overwrite(tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    src = make_clip(tmp_path / "clip.mp4", frames=4)
    args = ["run", src, "--style", style_image, "--model", tiny_model]
    work = tmp_path / "cwd"
    work.mkdir()
    r = run_vstyle(*args, cwd=work)  # default output goes to the current folder
    assert r.returncode == 0, r.stderr
    out = work / f"clip_{style_image.stem}.mp4"
    assert out.is_file() and facts(out).frames == 4
    before = out.read_bytes()
    r = run_vstyle(*args, cwd=work)
    assert r.returncode == 2 and "--overwrite" in r.stderr
    assert out.read_bytes() == before
    r = run_cli(*args, "-o", src, "--overwrite")
    assert r.returncode == 2 and "is the input" in r.stderr
    assert facts(src).frames == 4
    r = run_vstyle(*args, "--overwrite", "--crf", "30", cwd=work)
    assert r.returncode == 0, r.stderr


def test_usage_errors_exit_2(tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    src = make_clip(tmp_path / "clip.mp4", frames=2)
    for extra in (["--crf", "20", "--bitrate", "1M"], ["--size", "big"], ["--start", "x"], ["--codec", "nope"],
                  ["--max-size", "8"], ["-o", tmp_path / "noext"], ["--start", "10"]):
        r = run_cli("run", src, "--style", style_image, "--model", tiny_model, *extra)
        assert r.returncode == 2, (extra, r.stderr)
        assert "Traceback" not in r.stderr
        assert len([line for line in r.stderr.splitlines() if line.strip()]) == 1, (extra, r.stderr)


def test_preset_is_checked_before_any_work(tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    src = make_clip(tmp_path / "clip.mp4", frames=2)
    for extra, says in ((["--preset", "fast", "--codec", "mpeg4"], "--preset is for x264 and x265"),
                        (["--preset", "warp"], "'warp' is not one of")):
        r = run_cli("run", src, "--style", style_image, "--model", tiny_model, *extra)
        assert r.returncode == 2 and says in r.stderr and "Traceback" not in r.stderr, (extra, r.stderr)
    assert not list(tmp_path.glob("clip_*"))


def _interrupt(args: list, watch: str, tmp_path: Path) -> tuple[int, float, str]:
    """Start ``vstyle run``, wait until it is writing frames (a file matching ``watch`` in ``tmp_path``), send
    SIGINT; returns (status, seconds to exit, stderr)."""
    p = subprocess.Popen([sys.executable, "-m", "vstyle", *map(str, args)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.time() + 120
    while not list(tmp_path.glob(watch)) and time.time() < deadline and p.poll() is None:
        time.sleep(0.1)
    time.sleep(2.0)  # some frames stylised and encoded
    assert p.poll() is None, p.communicate()[1]
    t0 = time.perf_counter()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    return p.returncode, time.perf_counter() - t0, err


@pytest.mark.slow
def test_ctrl_c_stops_fast_and_leaves_no_file(tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    src = make_clip(tmp_path / "long.mp4", width=160, height=120, frames=600, fps=24, audio=True)
    out = tmp_path / "out.mp4"
    base = ["run", src, "--style", style_image, "--model", tiny_model, "--max-size", "0", "-o", out]
    status, seconds, err = _interrupt(base, ".out.*partial.mp4", tmp_path)
    assert status == 130, err
    assert seconds < 25, seconds  # stopped at once rather than after the 600 frames (not a speed limit)
    assert not out.exists() and not list(tmp_path.glob("*partial*")) and not list(tmp_path.glob(".*partial*"))
    status, seconds, err = _interrupt(base + ["--keep-partial"], ".out.*partial.mp4", tmp_path)
    assert status == 130, err
    assert not out.exists()
    kept = tmp_path / "out.partial.mp4"
    assert kept.is_file()
    got = facts(kept)  # finalised: it decodes
    assert 0 < got.frames < 600 and got.audio_codec == "aac"


def test_rotated_video_comes_out_upright(tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    src = make_clip(tmp_path / "phone.mp4", width=64, height=48, frames=3, rotation=-90)
    out = tmp_path / "upright.mp4"
    r = run_cli("run", src, "--style", style_image, "--model", tiny_model, "-o", out, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rotation"] == 270
    got = facts(out)
    assert (got.width, got.height) == (48, 64)
    import av

    with av.open(str(out)) as c:
        assert (next(c.decode(video=0)).rotation or 0) == 0
