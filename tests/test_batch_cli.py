"""``vstyle batch``: mirrored outputs, resumable, continues past bad files, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from vstyle.jobs.batch import find_jobs
from video_helpers import facts, make_mixed_folder, run_cli


@pytest.fixture
def mixed_folder(tmp_path: Path, example_clip: Path) -> Path:
    """3 images, 2 videos (one with audio, one in a sub-folder), 1 corrupt file, 1 unrelated file."""
    return make_mixed_folder(tmp_path / "in", example_clip)


def test_batch_outputs_failure_and_resume(mixed_folder: Path, tmp_path: Path, tiny_model: Path,
                                          style_image: Path) -> None:
    out = tmp_path / "out"
    args = ["batch", mixed_folder, out, "--style", style_image, "--model", tiny_model, "--recursive",
            "--max-size", "64", "--keep-size"]
    r = run_cli(*args)
    assert r.returncode == 1, r.stderr
    assert "broken.mp4" in r.stderr and "failed" in r.stderr  # the summary table
    produced = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert produced == [".vstyle-batch-names.json", "clip.mp4", "photo0.jpg", "photo1.jpg", "sub/clip.mp4",
                        "sub/flat.png"]
    with Image.open(out / "sub" / "flat.png") as im:
        assert im.size == (50, 40)
    assert facts(out / "clip.mp4").frames == 72 and facts(out / "clip.mp4").audio_codec == "aac"
    assert facts(out / "sub" / "clip.mp4").frames == 6

    r = run_cli(*args, "--json")
    assert r.returncode == 1, r.stderr
    summary = json.loads(r.stdout)
    assert (summary["ok"], summary["skipped"], summary["failed"]) == (0, 5, 1)
    failed = [f for f in summary["files"] if f["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["file"].endswith("broken.mp4") and failed[0]["reason"]


def test_batch_without_recursive_and_all_good(tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    Image.new("RGB", (40, 30), (10, 200, 90)).save(src / "a.png")
    Image.new("RGB", (40, 30), (10, 200, 90)).save(src / "sub" / "b.png")
    out = tmp_path / "out"
    r = run_cli("batch", src, out, "--style", style_image, "--model", tiny_model, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["ok"] == 1
    assert (out / "a.png").is_file() and not (out / "sub").exists()


def test_batch_usage_errors(tmp_path: Path, tiny_model: Path, style_image: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    for args in ([tmp_path / "missing", tmp_path / "o"], [tmp_path / "empty", tmp_path / "o"],
                 [tmp_path / "empty", tmp_path / "file"]):
        r = run_cli("batch", *args, "--style", style_image, "--model", tiny_model)
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip().startswith("vstyle: error:") and "Traceback" not in r.stderr
    r = run_cli("batch", tmp_path / "empty", tmp_path / "o", "--style", tmp_path / "nostyle.jpg")
    assert r.returncode == 2 and "style image not found" in r.stderr


def test_find_jobs_mirrors_and_avoids_collisions(tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "deep" / "er").mkdir(parents=True)
    for name in ("a.mov", "a.mp4", "b.gif", "c.JPG", "d.tiff", "e.heic", "g.psd", ".hidden.mp4", "deep/er/f.webm"):
        (src / name).write_bytes(b"")
    out = src / "out"  # outputs inside the input folder are never picked up as inputs
    (out).mkdir()
    (out / "old.mp4").write_bytes(b"")
    jobs = {j.src.relative_to(src).as_posix(): (j.dst.relative_to(out).as_posix(), j.kind)
            for j in find_jobs(src, out, recursive=True)}
    assert jobs == {"a.mov": ("a.mp4", "video"), "a.mp4": ("a_mp4.mp4", "video"), "b.gif": ("b.mp4", "video"),
                    "c.JPG": ("c.jpg", "image"), "d.tiff": ("d.tiff", "image"), "e.heic": ("e.jpg", "image"),
                    "deep/er/f.webm": ("deep/er/f.mp4", "video")}
