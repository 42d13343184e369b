"""Faults found by trying the project as a new user would (issue 15, item 4): one test per fault.

Each test failed before its fix. Slow interrupt tests repeat less in short mode (CI=true).
"""

from __future__ import annotations

import json
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from clitools import assert_one_line_error, run_vstyle
from video_helpers import facts, make_clip
from vstyle.errors import VStyleError
from vstyle.io.images import read_image


# ------------------------------------------------------------------ 16-bit and float images


def _gradient(h: int = 48, w: int = 64) -> np.ndarray:
    """0 … 1 from the first pixel to the last."""
    return np.linspace(0.0, 1.0, h * w).reshape(h, w)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_grey_images_are_scaled_not_clipped(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"grey16{suffix}"
    Image.fromarray((_gradient() * 65535).round().astype(np.uint16)).save(path)
    with Image.open(path) as im:
        assert im.mode.startswith("I")  # I;16 (the mode that came out almost white)
    img = read_image(path)
    assert img.dtype == np.uint8 and img.shape == (48, 64, 3)
    assert abs(img.mean() - 127.5) < 1 and img[0, 0].tolist() == [0, 0, 0] and img[-1, -1].tolist() == [255] * 3


def test_float_tiff_is_scaled_from_0_1_and_out_of_range_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "float.tif"
    Image.fromarray(_gradient().astype(np.float32)).save(path)
    with Image.open(path) as im:
        assert im.mode == "F"  # the mode that came out black
    img = read_image(path)
    assert abs(img.mean() - 127.5) < 1 and img[-1, -1].tolist() == [255] * 3
    odd = tmp_path / "odd.tif"
    Image.fromarray((_gradient() * 1e6 - 5).astype(np.float32)).save(odd)
    with pytest.raises(VStyleError, match="values from") as err:
        read_image(odd)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------ embedded colour profiles


def _s15(v: float) -> bytes:
    return round(v * 65536).to_bytes(4, "big", signed=True)


def _display_p3_icc() -> bytes:
    """A minimal ICC v2 display profile: Display P3's primaries (adapted to D50, as ICC wants) and a
    gamma 2.2 curve, enough for Little CMS to convert from it."""
    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + bytes(4) + _s15(x) + _s15(y) + _s15(z)

    name = b"Test Display P3\0"
    desc = b"desc" + bytes(4) + len(name).to_bytes(4, "big") + name + bytes(4 + 4 + 2 + 1 + 67)
    curve = b"curv" + bytes(4) + (1).to_bytes(4, "big") + round(2.2 * 256).to_bytes(2, "big") + bytes(2)
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(0.5151, 0.2412, -0.0011)),
            (b"gXYZ", xyz(0.2919, 0.6922, 0.0419)), (b"bXYZ", xyz(0.1572, 0.0666, 0.7841)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve), (b"cprt", b"text" + bytes(4) + b"none\0\0\0\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        body += bytes(-len(body) % 4)
        table += sig + (offset + len(data)).to_bytes(4, "big") + len(body).to_bytes(4, "big")
        data += body
    size = offset + len(data)
    header = (size.to_bytes(4, "big") + bytes(4) + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + bytes(12) + b"acsp"
              + bytes(4 + 4 + 4 + 4 + 8 + 4) + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + bytes(4 + 16 + 28))
    return header + len(tags).to_bytes(4, "big") + table + data


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_an_embedded_display_p3_profile_is_converted_to_srgb(tmp_path: Path, suffix: str) -> None:
    """sRGB's pure red, as a Display P3 photo stores it (about 234, 51, 35), is red again once read;
    taken as plain numbers it was a dull orange-red. The same numbers without a profile are kept."""
    p3_red = np.full((32, 48, 3), (234, 51, 35), np.uint8)
    tagged, untagged = tmp_path / f"p3{suffix}", tmp_path / f"plain{suffix}"
    extra: dict[str, Any] = {"quality": 100, "subsampling": 0} if suffix == ".jpg" else {}
    Image.fromarray(p3_red).save(tagged, icc_profile=_display_p3_icc(), **extra)
    Image.fromarray(p3_red).save(untagged, **extra)
    from vstyle.train.data import load_image

    for red in (read_image(tagged).astype(int).mean((0, 1)), load_image(tagged).astype(int).mean((0, 1))):
        assert np.abs(red - (255, 0, 0)).max() <= 12, red
    assert np.abs(read_image(untagged).astype(int).mean((0, 1)) - (234, 51, 35)).max() <= 3


def test_an_srgb_or_unusable_profile_leaves_the_numbers_alone(tmp_path: Path) -> None:
    from PIL import ImageCms

    pixels = np.full((16, 16, 3), (120, 200, 40), np.uint8)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for name, icc in (("srgb.png", srgb), ("junk.png", b"not a profile at all")):
        Image.fromarray(pixels).save(tmp_path / name, icc_profile=icc)
        assert np.array_equal(read_image(tmp_path / name), pixels), name


# ------------------------------------------------------------------ model files with bad metadata


def _bad_model(folder: Path, name: str, meta: str) -> Path:
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.safetensors"
    save_file({"x": torch.zeros(1)}, str(path), metadata={"vstyle": meta})
    return path


@pytest.mark.parametrize("meta", ["{not json", "[1, 2]", '{"arch": 3}'])
def test_bad_model_metadata_is_one_line(tmp_path: Path, meta: str) -> None:
    from vstyle.weights import load_model

    path = _bad_model(tmp_path, "bad", meta)
    with pytest.raises(VStyleError, match="broken vstyle metadata") as err:
        load_model(path)
    assert "\n" not in str(err.value)


def test_one_bad_model_file_does_not_break_listings(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _bad_model(home, "broken", "{not json")
    _bad_model(home, "listed", "[1]")
    env = {"VSTYLE_HOME": str(home)}
    for args in (["weights", "list", "--json"], ["info", "--json"]):
        proc = run_vstyle(*args, env=env)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        notes = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(notes) == 2 and all(n.startswith("vstyle: note: skipped") for n in notes), proc.stderr
        data = json.loads(proc.stdout)
        assert not any("broken" in m["path"] or "listed" in m["path"] for m in data["models"])
    line = assert_one_line_error(run_vstyle("weights", "show", "broken", env=env))
    assert "broken vstyle metadata" in line


# ------------------------------------------------------------------ containers and audio


def _copy_through(src: Path, dst: Path, **writer_kw: Any) -> Any:
    """Decode ``src`` and write it to ``dst`` unchanged, audio included (the I/O path without a model)."""
    from vstyle.io.video_sink import VideoWriter
    from vstyle.io.video_source import VideoReader, probe_video

    info = probe_video(src)
    with VideoReader(info) as reader, VideoWriter(dst, info.width, info.height, info.fps, info.time_base,
                                                  audio_from=info, **writer_kw) as writer:
        for f in reader.frames():
            writer.write(f.image, f.pts, f.duration)
    return writer


@pytest.fixture(scope="module")
def opus_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1 s WebM clip with Opus audio."""
    d = tmp_path_factory.mktemp("opus")
    src = make_clip(d / "aac.mp4", frames=12, fps=12, audio=True)
    out = d / "opus.webm"
    assert _copy_through(src, out).describe()["audio"] == [{"codec": "opus", "mode": "reencode"}]
    return out


@pytest.mark.parametrize("suffix, video, audio, mode", [(".mov", "h264", "aac", "reencode"),
                                                         (".ogv", "vp8", "opus", "copy")])
def test_opus_into_mov_and_ogv_is_written(opus_clip: Path, tmp_path: Path, suffix: str, video: str, audio: str,
                                          mode: str) -> None:
    out = tmp_path / f"out{suffix}"
    writer = _copy_through(opus_clip, out)
    assert writer.describe()["audio"][0]["mode"] == mode
    got = facts(out)
    assert got.frames == 12 and got.audio_codec == audio
    import av

    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == video


def test_header_errors_name_the_users_file_not_the_temporary_one(opus_clip: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import vstyle.io.video_audio as video_audio

    # Pretend MOV takes Opus as it is, so the muxer refuses it when the header is written.
    monkeypatch.setattr(video_audio, "container_accepts", lambda fmt, add: True)
    with pytest.raises(VStyleError) as err:
        _copy_through(opus_clip, tmp_path / ".out.partial.mov", name=tmp_path / "out.mov")
    assert str(tmp_path / "out.mov") in str(err.value) and "partial" not in str(err.value)


def test_gif_output_drops_audio_with_a_note(example_clip: Path, tmp_path: Path, tiny_model: Path,
                                            style_image: Path) -> None:
    out = tmp_path / "out.gif"
    proc = run_vstyle("run", example_clip, "--style", style_image, "--model", tiny_model, "--max-size", "32",
                      "--duration", "0.5", "-o", out, "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "out.gif: .gif files cannot hold audio" in proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["audio"] == [] and summary["notes"]
    got = facts(out)
    assert got.frames == 12 and got.audio_codec is None


# ------------------------------------------------------------------ image: sizes and output names


@pytest.fixture(scope="module")
def big_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (90, 200, 3), dtype=np.uint8)).save(path)
    return path


def test_image_max_size_0_is_full_size_and_keep_size_scales_back(big_photo: Path, tmp_path: Path,
                                                                 tiny_model: Path, style_image: Path) -> None:
    base = ["image", big_photo, "--style", style_image, "--model", tiny_model, "--json"]
    proc = run_vstyle(*base, "--max-size", "0", "-o", tmp_path / "full.png")
    assert proc.returncode == 0, proc.stderr
    assert np.asarray(Image.open(tmp_path / "full.png")).shape == (90, 200, 3)
    proc = run_vstyle(*base, "--max-size", "64", "--keep-size", "-o", tmp_path / "kept.png")
    assert proc.returncode == 0, proc.stderr
    assert np.asarray(Image.open(tmp_path / "kept.png")).shape == (90, 200, 3)
    proc = run_vstyle(*base, "--max-size", "64", "-o", tmp_path / "small.png")
    assert proc.returncode == 0, proc.stderr
    assert np.asarray(Image.open(tmp_path / "small.png")).shape == (29, 64, 3)
    line = assert_one_line_error(run_vstyle(*base, "--max-size", "8", "-o", tmp_path / "x.png"))
    assert "0 (full size) or at least 16" in line


def test_several_images_into_a_file_name_is_refused(big_photo: Path, tmp_path: Path, tiny_model: Path,
                                                    style_image: Path) -> None:
    proc = run_vstyle("image", big_photo, style_image, "--style", style_image, "--model", tiny_model,
                      "-o", tmp_path / "r4.jpg")
    assert "several inputs" in assert_one_line_error(proc)
    assert not (tmp_path / "r4.jpg").exists()


# ------------------------------------------------------------------ batch: folders


def test_batch_into_its_own_input_folder_is_refused(tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    Image.new("RGB", (40, 30), (10, 200, 90)).save(src / "sub" / "a.png")
    for out in (src, tmp_path):
        proc = run_vstyle("batch", src, out, "--style", style_image, "--model", tiny_model, "-r")
        line = assert_one_line_error(proc)
        assert "separate output folder" in line and "no images" not in line


def test_batch_into_an_unwritable_folder_is_one_early_error(tmp_path: Path, tiny_model: Path,
                                                            style_image: Path) -> None:
    import os

    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        Image.new("RGB", (40, 30), (10, 20 * i, 90)).save(src / f"a{i}.png")
    if os.geteuid() == 0:  # root may write anywhere chmod allows; kernel filesystems refuse everyone
        cases = [Path("/sys/vstyle-out"), Path("/proc")]
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        cases = [locked / "out", locked]
    for out in cases:
        proc = run_vstyle("batch", src, out, "--style", style_image, "--model", tiny_model)
        line = assert_one_line_error(proc)
        assert str(out) in line and "PermissionError" not in line


# ------------------------------------------------------------------ pickle refusal


class _Payload:
    """Unpickling this would run a shell command."""

    def __reduce__(self) -> tuple:
        import os

        return (os.system, ("echo pwned",))


@pytest.mark.parametrize("protocol", [2, 4])
def test_pickle_refusal_is_one_whole_line_without_torch_warnings(tmp_path: Path, protocol: int) -> None:
    import pickle

    evil = tmp_path / f"evil{protocol}.pth"
    with open(evil, "wb") as f:
        pickle.dump({"a": _Payload()}, f, protocol=protocol)
    proc = run_vstyle("weights", "import", "--vgg", evil, "--decoder", evil, "--sct", evil, "--name", "x",
                      env={"VSTYLE_HOME": str(tmp_path / "home")})
    line = assert_one_line_error(proc)  # no UserWarning lines before it
    assert "pwned" not in proc.stdout
    assert "refused" in line and line.endswith("never unpickles other Python objects"), line
    assert "Re-running" not in line


# ------------------------------------------------------------------ 80-column displays


def test_train_progress_keeps_step_and_eta_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    import vstyle.cli.train_progress as train_progress

    buf = io.StringIO()
    monkeypatch.setattr(train_progress, "stderr", Console(file=buf, width=80, force_terminal=True, color_system=None))
    reporter = train_progress.RichReporter()
    reporter.start(0, 7100, {})
    # The shipped recipe's eight columns, about 100 characters on one line; with these values a plain
    # wrap at 80 columns would put "identity" at the end of one line and its value on the next.
    losses = {"total": 3.3, "content": 0.116069, "style": 8.9, "ccpl": 7.18462, "teacher_feat": 16.9218,
              "identity": 0.150496, "identity_feat": 0.0740744}
    for step in range(1200, 1230):
        reporter.step(step, losses, 9.68e-5)
    reporter.stop()
    last = buf.getvalue().split("train ")[-1]  # the final frame
    assert "1229/7100" in last and "ETA 0:" in last, last
    lines = last.splitlines()
    assert all(len(line.rstrip()) <= 80 for line in lines), last
    for pair in [*(f"{k} {v:.4g}" for k, v in losses.items()), "lr 9.68e-05"]:  # never split from its value
        assert any(pair in line for line in lines), (pair, last)


# ------------------------------------------------------------------ Ctrl-C and SIGTERM at random moments


def _signal_at_random_moments(runs: list[tuple[list[Any], Path, float]], sig: int) -> list[tuple[int, str]]:
    """Start every ``vstyle ARGS`` in its folder at once and send each ``sig`` after its delay (seconds from
    the start); (exit status, stderr) of each. Side by side, the tries take the longest delay, not their sum."""
    import signal
    import subprocess
    import sys
    import time

    def default_signals() -> None:
        # A shell's background job (nohup, `cmd &` in a script) starts with SIGINT ignored, and an
        # ignored signal stays ignored across exec: give vstyle what a terminal would.
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_DFL)

    procs, started = [], []
    try:
        for args, cwd, _ in runs:
            procs.append(subprocess.Popen([sys.executable, "-m", "vstyle", *map(str, args)], cwd=cwd,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                          preexec_fn=default_signals))
            started.append(time.monotonic())
        for i in sorted(range(len(runs)), key=lambda i: runs[i][2]):
            time.sleep(max(0.0, started[i] + runs[i][2] - time.monotonic()))
            procs[i].send_signal(sig)
        errs = [proc.communicate(timeout=120)[1] for proc in procs]
        return [(proc.returncode, err) for proc, err in zip(procs, errs)]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


def test_ctrl_c_caught_inside_string_code_still_exits_130(tmp_path: Path) -> None:
    """A Ctrl-C that lands while ``exec``/``eval`` runs a string (a dataclass being defined during an
    import) and is then caught by the CLI exits 130 under ``python -m``, not by SIGINT (-2)."""
    import subprocess
    import sys

    (tmp_path / "ctrl_c_probe.py").write_text(
        "import vstyle.cli.main as m\n"
        "def interrupted_in_string_code(**kwargs):\n"
        "    exec('raise KeyboardInterrupt')\n"
        "m.cli.main = interrupted_in_string_code\n"
        "m.main()\n")
    proc = subprocess.run([sys.executable, "-m", "ctrl_c_probe"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert (proc.returncode, proc.stderr.strip()) == (130, "vstyle: interrupted"), proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", ["run", "batch"])
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_signals_at_random_moments_exit_cleanly(command: str, signame: str, tmp_path: Path, example_clip: Path,
                                                tiny_model: Path, style_image: Path) -> None:
    """Ctrl-C (130) and SIGTERM (143) anywhere, from model loading to the last frame: never an abort
    (134), never a traceback, nothing hidden left behind; a run that had already finished exits 0."""
    import random
    import signal

    from conftest import SHORT
    from vstyle.jobs.batch import NAMES_FILE

    sig = getattr(signal, signame)
    rng = random.Random(f"{command}-{signame}")
    expected = {"SIGINT": (130, "vstyle: interrupted"), "SIGTERM": (143, "vstyle: terminated")}[signame]
    tries, early = 4 if SHORT else 20, 0
    runs = []
    for i in range(tries):
        work = tmp_path / f"try{i}"
        (work / "in").mkdir(parents=True)
        if command == "run":
            args = ["run", example_clip, "--style", style_image, "--model", tiny_model, "--max-size", "0",
                    "-o", work / "out.mp4"]
        else:
            for k in range(2):
                (work / "in" / f"clip{k}.mp4").symlink_to(example_clip)
            Image.new("RGB", (64, 48), (200, 30, 90)).save(work / "in" / "flat.png")
            args = ["batch", work / "in", work / "out", "--style", style_image, "--model", tiny_model,
                    "--max-size", "0"]
        # From while the command's modules load to about the end of the work (only the interpreter's own
        # start-up, before any vstyle code, keeps Python's defaults).
        runs.append((args, work, rng.uniform(0.2, 8.0)))
    # Four at a time, side by side (the CI machine's two cores stay busy while the others wait).
    results = [r for k in range(0, tries, 4) for r in _signal_at_random_moments(runs[k:k + 4], sig)]
    for i, (status, err) in enumerate(results):
        work = tmp_path / f"try{i}"
        hidden = [p for p in work.rglob(".*") if p.name != NAMES_FILE]  # the batch's record of names is kept
        assert not hidden, (i, hidden)
        if _in_interpreter_start_up(status, err, sig):  # on a loaded machine start-up can outlast the delay
            early += 1
            continue
        assert "Traceback" not in err and "terminate called" not in err, (i, err)
        if status == 0:  # the signal came after the work was done
            continue
        assert status == expected[0], (i, status, err)
        assert err.strip().splitlines()[-1] == expected[1], (i, err)
        if command == "run" and (work / "out.mp4").exists():  # only a finished output gets its name
            assert facts(work / "out.mp4").frames == 72, i
    assert early <= tries // 4, f"{early} of {tries} signals came before vstyle started: too few tries tested"


def _in_interpreter_start_up(status: int, err: str, sig: int) -> bool:
    """The signal came before any vstyle code ran, the one moment vstyle cannot handle it: the process
    died of it before Python set up its handlers, or Python printed its own KeyboardInterrupt traceback
    from its site set-up and bootstrap (no frame in the vstyle package)."""
    import vstyle

    if status == -sig and not err.strip():
        return True
    package = str(Path(vstyle.__file__).parent)
    frames = [line for line in err.splitlines() if line.lstrip().startswith('File "')]
    return bool(frames) and not any(package in line for line in frames)


# ------------------------------------------------------------------ smaller faults


def test_saved_models_get_the_usual_file_mode(tmp_path: Path) -> None:
    import os

    from vstyle.models import build
    from vstyle.weights import save_model

    mask = os.umask(0o022)
    try:
        path = save_model(build("sctnet", {"mode": "photo"}), tmp_path / "m.safetensors")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644  # was 0600: unreadable for other users of a shared model


def test_crf_above_the_encoders_maximum_is_refused(tmp_path: Path) -> None:
    from fractions import Fraction

    from vstyle.io.video_sink import VideoWriter

    with pytest.raises(VStyleError, match="from 0 to 51"):
        VideoWriter(tmp_path / "x.mp4", 64, 48, Fraction(24), Fraction(1, 24), codec="libx264", crf=60)
    VideoWriter(tmp_path / "y.webm", 64, 48, Fraction(24), Fraction(1, 24), codec="vp9", crf=60).close()


def test_x265_keeps_quiet(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from vstyle.io.video_sink import pick_encoder

    try:
        pick_encoder("libx265")
    except VStyleError:
        pytest.skip("no libx265 in this FFmpeg build")
    src = make_clip(tmp_path / "a.mp4", frames=4)
    capfd.readouterr()
    _copy_through(src, tmp_path / "h.mp4", codec="libx265")
    assert "x265 [" not in capfd.readouterr().err


def test_avi_output_has_the_sources_frame_rate(tmp_path: Path) -> None:
    import av

    src = make_clip(tmp_path / "a.mp4", frames=12, fps=12)  # MP4 time base 1/12288
    _copy_through(src, tmp_path / "a.avi")
    with av.open(str(tmp_path / "a.avi")) as c:
        assert float(c.streams.video[0].average_rate) == pytest.approx(12, rel=0.01)  # was 600+
    assert facts(tmp_path / "a.avi").frames == 12


def test_info_lists_architectures() -> None:
    proc = run_vstyle("info", "--json")
    assert proc.returncode == 0, proc.stderr
    assert {"sctnet", "sctnet-mobile"} <= set(json.loads(proc.stdout)["architectures"])


def test_model_folder_is_named_as_a_folder(tmp_path: Path) -> None:
    from vstyle.weights import resolve

    with pytest.raises(VStyleError, match="is a folder"):
        resolve(str(tmp_path))


def test_counts_are_singular_for_one() -> None:
    from vstyle.errors import counted
    from vstyle.live.stats import Snapshot

    assert counted(1, "frame") == "1 frame" and counted(2, "frame") == "2 frames"
    fields = {f: 0 for f in Snapshot.__dataclass_fields__}
    assert Snapshot(**{**fields, "frames": 1}).line().startswith("1 frame in")


def test_nan_weights_are_refused(tmp_path: Path) -> None:
    import torch

    from vstyle.models import build
    from vstyle.weights import load_model, save_model

    model = build("sctnet", {"mode": "photo"})
    with torch.no_grad():
        next(model.decoder.parameters()).fill_(float("nan"))
    path = save_model(model, tmp_path / "nan.safetensors")
    with pytest.raises(VStyleError, match="NaN or infinite"):
        load_model(path)


def test_live_without_window_or_sink_warns(example_clip: Path, tiny_model: Path, style_image: Path) -> None:
    proc = run_vstyle("live", "--camera", example_clip, "--no-window", "--frames", "2", "--model", tiny_model,
                      "--style", style_image, "--max-size", "64")
    assert proc.returncode == 0, proc.stderr
    assert "--no-window without --record or --virtual-cam" in proc.stderr  # was silent


def test_interrupted_batch_prints_its_summary(tmp_path: Path, tiny_model: Path, style_image: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C during the second of three files: the table and count line still come, then exit 130."""
    import signal
    import sys

    from vstyle.jobs import batch as batch_job  # where the batch job stylises an image
    from vstyle.cli import main

    (tmp_path / "in").mkdir()
    for k in range(3):
        Image.new("RGB", (32, 24), (40 * k, 90, 200)).save(tmp_path / "in" / f"p{k}.png")
    real = batch_job.stylize_image_file
    calls: list[str] = []

    def stop_on_second(engine: Any, code: Any, src: Path, dst: Path, opts: Any) -> None:
        calls.append(src.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(engine, code, src, dst, opts)

    monkeypatch.setattr(batch_job, "stylize_image_file", stop_on_second)
    monkeypatch.setattr(sys, "argv", ["vstyle", "batch", str(tmp_path / "in"), str(tmp_path / "out"),
                                      "--style", str(style_image), "--model", str(tiny_model)])
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(SystemExit) as exit_:
            main.main()
    finally:  # main() ignores late signals on its way out; children of this process must not inherit that
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert exit_.value.code == 130
    err = capsys.readouterr().err
    assert "1 done, 0 skipped, 0 failed, 2 not done (interrupted; run again to resume)" in err, err
    assert "interrupted" in err.splitlines()[-1]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".vstyle-batch-names.json", "p0.png"]


# ------------------------------------------------------------------ click's own complaints


@pytest.mark.parametrize("args, says", [
    (["image", "x.jpg", "--style", "y.jpg", "--alpha", "1.5"], "'--alpha': 1.5 is not in the range"),
    (["run", "--bogus"], "No such option '--bogus'"),
    (["imag"], "No such command 'imag'"),
    (["run"], "Missing argument 'INPUT'"),
])
def test_option_errors_are_one_line_with_the_commands_help(args: list[str], says: str) -> None:
    """A value out of range, an unknown option or command, a missing argument: one line and exit 2,
    naming the help to read (click printed usage, a hint, a blank line and the error)."""
    line = assert_one_line_error(run_vstyle(*args))
    assert line.startswith("vstyle: error: ") and says in line and line.endswith(" --help'"), line


def test_a_bare_command_group_still_shows_its_help() -> None:
    proc = run_vstyle()
    assert proc.returncode == 2 and "[OPTIONS] COMMAND [ARGS]" in proc.stderr and "Commands:" in proc.stderr


# ------------------------------------------------------------------ found by the second fault hunt


@pytest.mark.parametrize("args", [
    ["image", "a.jpg", "--style", "b.jpg", "--alpha", "nan"],
    ["image", "a.jpg", "--style", "b.jpg", "--optimize", "--style-weight", "inf"],
    ["eval", "a.mp4", "--style", "b.jpg", "--ema-weight", "nan"],
    ["run", "a.mp4", "--style", "b.jpg", "--duration", "nan"],
    ["run", "a.mp4", "--style", "b.jpg", "--start", "inf"],
])
def test_nan_and_inf_option_values_are_refused(args: list[str]) -> None:
    """``float()`` takes "nan" and "inf", and range checks let NaN through: they were accepted (a black
    picture, a missing baseline, a whole clip) or crashed (``--start nan``)."""
    line = assert_one_line_error(run_vstyle(*args))
    assert "nan" in line.lower() or "inf" in line.lower(), line


def test_nan_or_overflowing_style_weights_are_refused() -> None:
    from vstyle.jobs.engine import parse_style_spec, read_styles

    for spec in ("a.jpg:nan", "a.jpg:inf", "a.jpg:-inf"):
        with pytest.raises(VStyleError, match="non-negative number"):
            parse_style_spec(spec)
    with pytest.raises(VStyleError, match="too large to blend"):
        read_styles(["a.jpg:1e308", "b.jpg:1e308"])


def test_an_image_past_pillows_pixel_limit_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (100, 100)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # a 100×100 image is then a "decompression bomb"
    with pytest.raises(VStyleError, match="cannot read .*big.png"):
        read_image(path)


def test_outputs_never_replace_a_style_image_or_each_other(tmp_path: Path, tiny_model: Path) -> None:
    (tmp_path / "x1").mkdir()
    (tmp_path / "x2").mkdir()
    (tmp_path / "out").mkdir()
    for folder in ("x1", "x2"):
        Image.new("RGB", (40, 30), (200, 20, 20)).save(tmp_path / folder / "p.png")
    style = tmp_path / "style.png"
    Image.new("RGB", (40, 30), (20, 20, 200)).save(style)
    before = style.read_bytes()
    base = ["--style", style, "--model", tiny_model, "--max-size", "32"]
    line = assert_one_line_error(run_vstyle("image", tmp_path / "x1" / "p.png", *base, "-o", style, "--overwrite"))
    assert "is the input file" in line and style.read_bytes() == before
    line = assert_one_line_error(run_vstyle("image", tmp_path / "x1" / "p.png", tmp_path / "x2" / "p.png", *base,
                                            "-o", tmp_path / "out", "--overwrite"))
    assert "would both be written to" in line
    line = assert_one_line_error(run_vstyle("image", tmp_path / "x1" / "p.png", tmp_path / "x1" / "p.png", *base,
                                            "-o", tmp_path / "out"))
    assert "is given twice" in line
    assert list((tmp_path / "out").iterdir()) == []  # refused before any work, nothing half done


def test_export_onnx_never_replaces_the_model_it_reads(tmp_path: Path, tiny_model: Path) -> None:
    model = tmp_path / "m.safetensors"
    model.write_bytes(tiny_model.read_bytes())
    line = assert_one_line_error(run_vstyle("export-onnx", "--model", model, "-o", model, "--overwrite"))
    assert "ONNX files end in .onnx" in line and model.read_bytes() == tiny_model.read_bytes()
    onnx_named = tmp_path / "m.onnx"  # a model file under an .onnx name reaches the input check
    onnx_named.write_bytes(tiny_model.read_bytes())
    line = assert_one_line_error(run_vstyle("export-onnx", "--model", onnx_named, "-o", onnx_named, "--overwrite"))
    assert "is the input file" in line and onnx_named.read_bytes() == tiny_model.read_bytes()


def test_training_inputs_that_crashed_are_one_line(tmp_path: Path) -> None:
    from vstyle.train.config import Recipe, RunOptions
    from vstyle.weights.magenta_onnx import load_onnx
    from vstyle.weights.official import load_torch_state_dict

    with pytest.raises(VStyleError, match="'steps' must be a whole number, got 'abc'"):
        RunOptions.from_dict({"steps": "abc"})
    with pytest.raises(VStyleError, match="'lr' must be a finite number"):
        Recipe.from_dict({"lr": float("nan")})
    assert Recipe.from_dict({"lr": 1, "batch": 2}).lr == 1  # an int serves for a float
    text = tmp_path / "text.jpg"
    text.write_text("not a model")
    with pytest.raises(VStyleError, match="not an ONNX graph"):
        load_onnx(text)
    for words in ("hello", "text"):  # torch's weights-only unpickler raised KeyError and IndexError on these
        text.write_text(words + "\n")
        with pytest.raises(VStyleError, match="not a readable torch checkpoint: no pickle or zip data"):
            load_torch_state_dict(text, "VGG")
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes((Path(__file__).parent.parent / "weights" / "default.safetensors").read_bytes()[:100_000])
    with pytest.raises(VStyleError, match="not a readable torch checkpoint"):
        load_torch_state_dict(cut, "VGG")
    in_the_way = tmp_path / "a_file"
    in_the_way.write_text("")
    from vstyle.train.trainer import Trainer

    trainer = Trainer.__new__(Trainer)  # only the run folder's creation is under test
    trainer.run_dir = in_the_way / "run"
    with pytest.raises(VStyleError, match="cannot create the run folder"):
        trainer._lock_run_dir()  # where a run makes its folder (before clearing anything in it)


def test_a_run_that_failed_before_its_first_checkpoint_can_start_again(tmp_path: Path, style_image: Path) -> None:
    """The failed run left config.json, data.json and losses.csv: a fresh start refused the folder ("not
    empty: continue it with --resume") and --resume found no checkpoint, so only --overwrite got out."""
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "broken.jpg").write_text("not an image")
    (tmp_path / "style").mkdir()
    (tmp_path / "style" / "s.png").write_bytes(style_image.read_bytes())
    run = tmp_path / "run"
    args = ["train", "--content", tmp_path / "content", "--style", tmp_path / "style", "--steps", "1", "--out", run]
    for _ in range(2):  # the second start gets as far as the first: the data, not the folder, stops it
        assert "cannot decode training image" in assert_one_line_error(run_vstyle(*args))
    assert (run / "config.json").is_file() and not (run / "checkpoint.pt").exists()
    assert "has no checkpoint to continue from" in assert_one_line_error(run_vstyle("train", "--resume", run))


# ------------------------------------------------------------------ left by the second fault hunt, fixed


@pytest.mark.parametrize("args, says", [
    (["image", "a.jpg", "--style", "b.jpg", "--model", ""], "--model needs a value, got an empty string"),
    (["image", "a.jpg", "--style", "b.jpg", "--model="], "--model needs a value, got an empty string"),
    (["image", "a.jpg", "--style", "b.jpg", "-o", ""], "-o needs a value, got an empty string"),
    (["image", "", "--style", "b.jpg"], "an argument is an empty string"),
    (["image", "--style", "b.jpg", "--", ""], "an argument is an empty string"),
    (["train", "export", "", "--name", "x"], "an argument is an empty string"),
    (["train", "--scale-range", "0.5", ""], "--scale-range needs a value, got an empty string"),
])
def test_empty_values_are_refused(args: list[str], says: str) -> None:
    """``--model ''`` ran the default model and ``-o ''`` wrote beside the input, both without a word;
    an empty input said ". is a folder"."""
    line = assert_one_line_error(run_vstyle(*args))
    assert says in line and line.endswith(" --help'"), line


def test_a_refused_codec_names_containers_that_hold_it(tmp_path: Path) -> None:
    """The message suggested .mp4 whatever the codec and the file (even for an .mp4)."""
    from fractions import Fraction

    from vstyle.io.video_sink import VideoWriter

    with pytest.raises(VStyleError) as refused:
        VideoWriter(tmp_path / "v.webm", 64, 48, Fraction(24), Fraction(1, 24), codec="mpeg4")
    message = str(refused.value)
    # A library caller sees the option's key; the CLI spells it --codec.
    assert message == ".webm files cannot hold mpeg4 video; pass another codec or write .mp4, .mkv, .mov or .avi"
    assert list(tmp_path.iterdir()) == []


def test_mjpeg_is_written_in_full_range(tmp_path: Path) -> None:
    """MJPEG takes only full-range YUV: every container refused it (and suggested .mp4)."""
    from fractions import Fraction

    from vstyle.io.video_sink import VideoWriter
    from vstyle.io.video_source import VideoReader, probe_video

    image = np.zeros((48, 64, 3), np.uint8)
    image[:, 32:] = 255
    path = tmp_path / "v.mkv"
    with VideoWriter(path, 64, 48, Fraction(24), Fraction(1, 24), codec="mjpeg", bitrate=4_000_000) as writer:
        for pts in range(2):
            writer.write(image, pts)
    assert writer.describe()["pix_fmt"] == "yuvj420p"
    with VideoReader(probe_video(path), (64, 48)) as reader:
        back = next(reader.frames()).image
    # Black and white come back as black and white, greys as the same greys (a limited/full mix-up lifts
    # or crushes the ends by 16 and moves 64 and 192 by 8).
    assert back[:, :24].max() <= 4 and back[:, 40:].min() >= 251
    image[:, :32], image[:, 32:] = 64, 192
    with VideoWriter(path, 64, 48, Fraction(24), Fraction(1, 24), codec="mjpeg", bitrate=4_000_000) as writer:
        writer.write(image, 0)
    with VideoReader(probe_video(path), (64, 48)) as reader:
        back = next(reader.frames()).image.astype(int)
    assert abs(back[:, 4:20] - 64).max() <= 2 and abs(back[:, 44:60] - 192).max() <= 2


def test_a_style_too_thin_at_the_style_size_says_which_size_works(tiny_model: Path) -> None:
    """It said "style image is 33×21 px; this model needs at least 33 px per side" for --style-size 33."""
    from vstyle.engine import Engine
    from vstyle.weights import load_model

    engine = Engine(load_model(str(tiny_model)), device="cpu", backend="torch")
    need = engine.model.min_style_side
    painting = np.full((480, 768, 3), 128, np.uint8)
    enough = -(-need * 768 // 480)
    with pytest.raises(VStyleError, match=rf"768×480 px is {need}×\d+ at style_size {need}; .* pass style_size "
                                          rf"{enough} or more"):
        engine.style_code(painting, max_size=need)
    engine.style_code(painting, max_size=enough)  # the size it names is enough
    with pytest.raises(VStyleError, match="crop it to a less elongated shape"):  # past the largest style size
        engine.style_code(np.full((10, 5_000, 3), 128, np.uint8), max_size=None)
    with pytest.raises(VStyleError, match=rf"style image is 768×{need - 1} px; this model needs at least {need}"):
        engine.style_code(painting[: need - 1], max_size=None)


# ------------------------------------------------------------------ found by the third fault hunt


def test_batch_rerun_keeps_each_files_output_name(tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    """Two inputs mapping to one name are told apart by order: P.PNG, added before a rerun, took P.png's
    output name, was reported "skipped: output exists" and never stylised, while P.png was stylised
    again as P_png.png."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    Image.new("RGB", (40, 30), (10, 200, 90)).save(src / "P.png")
    args = ["batch", src, out, "--style", style_image, "--model", tiny_model, "--max-size", "32", "--json"]
    first = run_vstyle(*args)
    assert first.returncode == 0, first.stderr
    Image.new("RGB", (40, 30), (200, 10, 90)).save(src / "P.PNG")
    second = run_vstyle(*args)
    assert second.returncode == 0, second.stderr
    files = {Path(f["file"]).name: f for f in json.loads(second.stdout)["files"]}
    assert (Path(files["P.png"]["output"]).name, files["P.png"]["status"]) == ("P.png", "skipped")
    assert (Path(files["P.PNG"]["output"]).name, files["P.PNG"]["status"]) == ("P_png.png", "ok")
    assert json.loads((out / ".vstyle-batch-names.json").read_text()) == {"P.PNG": "P_png.png", "P.png": "P.png"}


def test_a_third_input_of_one_name_gets_a_name_of_its_own() -> None:
    from vstyle.jobs.naming import mirrored_output

    taken: set[Path] = set()
    names = [mirrored_output(Path(n), Path("o"), "image", taken).name for n in ("a.BMP", "a.Bmp", "a.bmp")]
    assert names == ["a.bmp", "a_bmp.bmp", "a_bmp_2.bmp"]


def test_output_folders_that_cannot_be_made_are_one_line(tmp_path: Path, tiny_model: Path, style_image: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """``image -o NEW/`` and ``weights import`` ended in NotADirectoryError or FileExistsError tracebacks
    where the folder could not be made (a file in the way, as here, or no permission)."""
    from vstyle.weights import model_output

    photo = tmp_path / "a.png"
    Image.new("RGB", (40, 30), (10, 200, 90)).save(photo)
    line = assert_one_line_error(run_vstyle("image", photo, "--style", style_image, "--model", tiny_model,
                                            "-o", f"{photo}/sub/"))
    assert line.startswith(f"vstyle: error: cannot create output folder {photo}/sub: "), line
    monkeypatch.setenv("VSTYLE_HOME", str(photo))
    with pytest.raises(VStyleError, match=f"cannot create model folder {photo}: "):
        model_output("mine", None)


def test_images_refused_for_colliding_outputs_leave_no_folder(tmp_path: Path, tiny_model: Path,
                                                              style_image: Path) -> None:
    for folder in ("x1", "x2"):
        (tmp_path / folder).mkdir()
        Image.new("RGB", (40, 30), (200, 20, 20)).save(tmp_path / folder / "p.png")
    line = assert_one_line_error(run_vstyle("image", tmp_path / "x1" / "p.png", tmp_path / "x2" / "p.png",
                                            "--style", style_image, "--model", tiny_model, "-o", tmp_path / "new"))
    assert "would both be written to" in line and not (tmp_path / "new").exists()


@pytest.mark.parametrize("name, output, says", [
    ("default", None, "'default' is a shipped model's name, and model default would load that one"),
    (".", None, "must start with a letter or digit"),
    ("..", None, "must start with a letter or digit"),
    ("mine.safetensors", None, "give the model name without .safetensors: 'mine'"),
    ("mine", "mine.txt", "model files end in .safetensors"),
])
def test_model_names_that_model_lookup_would_never_find_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   name: str, output: str | None, says: str) -> None:
    """``weights import --name default`` wrote a file that ``--model default`` never loads (the shipped one
    is found first); ``.`` and ``..`` wrote ``..safetensors``; ``x.safetensors`` wrote
    ``x.safetensors.safetensors``. One rule now serves ``weights import`` and ``train export``."""
    from vstyle.weights import model_output

    monkeypatch.setenv("VSTYLE_HOME", str(tmp_path))
    with pytest.raises(VStyleError, match=re.escape(says)):
        model_output(name, tmp_path / output if output else None)
    assert model_output("default", tmp_path / "default.safetensors") == tmp_path / "default.safetensors"
    assert list(tmp_path.iterdir()) == []


def test_a_weighted_live_style_says_live_takes_no_weights(example_style: Path) -> None:
    """``live --style a.jpg:0.5`` said "file not found: a.jpg:0.5" of a file that exists."""
    from vstyle.jobs.live import expand_styles

    with pytest.raises(VStyleError, match="live styles take no weight"):
        expand_styles([f"{example_style}:0.5"])
    assert expand_styles([str(example_style)]) == [example_style]


def test_options_the_running_backend_would_ignore_are_refused(tiny_model: Path) -> None:
    """``--engine FILE`` on a run that uses torch on the CPU, and ``--compile`` with ONNX Runtime or int8
    (OpenVINO), were accepted and ignored: the summary said torch and no note said why."""
    from vstyle.engine import Engine
    from vstyle.weights import load_model

    model = load_model(str(tiny_model))
    with pytest.raises(VStyleError, match="engine_path x.engine is a TensorRT engine, .* this run uses torch on cpu"):
        Engine(model, device="cpu", backend="auto", engine_path="x.engine")
    for backend, precision in (("ort", "fp32"), ("auto", "int8")):
        with pytest.raises(VStyleError, match="compile_ is torch.compile, for the torch backend; this run uses"):
            Engine(model, device="cpu", backend=backend, precision=precision, compile=True)


def test_a_folder_batch_cannot_list_is_a_failure_not_nothing(tmp_path: Path, tiny_model: Path,
                                                               style_image: Path) -> None:
    """``batch -r`` passed over a sub-folder it could not list without a word ("all done", exit 0)."""
    import os
    import shutil
    import subprocess
    import sys

    src = tmp_path / "in"
    (src / "locked").mkdir(parents=True)
    Image.new("RGB", (40, 30), (10, 20, 90)).save(src / "a.png")
    Image.new("RGB", (40, 30), (10, 20, 90)).save(src / "locked" / "b.png")
    (src / "locked").chmod(0o000)
    prefix: list[str] = []
    if os.geteuid() == 0:  # root lists any folder unless it gives up the capability to
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
        caps = "-dac_override,-dac_read_search"
        prefix = ["setpriv", "--bounding-set", caps, "--inh-caps", caps, "--"]
    try:
        proc = subprocess.run([*prefix, sys.executable, "-m", "vstyle", "batch", str(src), str(tmp_path / "out"),
                               "--style", str(style_image), "--model", str(tiny_model), "-r", "--max-size", "32",
                               "--json"], capture_output=True, text=True, timeout=300)
    finally:
        (src / "locked").chmod(0o755)
    assert proc.returncode == 1, proc.stderr
    files = {Path(f["file"]).name: f for f in json.loads(proc.stdout)["files"]}
    assert files["a.png"]["status"] == "ok"
    assert (files["locked"]["kind"], files["locked"]["status"]) == ("folder", "failed")
    assert files["locked"]["reason"] == "cannot list: Permission denied"


def test_an_unwritable_cache_is_said_not_claimed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With $VSTYLE_HOME a file or read-only, every run said "exporting ... once (cached as ...)" and
    exported again: nothing was cached. The derived file still serves the run, from a temporary folder."""
    from vstyle.export.onnx_export import store_in_cache
    from vstyle.io.atomic import write_bytes_atomic

    blocked = tmp_path / "a_file"
    blocked.write_text("")
    wanted = blocked / "cache" / "onnx" / "m.onnx"
    got = store_in_cache(wanted, lambda p: write_bytes_atomic(p, b"graph", shared=True), "vstyle-test-")
    assert got != wanted and got.read_bytes() == b"graph"
    assert "note: cannot write the cache (Not a directory" in capsys.readouterr().err
    assert store_in_cache(tmp_path / "c" / "m.onnx", lambda p: write_bytes_atomic(p, b"g"), "x-") == \
        tmp_path / "c" / "m.onnx"


def test_the_temporary_stand_in_for_an_unwritable_cache_goes_when_the_process_ends(tmp_path: Path) -> None:
    """Each run on an unwritable cache left its temporary export behind in the temporary folder."""
    import os
    import subprocess
    import sys

    blocked = tmp_path / "a_file"
    blocked.write_text("")
    code = ("import sys; from pathlib import Path; from vstyle.export.onnx_export import store_in_cache; "
            "p = store_in_cache(Path(sys.argv[1]), lambda p: p.write_bytes(b'g'), 'vstyle-test-'); "
            "assert p.read_bytes() == b'g'; print(p)")
    done = subprocess.run([sys.executable, "-c", code, str(blocked / "onnx" / "m.onnx")], capture_output=True,
                          text=True, env={**os.environ, "TMPDIR": str(tmp_path)}, check=True)
    made = Path(done.stdout.strip())
    assert made.parent.parent == tmp_path and made.name == "m.onnx"
    assert not made.parent.exists()
    # Ctrl-C or SIGTERM ends the CLI with os._exit, which skips atexit: the folder goes all the same.
    interrupted = subprocess.run([sys.executable, "-c", code + "; import sys; sys.stdout.flush(); "
                                  "from vstyle.cli.main import exit_interrupted; exit_interrupted(130)",
                                  str(blocked / "onnx" / "m.onnx")], capture_output=True, text=True,
                                 env={**os.environ, "TMPDIR": str(tmp_path)})
    assert interrupted.returncode == 130, interrupted.stderr
    made = Path(interrupted.stdout.strip())
    assert made.name == "m.onnx" and not made.parent.exists()


def test_an_eval_of_photos_alone_plots_without_warnings(tmp_path: Path) -> None:
    """Photos have no warping error, so the trade-off plot had no labelled dots and matplotlib printed a
    two-line "No artists with labels" warning into every photos-only eval."""
    import warnings

    from vstyle.evaluation.plots import plot_tradeoff

    data = {"summary": [{"method": "m", "kind": "model", "warp_short": None, "style_meanstd": 1.0}], "results": []}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert plot_tradeoff(data, tmp_path / "t.png", overwrite=False).is_file()


def test_a_bench_list_measures_each_value_once() -> None:
    from vstyle.export.shapes import parse_list

    assert parse_list("64, 64,torch,,64", "--sizes") == ["64", "torch"]


def test_bench_measures_a_value_written_two_ways_once(tiny_model: Path) -> None:
    """``--sizes 64,64x64`` and ``--batch 1,01`` measured one configuration twice."""
    done = run_vstyle("bench", "--model", tiny_model, "--sizes", "64,064,64x64", "--batch", "1,01",
                      "--backends", "torch", "--precisions", "fp32", "--device", "cpu", "--json")
    assert done.returncode == 0, done.stderr
    assert [(r["size"], r["batch"]) for r in json.loads(done.stdout)["results"]] == [("64", 1)]


def test_an_optional_value_may_be_empty_and_image_makes_no_folder_for_a_refused_run(tmp_path: Path,
                                                                                   tiny_model: Path) -> None:
    """``--ray ''`` is ``--ray`` alone (a local cluster), not an empty value to refuse; and a run refused for
    a missing style left its new ``-o`` folder behind."""
    line = assert_one_line_error(run_vstyle("batch", tmp_path, tmp_path / "o", "--style", "s.jpg", "--ray", "",
                                            "--workers", "0"))
    assert "needs a value" not in line and "--workers" in line, line
    photo = tmp_path / "p.png"
    Image.new("RGB", (40, 30), (200, 20, 20)).save(photo)
    line = assert_one_line_error(run_vstyle("image", photo, "--style", tmp_path / "missing.jpg", "--model", tiny_model,
                                            "-o", tmp_path / "new" / ""))
    assert "style image not found" in line and not (tmp_path / "new").exists()


def test_a_batch_record_cannot_aim_outside_out(tmp_path: Path) -> None:
    from vstyle.jobs.batch import NAMES_FILE, find_jobs

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        Image.new("RGB", (8, 8)).save(src / name)
    (out / NAMES_FILE).write_text(json.dumps({"a.png": "../a.png", "b.png": "/tmp/b.png", "c.png": "sub/c.png"}))
    assert [j.dst for j in find_jobs(src, out, recursive=False)] == [out / "a.png", out / "b.png", out / "sub/c.png"]


def test_optimize_from_the_photo_refuses_the_options_of_a_model_it_never_loads(tmp_path: Path) -> None:
    """``image --optimize`` (from the photo) loads no model, so ``--backend``, ``--precision``, ``--compile``,
    ``--model`` and ``--mode`` were dropped without a word; with ``--init model`` they choose its start."""
    from vstyle.jobs.engine import EngineSpec
    from vstyle.jobs.optimize import _check_engine_options

    for spec, key in ((EngineSpec(backend="openvino"), "backend openvino"), (EngineSpec(precision="int8"),
                      "precision int8"), (EngineSpec(compile=True), "compile_"), (EngineSpec(model="x"), "model x"),
                      (EngineSpec(mode="photo"), "mode photo")):
        with pytest.raises(VStyleError, match=f"^{key} applies to a model, and optimize loads none unless init"):
            _check_engine_options(spec, "content")
        _check_engine_options(spec, "model")
    _check_engine_options(EngineSpec(device="cpu", threads=2), "content")
    photo = tmp_path / "p.png"
    Image.new("RGB", (40, 30), (200, 20, 20)).save(photo)
    line = assert_one_line_error(run_vstyle("image", photo, "--style", photo, "--optimize", "--backend", "ort",
                                            "-o", tmp_path / "o.png"))
    assert line.startswith("vstyle: error: --backend ort applies to a model, and --optimize loads none"), line
    assert not (tmp_path / "o.png").exists()


def test_side_by_side_without_a_window_is_refused(example_clip: Path, example_style: Path) -> None:
    """``live --no-window --side-by-side`` ran and dropped the option: only the window shows the camera frame."""
    line = assert_one_line_error(run_vstyle("live", "--style", example_style, "--camera", example_clip,
                                            "--no-window", "--side-by-side", "--frames", "2"))
    assert "--side-by-side puts the camera frame beside the stylised one in the window" in line, line


def test_a_file_the_user_may_not_read_says_permission_denied(tmp_path: Path, example_clip: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """An unreadable style image said "cannot decode PATH: [Errno 13] …" and an unreadable video "is not a
    video this tool can read": both blamed the file's contents. (Root reads any file, so the denial is
    simulated where the file is opened.)"""
    import av
    from PIL import Image as PILImage

    from vstyle.io.video_source import open_video

    photo = tmp_path / "p.png"
    Image.new("RGB", (40, 30)).save(photo)

    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(args[0]))

    monkeypatch.setattr(PILImage, "open", denied)
    with pytest.raises(VStyleError, match=f"^cannot read {re.escape(str(photo))}: permission denied$"):
        read_image(photo)

    def av_denied(*args: Any, **kwargs: Any) -> Any:
        raise av.error.PermissionError(13, "Permission denied", str(args[0]))

    monkeypatch.setattr(av, "open", av_denied)
    with pytest.raises(VStyleError, match=f"^cannot read {re.escape(str(example_clip))}: permission denied$"):
        open_video(example_clip)


# ------------------------------------------------------------------ from the fourth fault hunt


@pytest.mark.parametrize("args", [["info"], ["info", "--json"], ["weights", "list"]])
def test_a_standard_output_that_fails_is_one_line_and_a_closed_pipe_none(args: list[str]) -> None:
    """``vstyle info >/dev/full`` (or any command's output to a full disk) gave a traceback; ``info | head -1``
    exited 1 without a word."""
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "vstyle", *args], stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 1 and done.stderr.strip() == \
        "vstyle: error: cannot write to standard output: No space left on device", done.stderr
    proc = subprocess.Popen([sys.executable, "-m", "vstyle", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line
    err = proc.stderr.read()
    assert proc.wait() == 0 and err == "", err
    closed = subprocess.run(["bash", "-c", f"'{sys.executable}' -m vstyle {' '.join(args)} >&-"], capture_output=True,
                            text=True)
    assert closed.returncode == 0 and closed.stderr == "", closed.stderr  # started without a stdout: nothing to say


def test_eval_refuses_content_smaller_than_ssims_window(tmp_path: Path) -> None:
    """``vstyle eval`` of a 5×5 photo (or one scaled below 11 px by ``--size``) ended in SSIM's traceback."""
    from vstyle.evaluation.clips import load_still

    tiny, thin = tmp_path / "tiny.png", tmp_path / "thin.png"
    Image.new("RGB", (5, 5)).save(tiny)
    Image.new("RGB", (400, 20)).save(thin)
    with pytest.raises(VStyleError, match=r"tiny.png is 5×5 px as evaluated; eval needs at least 11 px per side"):
        load_still(tiny)
    with pytest.raises(VStyleError, match=r"thin.png is 64×3 px as evaluated"):
        load_still(thin, size=64)
    assert load_still(thin, size=400).frames.shape == (1, 20, 400, 3)


def test_eval_of_two_contents_of_one_name_keeps_both(tmp_path: Path, tiny_model: Path) -> None:
    """``eval d1/x.jpg d2/x.jpg --save-frames`` failed after all its work on a frame it had written itself
    ("exists; pass --overwrite"), and with ``--overwrite`` the second photo's frames replaced the first's."""
    for folder, colour in (("d1", (200, 20, 20)), ("d2", (20, 20, 200))):
        (tmp_path / folder).mkdir()
        Image.new("RGB", (48, 40), colour).save(tmp_path / folder / "x.png")
    photo = tmp_path / "d1" / "x.png"
    done = run_vstyle("eval", photo, tmp_path / "d2" / "x.png", "--style", photo, "--model", tiny_model,
                      "--size", "32", "--no-peer", "--ema-weight", "0", "-o", tmp_path / "e", "--save-frames", "--json")
    assert done.returncode == 0, done.stderr
    assert [c["name"] for c in json.loads(done.stdout)["clips"]] == ["x", "x#2"]
    assert sorted(p.name for p in (tmp_path / "e" / "frames").iterdir()) == ["x", "x_2"]
    # Again into the same folder with one photo: the other's images stay, and are named as not this run's.
    again = run_vstyle("eval", photo, "--style", photo, "--model", tiny_model, "--size", "32", "--no-peer",
                       "--ema-weight", "0", "-o", tmp_path / "e", "--save-frames", "--overwrite")
    assert again.returncode == 0, again.stderr
    assert "1 image in" in again.stderr and "is from an earlier evaluation" in again.stderr, again.stderr
    assert str(Path("x_2") / "x") in again.stderr, again.stderr
    assert (tmp_path / "e" / "frames" / "x_2").is_dir()


@pytest.mark.parametrize("extra, says", [
    (["--optimize-steps", "5"], "--optimize-steps needs --optimize"),
    (["--optimize-style-weight", "3"], "--optimize-style-weight needs --optimize"),
    (["--optimize"], "--optimize is a reference on stills, and these contents are all clips"),
])
def test_eval_refuses_optimize_options_it_would_drop(example_clip: Path, example_style: Path, tmp_path: Path,
                                                     extra: list[str], says: str) -> None:
    """``--optimize-steps`` or ``--optimize-style-weight`` without ``--optimize``, and ``--optimize`` on clips
    alone, ran the evaluation without the reference and without a word."""
    line = assert_one_line_error(run_vstyle("eval", example_clip, "--style", example_style, "--no-peer",
                                            "-o", tmp_path / "e", *extra))
    assert says in line, line
    assert not (tmp_path / "e").exists()


def test_eval_says_when_clips_are_too_short_for_the_long_delta(example_clip: Path, example_style: Path,
                                                               tiny_model: Path, tmp_path: Path) -> None:
    """``--long-delta 5 --max-frames 3`` left the long-range column empty without saying why."""
    done = run_vstyle("eval", example_clip, "--style", example_style, "--model", tiny_model, "--no-peer",
                      "--ema-weight", "0", "--size", "32", "--max-frames", "3", "--long-delta", "5",
                      "-o", tmp_path / "e", "--json")
    assert done.returncode == 0, done.stderr
    assert "note: --long-delta 5 needs clips of more than 5 frames (these have at most 3" in done.stderr


def test_an_odd_output_size_is_said_not_silently_evened(tmp_path: Path) -> None:
    """``run --size 63x35`` (or ``--keep-size`` of a 63×37 clip) wrote 62×34 without a word."""
    from fractions import Fraction

    from vstyle.io.video_sink import VideoWriter

    writer = VideoWriter(tmp_path / "o.mp4", 63, 35, Fraction(24), Fraction(1, 24))
    writer.close(flush=True, complete=True)
    assert (writer.width, writer.height) == (62, 34)
    assert writer.notes == ["o.mp4: written at 62×34, not 63×35: video is written with even sides (4:2:0 needs them)"]
    even = VideoWriter(tmp_path / "e.mp4", 64, 36, Fraction(24), Fraction(1, 24))
    even.close(flush=True, complete=True)
    assert even.notes == []


def test_a_time_with_60_or_more_after_a_colon_is_refused() -> None:
    """``--start 1:70`` was read as 130 s."""
    from vstyle.jobs.video import parse_time

    for bad in ("1:70", "0:60", "1:00:60"):
        with pytest.raises(VStyleError, match="minutes and seconds after a colon go up to 59"):
            parse_time(bad)
    with pytest.raises(VStyleError, match="times look like"):
        parse_time("1:-5")
    assert parse_time("1:59.5") == 119.5 and parse_time("75") == 75


def test_weights_list_says_which_model_of_one_name_is_hidden(tmp_path: Path, tiny_model: Path) -> None:
    """A ``$VSTYLE_HOME/default.safetensors`` was listed as a second ``default`` with nothing saying that
    ``--model default`` never reaches it."""
    import shutil

    shutil.copy(tiny_model, tmp_path / "default.safetensors")
    done = run_vstyle("weights", "list", env={"VSTYLE_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    mine = [line for line in done.stdout.splitlines() if str(tmp_path) in line]
    shipped = [line.split()[-1] for line in done.stdout.splitlines() if line.startswith("default ")][0]
    assert len(mine) == 1 and mine[0].endswith(f"(--model default finds {shipped})"), mine
    listed = json.loads(run_vstyle("weights", "list", "--json", env={"VSTYLE_HOME": str(tmp_path)}).stdout)
    assert [m["shadowed_by"] for m in listed["models"] if m["name"] == "default"] == [None, shipped]


def test_a_vstyle_home_that_is_a_file_is_said(tmp_path: Path) -> None:
    """With ``$VSTYLE_HOME`` a file, ``info`` and ``weights list`` listed the shipped models and said nothing
    of the folder where the user's models should be."""
    home = tmp_path / "home"
    home.write_text("")
    for args in (["info"], ["weights", "list"]):
        done = run_vstyle(*args, env={"VSTYLE_HOME": str(home)})
        assert done.returncode == 0, done.stderr
        assert f"vstyle: note: skipped $VSTYLE_HOME {home} is not a folder" in done.stderr, done.stderr


def test_a_pipe_named_like_a_model_is_skipped_not_read(tmp_path: Path) -> None:
    """A FIFO called ``x.safetensors`` in ``$VSTYLE_HOME`` made ``info`` and ``weights list`` wait forever
    on its read."""
    os.mkfifo(tmp_path / "x.safetensors")
    (tmp_path / "y.safetensors").mkdir()
    for args in (["info"], ["weights", "list"]):
        done = run_vstyle(*args, env={"VSTYLE_HOME": str(tmp_path)}, timeout=60)
        assert done.returncode == 0, done.stderr
        for name in ("x", "y"):
            assert f"{tmp_path / name}.safetensors is not a regular file" in done.stderr, done.stderr


# ------------------------------------------------------------------ MPEG-TS, camera audio, files cut short


def _frames_read(path: Path, start: float = 0.0, duration: float | None = None) -> int:
    from vstyle.io.video_source import VideoReader, probe_video

    with VideoReader(probe_video(path, start, duration)) as reader:
        return sum(1 for _ in reader.frames())


@pytest.mark.parametrize("gop", [None, 6])
def test_mpeg_ts_keeps_every_frame_and_cuts_segments_exactly(tmp_path: Path, gop: int | None) -> None:
    """MPEG-TS files start at a non-zero time, and its demuxer's seek lands on a later frame (or a frame
    that is not a keyframe): a whole-file run seeked to that start anyway and lost the first keyframe's
    group (one keyframe: "has no video frames"), and segments lost their first frames."""
    clip = make_clip(tmp_path / "in.ts", frames=24, fps=12, gop=gop)
    assert _frames_read(clip) == 24
    assert _frames_read(clip, start=1.0) == 12
    assert _frames_read(clip, start=0.5, duration=1.0) == 12


def _clip_with_audio(path: Path, vcodec: str, pix_fmt: str, acodec: str) -> Path:
    """12 frames at 12 fps and 1 s of a stereo tone in ``acodec`` (AVI and Matroska store no channel order)."""
    import av

    out = av.open(str(path), "w")
    vs = out.add_stream(vcodec, rate=12)
    vs.width, vs.height, vs.pix_fmt = 64, 48, pix_fmt
    a = out.add_stream(acodec, rate=44100)
    a.codec_context.layout = "stereo"
    for i in range(12):
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, 12)
        out.mux(vs.encode(frame.reformat(format=pix_fmt)))
    out.mux(vs.encode(None))
    size, fmt = a.codec_context.frame_size or 1024, a.codec_context.format
    for start in range(0, 44100, size):
        tone = (np.sin(np.arange(start, start + size) / 10) * 8000).astype(np.int16)
        pcm = np.stack([tone, tone]) if fmt.is_planar else np.stack([tone, tone], 1).reshape(1, -1)
        af = av.AudioFrame.from_ndarray(pcm, format=fmt.name, layout="stereo")
        af.sample_rate, af.pts, af.time_base = 44100, start, Fraction(1, 44100)
        out.mux(a.encode(af))
    out.mux(a.encode(None))
    out.close()
    return path


@pytest.mark.parametrize("name, vcodec, pix_fmt, acodec, kept", [
    ("camera.avi", "mjpeg", "yuvj420p", "pcm_s16le", "pcm_s16le"),
    ("pcm.mkv", "libx264", "yuv420p", "pcm_s16le", "pcm_s16le"),
    ("adpcm.avi", "mpeg4", "yuv420p", "adpcm_ms", "aac"),
])
def test_audio_in_no_stated_channel_order_is_kept_in_mp4(tmp_path: Path, name: str, vcodec: str, pix_fmt: str,
                                                         acodec: str, kept: str) -> None:
    """A camera's AVI (or a Matroska file) stores two channels without saying they are left and right:
    copying that PCM into MP4 failed with a traceback at the very end, and re-encoding it (ADPCM) failed
    as "cannot write … Invalid argument"."""
    src = _clip_with_audio(tmp_path / name, vcodec, pix_fmt, acodec)
    writer = _copy_through(src, tmp_path / "out.mp4")
    assert writer.audio.describe()[0]["codec"] == kept
    got = facts(tmp_path / "out.mp4")
    assert got.frames == 12 and got.audio_codec == kept and got.audio_seconds == pytest.approx(1.0, abs=0.05)


def test_y4m_output_has_the_sources_frame_rate(tmp_path: Path) -> None:
    """Y4M stores a frame rate, not timestamps: it was written at the source's fine time base (10,240 fps)."""
    import av

    src = make_clip(tmp_path / "a.mp4", frames=12, fps=12)
    _copy_through(src, tmp_path / "a.y4m")
    with av.open(str(tmp_path / "a.y4m")) as c:
        assert float(c.streams.video[0].average_rate) == pytest.approx(12, rel=0.01)


def test_a_matroska_file_cut_short_is_noted_and_json_gives_the_outputs_duration(
        tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    """A truncated Matroska/WebM file decodes without an error (a truncated MP4 is refused): the run said
    nothing, and ``--json`` gave the duration the file's header claims, not the output's."""
    whole = make_clip(tmp_path / "whole.mkv", frames=24, fps=12)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    for src, noted in ((whole, False), (cut, True)):
        proc = run_vstyle("run", src, "--style", style_image, "--model", tiny_model, "--max-size", "32",
                          "-o", tmp_path / f"{src.stem}_out.mp4", "--json")
        assert proc.returncode == 0, proc.stderr
        summary = json.loads(proc.stdout)
        n = summary["frames"]
        assert summary["duration"] == pytest.approx(n / 12, abs=0.01)
        assert (f"vstyle: note: {src.name}: the video stops at {n / 12:.2f}s, but the file says it lasts 2.00s"
                in proc.stderr) == noted, proc.stderr
        assert (n < 24) == noted


def test_a_still_gif_in_a_batch_stays_a_picture_and_image_notes_an_animation(
        tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    """``batch`` made a one-frame MP4 of a still GIF, and ``image`` painted an animation's first frame
    without a word."""
    folder = tmp_path / "in"
    folder.mkdir()
    frames = [Image.fromarray(np.full((24, 32, 3), 60 * i, np.uint8)) for i in range(3)]
    frames[0].save(folder / "still.gif")
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    common = ["--style", style_image, "--model", tiny_model, "--max-size", "32"]
    proc = run_vstyle("batch", folder, tmp_path / "out", *common)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == ["still.png"]
    proc = run_vstyle("image", tmp_path / "anim.gif", *common, "-o", tmp_path / "anim.png")
    assert proc.returncode == 0, proc.stderr
    assert ("vstyle: note: anim.gif has 3 frames; an image is painted from its first; "
            "vstyle run anim.gif paints them all") in proc.stderr


def test_output_names_of_the_wrong_kind_fail_before_the_model_is_read(tmp_path: Path, style_image: Path) -> None:
    """``run -o v.jpg`` failed after the whole model load as "cannot encode …: Invalid argument", and
    ``image -o v.mp4`` only after stylising. A model path that does not exist shows which check comes first."""
    clip = make_clip(tmp_path / "in.mp4", frames=2)
    photo = tmp_path / "in.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(photo)
    missing = ["--style", style_image, "--model", tmp_path / "missing.safetensors"]
    line = assert_one_line_error(run_vstyle("run", clip, *missing, "-o", tmp_path / "v.jpg"))
    assert "give a video file name (.mp4, .mkv, .mov)" in line
    line = assert_one_line_error(run_vstyle("image", photo, *missing, "-o", tmp_path / "v.mp4"))
    assert line.startswith("vstyle: error: cannot write .mp4; use one of")
    line = assert_one_line_error(run_vstyle("image", clip, *missing))
    assert line.endswith(f"is not an image this tool can read; for a video use: vstyle run {clip}")


def test_run_of_a_still_image_says_it_wrote_a_one_frame_video(tmp_path: Path, tiny_model: Path,
                                                              style_image: Path) -> None:
    """``vstyle run photo.png`` silently wrote a one-frame video, where the user most likely wanted a picture."""
    photo = tmp_path / "in.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(photo)
    proc = run_vstyle("run", photo, "--style", style_image, "--model", tiny_model, "-o", tmp_path / "o.mp4", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["frames"] == 1
    assert f"note: {photo} is a still image, so {tmp_path / 'o.mp4'} is a one-frame video; for a picture use: " \
           f"vstyle image {photo}" in proc.stderr
    clip = make_clip(tmp_path / "in.mp4", frames=1)  # a one-frame video is not a still image
    proc = run_vstyle("run", clip, "--style", style_image, "--model", tiny_model, "-o", tmp_path / "c.mp4")
    assert proc.returncode == 0 and "still image" not in proc.stderr, proc.stderr


def test_a_dangling_link_as_the_output_is_not_replaced_without_overwrite(tmp_path: Path, tiny_model: Path,
                                                                          style_image: Path) -> None:
    photo = tmp_path / "in.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(photo)
    link = tmp_path / "out.png"
    link.symlink_to(tmp_path / "elsewhere.png")
    line = assert_one_line_error(run_vstyle("image", photo, "--style", style_image, "--model", tiny_model,
                                            "-o", link))
    assert "exists; pass --overwrite" in line and link.is_symlink()


def test_a_folder_named_like_a_model_in_the_current_folder_does_not_hide_it(tmp_path: Path, tiny_model: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """``train export --name art`` says "use it with --model art", and a folder ``art`` where the user stood
    (the run folder, typically) turned that into "--model art is a folder"; a folder ``default`` broke
    every command without ``--model``."""
    import shutil

    from vstyle.weights.names import PROJECT_WEIGHTS, resolve

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(tiny_model, home / "art.safetensors")
    monkeypatch.setenv("VSTYLE_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "art").mkdir()
    (tmp_path / "default").mkdir()
    assert resolve("art") == home / "art.safetensors"
    assert resolve(None) == PROJECT_WEIGHTS / "default.safetensors"
    with pytest.raises(VStyleError, match="is a folder"):
        resolve("./art")


def test_a_name_too_long_for_the_file_system_is_one_line(tmp_path: Path, style_image: Path) -> None:
    """A path with a name over 255 bytes raised ENAMETOOLONG as a traceback from a dozen places."""
    long_name = "L" * 300
    for args in (["image", style_image, "--style", tmp_path / f"{long_name}.jpg"],
                 ["image", style_image, "--style", style_image, "-o", tmp_path / f"{long_name}.png"],
                 ["weights", "show", long_name]):
        line = assert_one_line_error(run_vstyle(*args))
        assert "file name too long for this file system" in line, line


def test_eval_measures_a_value_given_twice_once(tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    """``--alpha 0.5 --alpha 0.50`` made two methods of one label: a traceback ("labels must be distinct")."""
    photo = tmp_path / "p.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(photo)
    proc = run_vstyle("eval", photo, "--style", style_image, "--model", tiny_model, "--no-peer", "--size", "40",
                      "--alpha", "0.5", "--alpha", "0.50", "--ema-weight", "0", "-o", tmp_path / "ev", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [m["method"] for m in json.loads(proc.stdout)["summary"]] == ["content (unstylised)", "tiny α=0.5"]


def test_a_phone_photo_with_a_gain_map_is_not_an_animation_and_run_may_write_webp(tmp_path: Path) -> None:
    """Review of the notes above: an MPO JPEG (a phone photo with a depth or gain map: two frames to Pillow)
    was noted as "has 2 frames", and ``run -o x.webp`` (an animated WebP, ``--codec libwebp_anim``) was refused
    as an image name."""
    from vstyle.jobs.image import first_frame_notes
    from vstyle.jobs.naming import video_output

    photo = tmp_path / "phone.jpg"
    Image.new("RGB", (16, 16), "red").save(photo, format="MPO", save_all=True,
                                          append_images=[Image.new("RGB", (16, 16), "blue")])
    assert first_frame_notes([photo]) == []
    assert video_output(tmp_path / "in.mp4", tmp_path / "x.webp", "s") == tmp_path / "x.webp"


def test_eval_says_which_files_in_its_folder_an_earlier_run_left(tmp_path: Path, tiny_model: Path,
                                                                 style_image: Path) -> None:
    """``eval -o DIR --overwrite`` without ``--video`` left an earlier run's side_by_side.mp4 beside the new
    results, unlisted and unmentioned, as if it showed them."""
    photo = tmp_path / "p.png"
    Image.fromarray(np.random.default_rng(4).integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(photo)
    out = tmp_path / "ev"
    out.mkdir()
    (out / "side_by_side.mp4").write_bytes(b"an earlier run's")
    proc = run_vstyle("eval", photo, "--style", style_image, "--model", tiny_model, "--no-peer", "--size", "40",
                      "--ema-weight", "0", "-o", out, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert f"vstyle: note: {out / 'side_by_side.mp4'} is from an earlier evaluation, not this one" in proc.stderr
