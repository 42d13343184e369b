"""ONNX export and the ONNX Runtime backend: one file with dynamic batch/height/width, metadata, and
parity with PyTorch on real frames (max abs difference ≤ 1e-3 in fp32)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from clitools import assert_one_line_error, run_vstyle
from vstyle.models import architectures, build
from vstyle.weights import load_model, save_model

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxscript")

TOL = 1e-3


def seeded(arch: str, mode: str, **config: object) -> nn.Module:
    """A seeded random model with He-initialised convolutions (test fixture, never shipped).

    PyTorch's default init shrinks activations layer after layer (outputs ~0.03), which would make
    an absolute tolerance meaningless; He init keeps them O(1) like a trained network's.
    """
    torch.manual_seed(0)
    model = build(arch, {"mode": mode, **config})
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.uniform_(m.bias, -0.05, 0.05)
        elif isinstance(m, nn.Linear):  # the style FiLM: small, so scales stay near 1
            nn.init.normal_(m.weight, std=0.02)
            nn.init.uniform_(m.bias, -0.05, 0.05)
    return model.eval()


@pytest.fixture(scope="module")
def frames(example_clip: Path) -> torch.Tensor:
    """The first 3 frames of the bundled clip, scaled to 320×240, as 3×3×240×320 float RGB in [0, 1]."""
    av = pytest.importorskip("av")
    with av.open(str(example_clip)) as container:
        out = []
        for frame in container.decode(video=0):
            out.append(frame.to_ndarray(format="rgb24"))
            if len(out) == 3:
                break
    return _resize(torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 255.0, 240, 320)


@pytest.fixture(scope="module")
def style_image(example_style: Path) -> torch.Tensor:
    from vstyle.io.images import fit_within, read_image

    img = fit_within(read_image(example_style), 256)
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float() / 255.0


@pytest.fixture(scope="module")
def art_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[nn.Module, Path, Path]:
    """The official-layout artistic model saved to a file and exported once with the CLI."""
    d = tmp_path_factory.mktemp("onnx")
    model_path = save_model(seeded("sctnet", "art"), d / "art.safetensors")
    out = d / "art.onnx"
    proc = run_vstyle("export-onnx", "--model", model_path, "-o", out, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["output"] == str(out)
    return load_model(model_path), model_path, out


def _resize(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)


def test_export_metadata_opset_and_dynamic_dims(art_export) -> None:
    model, model_path, path = art_export
    proto = onnx.load(str(path))
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    meta = {p.key: p.value for p in proto.metadata_props}
    from vstyle.weights import file_sha256

    assert meta["arch"] == "sctnet" and meta["mode"] == "art" and meta["multiple"] == "8"
    assert meta["source_sha256"] == file_sha256(model_path)
    assert json.loads(meta["inputs"])["sigma"] == [32, 32]
    dims = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in list(proto.graph.input) + list(proto.graph.output)}
    assert dims == {"frames": ["batch", 3, "height", "width"], "sigma": [32, 32], "mean": [512], "alpha": [1],
                    "stylized": ["batch", 3, "height", "width"]}
    ops = {n.op_type for n in proto.graph.node}
    # Reflection pads and nearest upsampling stay single ops (no shape-computation scaffolding).
    assert sum(n.op_type == "Pad" for n in proto.graph.node) == 18 and "ConstantOfShape" not in ops


def test_export_refuses_to_overwrite(art_export) -> None:
    _, model_path, path = art_export
    before = path.read_bytes()
    line = assert_one_line_error(run_vstyle("export-onnx", "--model", model_path, "-o", path))
    assert "exists" in line and "--overwrite" in line
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".*partial*"))


def test_ort_matches_torch_two_sizes_batches_1_and_3(art_export, frames, style_image) -> None:
    """One exported file, dynamic shapes: 240×320 (native) and 96×136 (resized), batch 1 and 3."""
    model, _, path = art_export
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    code = model.encode_style(style_image)
    for h, w in ((240, 320), (96, 136)):
        x_all = frames if (h, w) == (240, 320) else _resize(frames, h, w)
        for batch, alpha in ((1, 1.0), (3, 0.6)):
            x = x_all[:batch].contiguous()
            with torch.inference_mode():
                ref = model(x, code.sigma, code.mean, torch.tensor([alpha])).numpy()
            (out,) = session.run(None, {"frames": x.numpy(), "sigma": code.sigma.numpy(), "mean": code.mean.numpy(),
                                        "alpha": np.array([alpha], np.float32)})
            assert out.shape == (batch, 3, h, w)
            assert np.abs(ref).max() > 0.2  # a real signal, not a vacuous comparison
            diff = np.abs(out - ref).max()
            assert diff <= TOL, (h, w, batch, diff)


def test_ort_backend_engine_parity_and_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frames,
                                             style_image) -> None:
    """Engine(backend="ort") equals Engine(backend="torch") on an odd-sized frame (padding path) and
    exports once into $VSTYLE_HOME/cache."""
    from vstyle.engine import Engine
    from vstyle.export import onnx_export

    monkeypatch.setenv("VSTYLE_HOME", str(tmp_path))
    model = seeded("sctnet", "photo")
    ort_engine = Engine(model, device="cpu", backend="ort")
    torch_engine = Engine(model, device="cpu", backend="torch")
    assert ort_engine.backend_name == "ort"
    cached = list((tmp_path / "cache" / "onnx").glob("*.onnx"))
    assert len(cached) == 1 and "fp32" in cached[0].name
    style = (style_image[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    code = torch_engine.style_code(style)
    x = _resize(frames[:2], 101, 133)
    a = ort_engine.stylize_tensor(x, code, alpha=0.8)
    b = torch_engine.stylize_tensor(x, code, alpha=0.8)
    assert a.shape == (2, 3, 101, 133)
    assert (a - b).abs().max().item() <= TOL

    def no_export(*args, **kwargs):
        raise AssertionError("should have used the cached ONNX file")

    monkeypatch.setattr(onnx_export, "export_onnx", no_export)
    Engine(model, device="cpu", backend="ort")


@pytest.mark.slow
def test_fp16_graph_keeps_instance_norm_in_fp32(frames, style_image) -> None:
    """The fp16 file stores fp16 weights, casts to fp32 around instance normalisation, keeps float32
    inputs/outputs, and stays close to fp32 PyTorch (ONNX Runtime on the CPU runs it in fp32 kernels)."""
    from vstyle.export.onnx_export import export_onnx

    model = seeded("sctnet", "photo")
    data = export_onnx(model, "fp16")
    proto = onnx.load_model_from_string(data)
    to_float = [n for n in proto.graph.node if n.op_type == "Cast" and n.attribute[0].i == onnx.TensorProto.FLOAT]
    assert any(n.op_type == "ReduceMean" for n in proto.graph.node) and len(to_float) >= 2
    assert {i.type.tensor_type.elem_type for i in proto.graph.input} == {onnx.TensorProto.FLOAT}
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in proto.graph.initializer)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    code = model.encode_style(style_image)
    x = _resize(frames[:1], 64, 88)
    with torch.inference_mode():
        ref = model(x, code.sigma, code.mean, 1.0).numpy()
    (out,) = session.run(None, {"frames": x.numpy(), "sigma": code.sigma.numpy(), "mean": code.mean.numpy(),
                                "alpha": np.ones(1, np.float32)})
    assert np.abs(out - ref).max() <= 0.02 * max(1.0, np.abs(ref).max())


@pytest.mark.skipif("sctnet-mobile" not in architectures(), reason="sctnet-mobile is not registered")
@pytest.mark.parametrize("config", [
    {"dec_upsample": "nearest"},
    {"dec_upsample": "bilinear"},
    # The second default model's layout and its style-modulated successor.
    {"dec_res_blocks": 2, "skip_taps": ["b0", "b2"]},
    {"dec_res_blocks": 2, "skip_taps": ["b0", "b2"], "dec_style_film": True},
    # Dead channels pruned: a level with a skip, one without (zeros put back) and a separable one.
    {"dec_res_blocks": 2, "skip_taps": ["b0", "b2"], "dec_style_film": True, "dec_widths": [96, 48, 24, 12],
     "dec_live_channels": [80, 19, 24, 9]},
], ids=["nearest", "bilinear", "skips", "film", "pruned"])
def test_mobile_architecture_exports_and_matches(frames, style_image, config: dict[str, object]) -> None:
    from vstyle.export.onnx_export import export_onnx

    model = seeded("sctnet-mobile", "art", **config)
    session = ort.InferenceSession(export_onnx(model), providers=["CPUExecutionProvider"])
    code = model.encode_style(_resize(style_image, 128, 128))
    m = model.multiple
    x = _resize(frames[:2], 4 * m, 6 * m)
    with torch.inference_mode():
        ref = model(x, code.sigma, code.mean, torch.tensor([0.7])).numpy()
    (out,) = session.run(None, {"frames": x.numpy(), "sigma": code.sigma.numpy(), "mean": code.mean.numpy(),
                                "alpha": np.array([0.7], np.float32)})
    # Relative: He-initialised residual blocks grow the random outputs to O(100).
    assert np.abs(out - ref).max() <= TOL * max(1.0, np.abs(ref).max())


def test_shipped_model_ort_matches_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frames,
                                          example_style: Path) -> None:
    """The trained default model (when shipped): ONNX Runtime equals PyTorch on real frames and a real style."""
    from vstyle.engine import Engine, pad_to_multiple
    from vstyle.errors import VStyleError
    from vstyle.io.images import read_image

    try:
        model = load_model(None)
    except VStyleError:
        pytest.skip("no shipped default model")
    monkeypatch.setenv("VSTYLE_HOME", str(tmp_path))
    torch_engine, ort_engine = Engine(model, device="cpu"), Engine(model, device="cpu", backend="ort")
    code = torch_engine.style_code(read_image(example_style), max_size=256)
    for x in (frames, _resize(frames[:1], 120, 160)):
        x, _, _ = pad_to_multiple(x, model.multiple)
        a = torch_engine.backend.run(x, code.sigma, code.mean, 1.0)
        b = ort_engine.backend.run(x, code.sigma, code.mean, 1.0)
        assert a.abs().max().item() > 0.2
        assert (a - b).abs().max().item() <= TOL
