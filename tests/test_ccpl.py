"""CCPL loss: shapes, sampling, contrastive behaviour, temperature, gradient flow."""

from __future__ import annotations

import pytest
import torch

from vstyle.train.ccpl import CCPL, NEIGHBOURS, difference_vectors, info_nce, projector, sample_centres


def test_centres_are_distinct_and_never_on_the_border() -> None:
    g = torch.Generator().manual_seed(0)
    for h, w in [(3, 3), (4, 11), (32, 32), (5, 7)]:
        num = min(8, (h - 2) * (w - 2))
        for _ in range(200):
            ys, xs = sample_centres(h, w, num, g)
            assert ys.min() >= 1 and ys.max() <= h - 2
            assert xs.min() >= 1 and xs.max() <= w - 2
            assert len(set(zip(ys.tolist(), xs.tolist()))) == num


def test_centres_cover_the_whole_interior() -> None:
    g = torch.Generator().manual_seed(1)
    seen = set()
    for _ in range(300):
        ys, xs = sample_centres(6, 5, 8, g)
        seen.update(zip(ys.tolist(), xs.tolist()))
    assert seen == {(y, x) for y in range(1, 5) for x in range(1, 4)}


def test_too_small_maps_are_rejected() -> None:
    with pytest.raises(ValueError, match="interior"):
        sample_centres(3, 4, 8)


def test_difference_vector_shapes_and_values() -> None:
    feat = torch.randn(2, 5, 6, 7)
    ys, xs = torch.tensor([1, 4, 2]), torch.tensor([1, 5, 3])
    d = difference_vectors(feat, ys, xs)
    assert d.shape == (2, 8 * 3, 5)
    # slot k*N + j is direction k of centre j: centre minus neighbour
    k, j = 6, 1
    dy, dx = NEIGHBOURS[k]
    expect = feat[:, :, ys[j], xs[j]] - feat[:, :, ys[j] + dy, xs[j] + dx]
    torch.testing.assert_close(d[:, k * 3 + j], expect)


def test_projector_shape() -> None:
    head = projector(128)
    assert head(torch.randn(2, 64, 128)).shape == (2, 64, 32)


def _feats(seed: int, channels=(16, 32), sizes=(16, 8), b: int = 2) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, c, s, s, generator=g) for c, s in zip(channels, sizes)]


def test_loss_is_scalar_and_identical_features_beat_shuffled_ones() -> None:
    torch.manual_seed(0)
    ccpl = CCPL(["a", "b"], [16, 32])
    content = _feats(1)
    shuffled = [f[:, :, torch.randperm(f.shape[2])][:, :, :, torch.randperm(f.shape[3])] for f in content]
    same, other = [], []
    for s in range(20):
        same.append(ccpl(content, content, torch.Generator().manual_seed(s)))
        other.append(ccpl(shuffled, content, torch.Generator().manual_seed(s)))
    assert same[0].shape == ()
    assert torch.stack(same).mean() < torch.stack(other).mean()


def test_temperature_changes_the_value() -> None:
    torch.manual_seed(0)
    a = CCPL(["a"], [16], tau=0.07)
    b = CCPL(["a"], [16], tau=0.5)
    b.load_state_dict(a.state_dict())
    g, c = _feats(2, (16,), (12,)), _feats(3, (16,), (12,))
    la = a(g, c, torch.Generator().manual_seed(0))
    lb = b(g, c, torch.Generator().manual_seed(0))
    assert not torch.isclose(la, lb)


def test_info_nce_matches_the_positive_first_layout() -> None:
    q = torch.nn.functional.normalize(torch.randn(2, 6, 4), dim=-1)
    k = torch.nn.functional.normalize(torch.randn(2, 6, 4), dim=-1)
    tau = 0.1
    sim = torch.bmm(q, k.transpose(1, 2))
    pos = sim.diagonal(dim1=1, dim2=2).unsqueeze(-1)
    neg = sim.masked_select(~torch.eye(6, dtype=torch.bool)).reshape(2, 6, 5)
    logits = torch.cat([pos, neg], dim=-1).reshape(12, 6) / tau
    ref = torch.nn.functional.cross_entropy(logits, torch.zeros(12, dtype=torch.long))
    torch.testing.assert_close(info_nce(q, k, tau), ref)


def test_gradients_reach_generator_and_heads_not_the_frozen_encoder() -> None:
    torch.manual_seed(0)
    encoder = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU()).requires_grad_(False)
    generator = torch.nn.Conv2d(3, 3, 3, padding=1)
    ccpl = CCPL(["x"], [8])
    content = torch.rand(2, 3, 12, 12)
    loss = ccpl([encoder(generator(content))], [encoder(content)], torch.Generator().manual_seed(0))
    loss.backward()
    assert generator.weight.grad is not None and generator.weight.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in ccpl.parameters())
    assert all(p.grad is None for p in encoder.parameters())


def test_keys_are_detached() -> None:
    torch.manual_seed(0)
    ccpl = CCPL(["x"], [8])
    fg = torch.randn(1, 8, 6, 6, requires_grad=True)
    fc = torch.randn(1, 8, 6, 6, requires_grad=True)
    ccpl([fg], [fc], torch.Generator().manual_seed(0)).backward()
    assert fg.grad is not None and fc.grad is None
