"""``vstyle batch --ray``: the local batch's outputs on a local Ray cluster (2 CPUs), long videos in
keyframe segments joined exactly, a killed worker replaced, Ctrl-C leaving nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clitools import assert_one_line_error
from conftest import ROOT
from video_helpers import facts, make_clip, make_mixed_folder, run_cli

needs_ray = pytest.mark.skipif(subprocess.run([sys.executable, "-c", "import ray"]).returncode != 0,
                               reason="Ray is not installed (pip install -e '.[cluster]')")
#: 2 workers with one CPU each: the CI machine's 2 cores.
RAY = ("--ray", "--workers", "2", "--threads", "1")


def _decoded(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in c.decode(video=0)]


def _audio_packets(path: Path) -> list[tuple[int, int]]:
    import av

    with av.open(str(path)) as c:
        return [(p.pts, p.size) for p in c.demux(audio=0) if p.pts is not None]


def _files(folder: Path) -> list[str]:
    """Everything under ``folder`` but the batch's record of output names (kept by design)."""
    from vstyle.jobs.batch import NAMES_FILE

    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.name != NAMES_FILE)


def _start(*args: str | Path) -> subprocess.Popen:
    """``vstyle ARGS`` in its own session (so a signal can go to its whole process group, as Ctrl-C does)."""
    return subprocess.Popen([sys.executable, "-m", "vstyle", *map(str, args)], cwd=ROOT, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _wait_for(pattern: str, folder: Path, p: subprocess.Popen, timeout: float = 240) -> None:
    """Wait until a file matching ``pattern`` exists under ``folder`` (a segment being written)."""
    t0 = time.monotonic()
    while not list(folder.glob(pattern)):
        assert p.poll() is None, p.stderr.read() if p.stderr else ""
        assert time.monotonic() - t0 < timeout, "no segment was started"
        time.sleep(0.05)


@needs_ray
def test_ray_batch_equals_local_batch(tmp_path: Path, example_clip: Path, tiny_model: Path,
                                      style_image: Path) -> None:
    """Mixed folder: same outputs and report as the local batch; a 5 s clip in 5 keyframe segments joins
    to the input's frames, timestamps and duration with the audio in sync; a re-run skips."""
    src = make_mixed_folder(tmp_path / "in", example_clip)
    make_clip(src / "long.mp4", width=64, height=48, frames=60, fps=12, audio=True, gop=12)
    common = ["--style", style_image, "--model", tiny_model, "--recursive", "--max-size", "64", "--json"]
    local = run_cli("batch", src, tmp_path / "local", *common, "--threads", "1")
    cluster = run_cli("batch", src, tmp_path / "ray", *common, *RAY, "--segment-seconds", "1")
    assert local.returncode == 1 and cluster.returncode == 1, cluster.stderr
    a, b = json.loads(local.stdout), json.loads(cluster.stdout)
    assert b["ray"]["segmented"] == {str(src / "long.mp4"): 5}
    def report(summary: dict, out: Path) -> list[tuple]:
        return [(f["file"], Path(f["output"]).relative_to(out), f["kind"], f["status"], f["reason"])
                for f in summary["files"]]

    assert report(a, tmp_path / "local") == report(b, tmp_path / "ray")
    assert [f["file"] for f in b["files"] if f["status"] == "failed"] == [str(src / "broken.mp4")]
    assert _files(tmp_path / "local") == _files(tmp_path / "ray")  # no segments or partial files left
    for image in ("photo0.jpg", "photo1.jpg", "sub/flat.png"):
        assert np.array_equal(np.asarray(Image.open(tmp_path / "local" / image)),
                              np.asarray(Image.open(tmp_path / "ray" / image)))
    for video, source in (("clip.mp4", "clip.mp4"), ("sub/clip.mp4", "sub/clip.mkv"), ("long.mp4", "long.mp4")):
        want, got = facts(src / source), facts(tmp_path / "ray" / video)
        assert (got.frames, got.times, got.video_seconds) == (want.frames, want.times, want.video_seconds)
        frames_local, frames_ray = _decoded(tmp_path / "local" / video), _decoded(tmp_path / "ray" / video)
        assert max(np.abs(x - y).mean() for x, y in zip(frames_local, frames_ray)) < 2.0  # encoder tolerance
    long_in, long_out = facts(src / "long.mp4"), facts(tmp_path / "ray" / "long.mp4")
    assert long_out.audio_codec == "aac" and long_out.audio_seconds == pytest.approx(long_in.audio_seconds)
    assert _audio_packets(tmp_path / "ray" / "long.mp4") == _audio_packets(tmp_path / "local" / "long.mp4")

    again = run_cli("batch", src, tmp_path / "ray", *common, *RAY)
    assert again.returncode == 1, again.stderr
    summary = json.loads(again.stdout)
    assert (summary["ok"], summary["skipped"], summary["failed"]) == (0, 6, 1)


@needs_ray
@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="finds the worker processes in /proc")
def test_ray_batch_survives_a_killed_worker(tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    """SIGKILL one worker while it writes a segment: it is replaced, the segment re-run, the video complete."""
    src = tmp_path / "in"
    src.mkdir()
    make_clip(src / "long.mp4", width=96, height=64, frames=72, fps=12, audio=True, gop=12)
    out = tmp_path / "out"
    p = _start("batch", src, out, "--style", style_image, "--model", tiny_model, *RAY, "--segment-seconds", "2")
    _wait_for(".vstyle-segments/*/.*.partial.mp4", out, p)
    workers = [pid for pid in _session_processes(p.pid) if _cmdline(pid).startswith(b"ray::StylizeWorker")]
    assert workers
    os.kill(workers[0], signal.SIGKILL)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert "a worker died on long.mp4 segment" in err and "replaced it" in err
    want, got = facts(src / "long.mp4"), facts(out / "long.mp4")
    assert (got.frames, got.times, got.video_seconds) == (want.frames, want.times, want.video_seconds)
    assert _files(out) == ["long.mp4"]


@needs_ray
def test_ray_batch_ctrl_c_leaves_nothing_under_final_names(tmp_path: Path, tiny_model: Path,
                                                           style_image: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    make_clip(src / "long.mp4", width=96, height=64, frames=72, fps=12, gop=12)
    out = tmp_path / "out"
    p = _start("batch", src, out, "--style", style_image, "--model", tiny_model, *RAY, "--segment-seconds", "2")
    _wait_for(".vstyle-segments/*/.*.partial.mp4", out, p)
    os.killpg(p.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole process group
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert _files(out) == []


def test_ray_flags_without_ray_installed(tmp_path: Path, style_image: Path) -> None:
    """Without Ray, --ray is one line saying how to install it (exit 2); cluster flags need --ray."""
    hide = tmp_path / "noray"
    hide.mkdir()
    (hide / "ray.py").write_text("raise ImportError('No module named ray')\n")
    (tmp_path / "in").mkdir()
    Image.new("RGB", (40, 30)).save(tmp_path / "in" / "a.png")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hide), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, "-m", "vstyle", "batch", str(tmp_path / "in"), str(tmp_path / "out"),
                        "--style", str(style_image), "--ray"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert "pip install 'vstyle[cluster]'" in assert_one_line_error(r)
    r = run_cli("batch", tmp_path / "in", tmp_path / "out", "--style", style_image, "--workers", "2")
    assert "go with --ray" in assert_one_line_error(r)


def test_node_path_check_says_what_a_node_cannot_see(tmp_path: Path) -> None:
    from vstyle.cluster.worker import check_paths

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(b"x")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".marker").write_bytes(b"")
    ok = (str(tmp_path / "in"), str(tmp_path / "out"), str(tmp_path / "out" / ".marker"),
          str(tmp_path / "in" / "a.png"))
    assert check_paths(*ok) is None
    assert "cannot see IN" in check_paths(str(tmp_path / "elsewhere"), *ok[1:])
    assert "cannot see OUT" in check_paths(ok[0], ok[1], str(tmp_path / "out" / ".other"), ok[3])


def _session_processes(sid: int) -> list[int]:
    """Processes in the session ``sid`` (the batch and the local Ray cluster it started)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _cmdline(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


def test_keyframe_cuts_fall_on_keyframes_inside_the_range(tmp_path: Path) -> None:
    from vstyle.io.video_segments import keyframe_cuts
    from vstyle.io.video_source import probe_video

    clip = make_clip(tmp_path / "k.mp4", width=32, height=32, frames=60, fps=12, gop=12)  # keyframes each 1 s
    assert keyframe_cuts(probe_video(clip), 1.0) == pytest.approx([1, 2, 3, 4])
    assert keyframe_cuts(probe_video(clip), 1.5) == pytest.approx([1, 3, 4])  # at or before 1.5, 3, 4.5
    assert keyframe_cuts(probe_video(clip, 0.5, 2.0), 1.0) == pytest.approx([1])  # range 0.5-2.5 s
    assert keyframe_cuts(probe_video(clip, 0.0, 30.0), 5.0) == []  # a --duration past the end: the file's 5 s


def test_joined_segments_keep_the_recording_date(tmp_path: Path) -> None:
    """A Ray batch stitches a video's pieces back together; the whole keeps the source's date."""
    import av

    from vstyle.io.video_segments import join_segments

    parts = [make_clip(tmp_path / f"p{i}.mp4", frames=3) for i in range(2)]
    dst = tmp_path / "joined.mp4"
    assert join_segments(parts, dst, None, created="2024-05-01T10:00:00.000000Z") == 6
    with av.open(str(dst)) as joined:
        assert joined.metadata.get("creation_time") == "2024-05-01T10:00:00.000000Z"


@needs_ray
def test_unreachable_cluster_is_one_line(tmp_path: Path, style_image: Path) -> None:
    (tmp_path / "in").mkdir()
    Image.new("RGB", (40, 30)).save(tmp_path / "in" / "a.png")
    r = run_cli("batch", tmp_path / "in", tmp_path / "out", "--style", style_image, "--ray", "127.0.0.1:9")
    assert "cannot reach the Ray cluster at 127.0.0.1:9" in assert_one_line_error(r)
