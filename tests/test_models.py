"""SCT maths against a plain re-statement of reference §1.3, and style-code caching."""

from __future__ import annotations

import torch

from vstyle.models import SCT, StyleCode, build


def _reference_sct(sct: SCT, fc: torch.Tensor, fs: torch.Tensor) -> torch.Tensor:
    """Reference §1.3, written out step by step."""
    b, c, h, w = fc.shape
    flat = fc.reshape(b, c, -1)
    mu_c = flat.mean(-1)
    var_c = ((flat - mu_c[..., None]) ** 2).sum(-1) / (h * w - 1)  # unbiased
    sd_c = torch.sqrt(var_c + 1e-5)  # eps inside the sqrt
    c_hat = (fc - mu_c[..., None, None]) / sd_c[..., None, None]
    mu_s = fs.mean(dim=(2, 3))
    s = sct.snet(fs - mu_s[..., None, None])
    s = s.reshape(b, s.shape[1], -1)
    sigma = s @ s.transpose(1, 2) / s.shape[-1]  # divided by M, no re-centring
    cc = sct.cnet(c_hat)
    g = (sigma @ cc.reshape(b, cc.shape[1], -1)).reshape(b, -1, h, w)
    return sct.uncompress(g) + mu_s[..., None, None]  # style mean added back, content mean not


def test_sct_matches_reference_statement() -> None:
    torch.manual_seed(0)
    for sct, ch in ((SCT.artistic(), 512), (SCT.photo(), 256)):
        fc = torch.rand(2, ch, 9, 11) * 3
        fs = torch.rand(2, ch, 12, 10) * 3
        ours = sct(fc, fs)
        ref = _reference_sct(sct, fc, fs)
        assert ours.shape == fc.shape
        assert torch.allclose(ours, ref, atol=1e-5, rtol=0), (ours - ref).abs().max()


def test_official_parameter_counts() -> None:
    art = build("sctnet", {"mode": "art"})
    photo = build("sctnet", {"mode": "photo"})
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert (count(art.encoder), count(art.sct), count(art.decoder)) == (3_505_740, 1_664_320, 3_505_219)
    assert (count(photo.encoder), count(photo.sct)) == (555_340, 344_640)


def test_cached_style_code_matches_per_frame_recomputation() -> None:
    torch.manual_seed(0)
    net = build("sctnet", {"mode": "art"}).eval()
    style = torch.rand(1, 3, 64, 72)
    frames = torch.rand(4, 3, 48, 56)
    code = net.encode_style(style)
    with torch.no_grad():
        cached = net(frames, code.sigma, code.mean)
        fresh = torch.cat([net.decoder(net.sct(net.encoder(f[None]), net.encoder(style))) for f in frames])
    assert torch.allclose(cached, fresh, atol=1e-5, rtol=0), (cached - fresh).abs().max()


def test_alpha_blends_features_and_zero_alpha_reconstructs_content_path() -> None:
    torch.manual_seed(0)
    net = build("sctnet", {"mode": "photo"}).eval()
    code = net.encode_style(torch.rand(1, 3, 40, 40))
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        full = net(x, code.sigma, code.mean, 1.0)
        none = net(x, code.sigma, code.mean, 0.0)
        half = net(x, code.sigma, code.mean, torch.tensor(0.5))
        assert torch.allclose(none, net.decoder(net.encoder(x)), atol=1e-6)
    assert not torch.allclose(full, none) and not torch.allclose(half, full) and not torch.allclose(half, none)


def test_blended_codes_equal_blended_sct_outputs() -> None:
    torch.manual_seed(0)
    net = build("sctnet", {"mode": "photo"}).eval()
    a, b = net.encode_style(torch.rand(1, 3, 40, 40)), net.encode_style(torch.rand(1, 3, 50, 44))
    fc = net.encoder(torch.rand(1, 3, 32, 32))
    mix = StyleCode.blend([a, b], [0.7, 0.3])
    with torch.no_grad():
        lhs = net.sct.transform(fc, mix.sigma, mix.mean)
        rhs = 0.7 * net.sct.transform(fc, a.sigma, a.mean) + 0.3 * net.sct.transform(fc, b.sigma, b.mean)
    assert torch.allclose(lhs, rhs, atol=1e-5)
