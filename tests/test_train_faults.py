"""Faults of ``vstyle train`` found by a fault hunt: one test (or a few) per fault, each failing before its fix.

Runs are tiny (photo SCTNet, VGG loss net with random weights, 32 px crops, batch 2, one thread) on a few
generated images, so the module needs no data beside the project.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clitools import assert_one_line_error, run_vstyle
from vstyle.errors import VStyleError
from vstyle.train.checkpoint import load_checkpoint
from vstyle.train.config import Recipe, RunOptions, read_config_file, split_settings

TINY = ["--arch", "sctnet", "--loss-net", "vgg19", "--mode", "photo", "--random-weights", "--batch", "2",
        "--resize", "48", "--crop", "32", "--threads", "1", "--workers", "0"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """content/ and styles/ with two small seeded images each."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for folder in ("content", "styles"):
        (root / folder).mkdir()
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (56, 64, 3), dtype=np.uint8)).save(root / folder / f"{i}.png")
    return root


def _train(data: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--content", data / "content", "--style", data / "styles", *TINY, "--out", out, *extra]


@pytest.fixture(scope="module")
def base_run(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 4-step run (no --ema-decay). Tests that change a run work on a copy (:func:`_copy`)."""
    run = tmp_path_factory.mktemp("runs") / "base"
    done = run_vstyle(*_train(data, run, "--steps", "4", "--sample-every", "2"))
    assert done.returncode == 0, done.stderr
    return run


def _copy(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / "run"))


# ------------------------------------------------------------------ 1. damaged checkpoint


@pytest.mark.parametrize("damage", ["junk", "truncated"])
def test_damaged_checkpoint_is_one_clean_line(base_run: Path, tmp_path: Path, damage: str) -> None:
    """Junk raised KeyError from torch's unpickler (a traceback); a truncated file's message was cut mid-sentence."""
    run = _copy(base_run, tmp_path)
    ckpt = run / "checkpoint.pt"
    ckpt.write_bytes(b"junk\n" if damage == "junk" else ckpt.read_bytes()[:3000])
    with pytest.raises(VStyleError) as err:
        load_checkpoint(ckpt)
    reason = "damaged, truncated, or not a vstyle checkpoint (torch cannot load it safely)"
    assert str(err.value) == f"cannot read checkpoint {ckpt}: {reason}"
    if damage == "junk":
        for args in (["train", "--resume", run, "--steps", "5"], ["train", "export", run, "--name", "q",
                                                                  "-o", tmp_path / "q.safetensors"]):
            line = assert_one_line_error(run_vstyle(*args))
            assert line.endswith(reason)


# ------------------------------------------------------------------ 2. damaged config.json


def test_damaged_run_config_is_one_line_and_a_missing_one_is_written_again(base_run: Path, tmp_path: Path) -> None:
    """A damaged config.json crashed the resume with JSONDecodeError; a deleted one with FileNotFoundError."""
    run = _copy(base_run, tmp_path)
    (run / "config.json").write_text("{bad")
    line = assert_one_line_error(run_vstyle("train", "--resume", run, "--steps", "5"))
    assert f"cannot read {run / 'config.json'}" in line
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 4

    (run / "config.json").unlink()
    done = run_vstyle("train", "--resume", run, "--steps", "5", "--threads", "1")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    config = json.loads((run / "config.json").read_text())
    assert config["options"]["steps"] == 5 and config["recipe"]["crop"] == 32


# ------------------------------------------------------------------ 3. config-file ranges


@pytest.mark.parametrize("threads", [-2, 0])
def test_config_file_threads_get_the_command_line_range(data: Path, tmp_path: Path, threads: int) -> None:
    """``"threads": -2`` crashed in torch.set_num_threads (or was used as is), 0 was accepted silently."""
    with pytest.raises(VStyleError, match="threads must be at least 1"):
        RunOptions(threads=threads).validate()
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"threads": threads}))
    args = _train(data, tmp_path / "r", "--steps", "1")
    del args[args.index("--threads"):args.index("--threads") + 2]  # the file's value, not the command line's
    line = assert_one_line_error(run_vstyle(*args, "--config", cfg))
    assert line == "vstyle: error: --threads must be at least 1"


def test_config_file_values_of_the_wrong_type_are_refused(train_flags: None) -> None:
    """An optional setting's value was not checked: "threads": "abc" reached torch, "style_layers": "zz" was
    read letter by letter (unknown tap 'z'); a negative loss weight did not say which."""
    with pytest.raises(VStyleError, match="'threads' must be a whole number"):
        RunOptions.from_dict({"threads": "abc"})
    for key in ("style_layers", "content"):
        with pytest.raises(VStyleError, match=f"'{key}' must be a list of strings, got 'zz'"):
            Recipe.from_dict({key: "zz"})
    assert Recipe.from_dict({"style_layers": ["relu1_1"], "init": None}).style_layers == ("relu1_1",)
    with pytest.raises(VStyleError, match="--lambda-style must be non-negative"):
        Recipe(content=("c",), style=("s",), lambda_style=-1).validate()


# ------------------------------------------------------------------ 4. SIGTERM


def test_sigterm_checkpoints_and_exits_143(data: Path, tmp_path: Path) -> None:
    """SIGTERM killed the run on the spot (no checkpoint, nothing said); now it stops like Ctrl-C does."""
    run = tmp_path / "r"
    args = _train(data, run, "--steps", "100000", "--sample-every", "1", "--checkpoint-every", "1000")
    proc = subprocess.Popen([sys.executable, "-m", "vstyle", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run / "samples" / "step_0000002.jpg").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "terminated: stopping after this step and saving a checkpoint" in err
    step = load_checkpoint(run / "checkpoint.pt")["step"]
    assert step >= 2 and f"stopped at step {step}; continue with: vstyle train --resume {run}" in err


# ------------------------------------------------------------------ 5. --overwrite and samples/


def test_overwrite_removes_only_the_runs_own_samples(base_run: Path, data: Path, tmp_path: Path) -> None:
    """--overwrite deleted the whole samples/ folder, user files in it too."""
    from vstyle.train.trainer import _never_checkpointed

    run = _copy(base_run, tmp_path)
    mine = run / "samples" / "my.jpg"
    mine.write_bytes(b"mine")
    done = run_vstyle(*_train(data, run, "--steps", "1", "--sample-every", "0", "--overwrite"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["my.jpg"] and mine.read_bytes() == b"mine"

    # A run that never checkpointed may be started again without --overwrite, unless samples/ holds the user's.
    (run / "checkpoint.pt").unlink()
    assert not _never_checkpointed(run)
    mine.unlink()
    assert _never_checkpointed(run)


# ------------------------------------------------------------------ 6. options silently ignored


def test_export_raw_of_a_run_without_an_average_is_noted(base_run: Path, tmp_path: Path) -> None:
    done = run_vstyle("train", "export", base_run, "--name", "m2", "--raw", "-o", tmp_path / "m2.safetensors")
    assert done.returncode == 0, done.stderr
    assert "vstyle: note: --raw changes nothing here" in done.stderr and "--ema-decay" in done.stderr


@pytest.mark.parametrize("setting, message", [
    ({"init": "some-model", "encoder_file": "junk.safetensors"}, "--encoder-file is for a fresh model's encoder"),
    ({"teacher_file": "junk.onnx"}, "--teacher-file is read only by the teacher losses"),
])
def test_settings_a_new_run_would_not_read_are_refused(train_flags: None, tmp_path: Path,
                                                       setting: dict[str, str], message: str) -> None:
    """--init with --encoder-file trained without reading the file (and recorded it); --teacher-file without
    a teacher loss was accepted."""
    from vstyle.train.trainer import Trainer

    recipe = Recipe(content=(str(tmp_path),), style=(str(tmp_path),), **setting)  # type: ignore[arg-type]
    with pytest.raises(VStyleError, match=message):
        Trainer(tmp_path / "r", recipe, RunOptions(steps=1))


@pytest.mark.parametrize("steps", ["3", "4"])
def test_resume_to_a_step_already_reached_is_refused(base_run: Path, steps: str) -> None:
    """--steps 3 on a run at step 4 did nothing, exited 0 and drew a bar at 4/3."""
    line = assert_one_line_error(run_vstyle("train", "--resume", base_run, "--steps", steps))
    assert "is at step 4 already; pass --steps above 4" in line


# ------------------------------------------------------------------ 7. messages


def test_config_file_keys_named_like_the_options_are_accepted(tmp_path: Path) -> None:
    """The help says keys are the long options with _, yet scale_range, style_scale_range and mode were
    "unknown setting"."""
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"scale_range": [0.5, 1.5], "style_scale_range": [1, 2], "mode": "photo",
                               "arch_config": {"mode": "photo", "x": 1}}))
    recipe_part, _ = split_settings(read_config_file(cfg))
    recipe = Recipe.from_dict(recipe_part)
    assert (recipe.scale_min, recipe.scale_max, recipe.style_scale_min, recipe.style_scale_max) == (0.5, 1.5, 1, 2)
    assert recipe.arch_config == {"mode": "photo", "x": 1}
    for bad, message in (({"scale_range": [1, 2], "scale_min": 1}, "not both"),
                         ({"scale_range": 1}, r"must be a list \[MIN, MAX\]"),
                         ({"mode": "art", "arch_config": {"mode": "photo"}}, "disagree")):
        cfg.write_text(json.dumps(bad))
        with pytest.raises(VStyleError, match=message):
            read_config_file(cfg)


def test_a_run_config_json_works_as_a_config_file(base_run: Path) -> None:
    """Its records beside the settings (layers, model, code) were refused as "unknown setting 'code'"."""
    recipe_part, option_part = split_settings(read_config_file(base_run / "config.json"))
    assert Recipe.from_dict(recipe_part).crop == 32 and RunOptions.from_dict(option_part).steps == 4


def test_empty_training_video_is_called_empty(data: Path, tmp_path: Path) -> None:
    """A 0-byte video said "[Errno 1094995529] Invalid data found when processing input"."""
    from vstyle.train.data import read_video_frames

    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(VStyleError, match=r"training video .*empty\.mp4 is empty \(0 bytes\)"):
        read_video_frames(empty, 4)
    content = tmp_path / "content"
    shutil.copytree(data / "content", content)
    shutil.copy(empty, content / "clip.mp4")
    args = _train(data, tmp_path / "r", "--steps", "1")
    args[args.index(data / "content")] = content
    line = assert_one_line_error(run_vstyle(*args))
    assert line.endswith("clip.mp4 is empty (0 bytes)")


def test_a_video_file_as_a_training_style_is_named_by_its_format(tmp_path: Path) -> None:
    """An .mp4 holding only sound, given as a style, was called "a video"; the check goes by the suffix."""
    from vstyle.errors import VStyleError
    from vstyle.train.data import list_media

    sound = tmp_path / "song.mp4"
    sound.write_bytes(b"not inspected")
    with pytest.raises(VStyleError, match=r"style must be still images; .*song.mp4 is a \.mp4 file, a video format"):
        list_media([sound], "style", videos=False)


# ------------------------------------------------------------------ two writers, damaged logs, user files


def test_a_run_folder_another_process_trains_in_is_refused(base_run: Path, tmp_path: Path) -> None:
    """Two trainings on one folder wrote NULs into its loss log, and no resume could read it again."""
    import fcntl

    run = _copy(base_run, tmp_path)
    with open(run / ".train.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.truncate(0)
        held.write("process 4242")
        held.flush()
        line = assert_one_line_error(run_vstyle("train", "--resume", run, "--steps", "6"))
    assert "is being trained by another process (process 4242)" in line
    done = run_vstyle("train", "--resume", run, "--steps", "5")  # the lock is free again
    assert done.returncode == 0, done.stderr


def test_a_damaged_loss_log_does_not_stop_a_resume(base_run: Path, tmp_path: Path) -> None:
    """A cut-off last row (a crash mid-append) or a junk row killed --resume at its first checkpoint
    (drawing losses.png), and NUL bytes at its start."""
    run = _copy(base_run, tmp_path)
    log = run / "losses.csv"
    text = log.read_text()
    log.write_text(text[:-12] + "\nx,y\n" + "\x00" * 8 + "\n")
    done = run_vstyle("train", "--resume", run, "--steps", "5")
    assert done.returncode == 0, done.stderr
    assert "losses.csv: left out 2 damaged rows" in done.stderr
    rows = log.read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "5"] and "\x00" not in log.read_text()


def test_a_folder_with_the_users_own_config_json_is_not_taken_for_a_run(data: Path, tmp_path: Path) -> None:
    """A folder holding only files named like a run's (config.json, data.json) was taken for a run that
    failed before its first checkpoint, and ``--out`` replaced them."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "config.json").write_text('{"my_setting": 42}')
    line = assert_one_line_error(run_vstyle(*_train(data, folder, "--steps", "1")))
    assert "is not empty" in line and (folder / "config.json").read_text() == '{"my_setting": 42}'


@pytest.mark.parametrize("config, said", [('{"rank": 0}', "rank must be a whole number from 1 to 512, got 0"),
                                          ('{"rank": true}', "got True"),
                                          ('{"dec_widths": [96, -1, 24, 12]}', "dec_widths must be a list")])
def test_arch_config_values_are_checked(data: Path, tmp_path: Path, config: str, said: str) -> None:
    """Out-of-range sctnet-mobile settings failed deep in torch (a traceback, or 40 GB asked of the
    allocator), and ``true`` or ``1.5`` for a count were taken."""
    args = ["train", "--content", data / "content", "--style", data / "styles", "--arch", "sctnet-mobile",
            "--loss-net", "vgg19", "--random-weights", "--steps", "1", "--arch-config", config, "--out", tmp_path / "r"]
    assert said in assert_one_line_error(run_vstyle(*args))


def test_resume_refuses_overwrite_and_a_bad_crop_names_the_smallest_good_one(base_run: Path, data: Path,
                                                                             tmp_path: Path) -> None:
    """``--resume … --overwrite`` dropped --overwrite silently; ``--crop 30`` on a photo SCTNet (stride 4, at
    least 9) said "must be a multiple of 4", and the crop 33 that "at least 33" then suggested was refused."""
    line = assert_one_line_error(run_vstyle("train", "--resume", base_run, "--steps", "9", "--overwrite"))
    assert "drop --out/--config/--overwrite" in line
    args = [a if a != "32" else "30" for a in _train(data, tmp_path / "r", "--steps", "1")]
    line = assert_one_line_error(run_vstyle(*args))
    assert line.endswith("--crop 30: sctnet needs a multiple of 4 of at least 9 px (the smallest is 12)"), line


@pytest.mark.parametrize("edit", ["no recipe", "step x"])
def test_a_hand_edited_checkpoint_is_one_line(base_run: Path, tmp_path: Path, edit: str) -> None:
    """A checkpoint without its recipe raised KeyError on export and resume; one whose step was "x" exported
    as "(step x)" and resumed into a ValueError."""
    import torch

    run = _copy(base_run, tmp_path)
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    if edit == "no recipe":
        del state["recipe"]
    else:
        state["step"] = "x"
    torch.save(state, run / "checkpoint.pt")
    key = "recipe" if edit == "no recipe" else "step"
    for args in (["train", "--resume", run, "--steps", "9"], ["train", "export", run, "--name", "q", "-o",
                                                              tmp_path / "q.safetensors"]):
        assert assert_one_line_error(run_vstyle(*args)).endswith(f"is damaged: its '{key}' is missing or not a "
                                                                  f"{'dict' if key == 'recipe' else 'int'}")
