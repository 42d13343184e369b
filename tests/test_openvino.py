"""The OpenVINO backend and its int8 model, on the shipped model and real frames (examples/).

Parity: OpenVINO fp32 against eager PyTorch, max difference ≤ 2/255 on uint8 output.
Quality guard (README "CPU real time"): int8 against fp32 on clip frames the calibration never saw,
three styles: PSNR, max difference, the share of pixels off by more than 16/255, the warping error
of a short run of frames and the palette distance to the style, each within the stated tolerance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from clitools import assert_one_line_error, run_vstyle
from conftest import EXAMPLES

pytest.importorskip("openvino")
pytest.importorskip("onnx")
pytest.importorskip("onnxscript")

STYLES = ("starry_night.jpg", "great_wave.jpg", "the_scream.jpg")
#: Held-out frames: the calibration takes every sixth frame from 0, these sit between them.
HELD_OUT = (3, 33, 63)
#: A run of consecutive frames for the warping error.
RUN = range(40, 44)

#: The stated int8 tolerance against fp32 (README "CPU real time", measured values beside it).
MIN_PSNR_DB = 26.0
MAX_SHARE_OFF_16 = 0.14
MAX_WARP_RATIO = 1.60
MAX_PALETTE_RATIO = 1.10


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private $VSTYLE_HOME: export, compiled blobs and the int8 model are built here once."""
    path = tmp_path_factory.mktemp("vstyle-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("VSTYLE_HOME", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def clip_frames(example_clip: Path) -> dict[int, np.ndarray]:
    """Frames of the bundled clip by index (only those the tests use)."""
    from vstyle.io.video_source import VideoReader, probe_video

    wanted = set(HELD_OUT) | set(RUN)
    out = {}
    with VideoReader(probe_video(example_clip)) as reader:
        for i, frame in enumerate(reader.frames()):
            if i in wanted:
                out[i] = frame.image
            if len(out) == len(wanted):
                break
    return out


@pytest.fixture(scope="module")
def engines(home: Path) -> dict[str, object]:
    from vstyle.engine import Engine
    from vstyle.weights import load_model

    net = load_model(None)
    return {"torch": Engine(net, device="cpu", backend="torch"),
            "fp32": Engine(net, device="cpu", backend="openvino"),
            "int8": Engine(net, device="cpu", precision="int8", backend="auto")}


def _style(engine, name: str):
    from vstyle.io.images import read_image

    return engine.style_code(read_image(EXAMPLES / name))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))


def test_openvino_fp32_matches_torch(engines, clip_frames) -> None:
    """Within 2/255 of eager PyTorch on real frames, at the clip's size and at an odd one (padding path)."""
    from vstyle.io.images import resize

    batch = np.stack([clip_frames[i] for i in HELD_OUT])
    odd = np.stack([resize(f, 301, 171) for f in batch[:2]])
    assert engines["fp32"].backend_name == "openvino" and engines["fp32"].precision == "fp32"
    for name in STYLES:
        code = _style(engines["torch"], name)
        for frames in (batch, odd):
            ref = engines["torch"].stylize(frames, code).astype(int)
            got = engines["fp32"].stylize(frames, code).astype(int)
            assert got.shape == ref.shape
            assert np.abs(got - ref).max() <= 2, name


def test_int8_quality_guard(engines, clip_frames) -> None:
    """int8 against OpenVINO fp32 on held-out real frames, three styles: the stated tolerance."""
    from vstyle.metrics.palette import palette_distance
    from vstyle.metrics.temporal import pair_flows, sequence_warping_errors
    from vstyle.io.images import read_image

    held = np.stack([clip_frames[i] for i in HELD_OUT])
    run = [clip_frames[i] for i in RUN]
    pairs = pair_flows(run, 1)
    report = []
    for name in STYLES:
        code = _style(engines["fp32"], name)
        ref, got = engines["fp32"].stylize(held, code), engines["int8"].stylize(held, code)
        diff = np.abs(ref.astype(int) - got.astype(int))
        psnr = min(_psnr(r, g) for r, g in zip(ref, got))
        share = float((diff > 16).mean())
        warp_ref = np.mean(sequence_warping_errors(list(engines["fp32"].stylize(np.stack(run), code)), pairs))
        warp_int8 = np.mean(sequence_warping_errors(list(engines["int8"].stylize(np.stack(run), code)), pairs))
        style = read_image(EXAMPLES / name)
        pal_ref = np.mean([palette_distance(r, style) for r in ref])
        pal_int8 = np.mean([palette_distance(g, style) for g in got])
        report.append(f"{name}: PSNR {psnr:.1f} dB, max {diff.max()}, >16/255 {share:.2%}, "
                      f"warp ×{warp_int8 / warp_ref:.2f}, palette ×{pal_int8 / pal_ref:.2f}")
        assert psnr >= MIN_PSNR_DB, report
        assert share <= MAX_SHARE_OFF_16, report
        assert warp_int8 <= MAX_WARP_RATIO * warp_ref, report
        assert pal_int8 <= MAX_PALETTE_RATIO * pal_ref, report
    print("\n".join(report))


def test_int8_model_cached_per_model(engines, home: Path) -> None:
    """Calibrated once: the int8 model lies in the cache, and asking again neither rebuilds nor moves it."""
    from vstyle.export.openvino_int8 import cached_int8_model
    from vstyle.weights import load_model

    path = engines["int8"].backend.source
    assert path.is_file() and path.with_suffix(".bin").is_file()
    assert path.is_relative_to(home)
    before = path.stat().st_mtime_ns
    assert cached_int8_model(load_model(None)) == path
    assert path.stat().st_mtime_ns == before
    assert list((home / "cache" / "openvino").glob("*.blob")), "compiled blobs are cached too"


def test_auto_picks_openvino_for_int8_only() -> None:
    """fp32 stays on eager PyTorch (OpenVINO fp32 measured no faster); int8 exists only in OpenVINO."""
    from vstyle.engine.auto import pick_backend

    cpu = torch.device("cpu")
    assert pick_backend(cpu, None, "int8") == "openvino"
    assert pick_backend(cpu, None, "fp32") == "torch"
    assert pick_backend(cpu, None, "bf16") == "torch"


def test_image_cli_openvino_int8_and_refusals(home: Path, tmp_path: Path, engines) -> None:
    out = tmp_path / "out.jpg"
    env = {"VSTYLE_HOME": str(home)}
    proc = run_vstyle("image", EXAMPLES / "great_wave.jpg", "--style", EXAMPLES / "the_scream.jpg", "--max-size", "160",
                      "--precision", "int8", "--backend", "openvino", "--threads", "2", "-o", out, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert '"backend": "openvino"' in proc.stdout and '"precision": "int8"' in proc.stdout
    assert out.is_file()
    for args, message in ((("--precision", "int8", "--backend", "torch"), "int8 runs with OpenVINO only"),
                          (("--backend", "openvino", "--precision", "bf16", "--device", "cuda"), "--device cuda")):
        proc = run_vstyle("image", EXAMPLES / "great_wave.jpg", "--style", EXAMPLES / "the_scream.jpg",
                          "-o", tmp_path / "x.jpg", *args, env=env)
        assert message in assert_one_line_error(proc)
