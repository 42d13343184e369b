"""Official-file loader, import command, project format, name resolution."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vstyle.engine import Engine
from vstyle.errors import VStyleError
from vstyle.weights import load_model, load_official, read_metadata, resolve, save_model

from clitools import assert_one_line_error, run_vstyle
from official_files import official_state_dicts, write_official_files


@pytest.mark.parametrize("mode", ["art", "photo"])
def test_official_files_load_and_keep_odd_sizes(tmp_path: Path, mode: str) -> None:
    vgg, dec, sct = write_official_files(tmp_path, mode)
    model = load_official(vgg, dec, sct)
    assert model.mode == mode
    ref_vgg, ref_dec, ref_sct = official_state_dicts(mode)
    assert torch.equal(model.encoder[2].weight, ref_vgg["2.weight"])
    # photo decoder: file key 11 is native key 1 (reference §2.4)
    dkey = "1.weight" if mode == "photo" else "11.weight"
    assert torch.equal(model.decoder.state_dict()[dkey], ref_dec["11.weight"])
    assert torch.equal(model.sct.uncompress.weight, ref_sct["uncompress.weight"])
    engine = Engine(model, device="cpu")
    rng = np.random.default_rng(0)
    code = engine.style_code(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8))
    out = engine.stylize(rng.integers(0, 255, (2, 241, 321, 3), dtype=np.uint8), code)
    assert out.shape == (2, 241, 321, 3) and out.dtype == np.uint8


def test_mode_flag_must_match_sct_file(tmp_path: Path) -> None:
    vgg, dec, sct = write_official_files(tmp_path, "photo")
    with pytest.raises(VStyleError, match="photo model"):
        load_official(vgg, dec, sct, mode="art")


def test_mismatched_file_names_key_and_shapes(tmp_path: Path) -> None:
    vgg, dec, sct = write_official_files(tmp_path, "art")
    sd = torch.load(dec, weights_only=True)
    sd["14.weight"] = torch.zeros(128, 256, 1, 1)
    torch.save(sd, dec)
    with pytest.raises(VStyleError) as err:
        load_official(vgg, dec, sct)
    msg = str(err.value)
    assert "'4.weight'" not in msg and "14.weight" in msg and "[128, 256, 1, 1]" in msg and "[128, 256, 3, 3]" in msg
    # a decoder passed where the SCT file belongs
    with pytest.raises(VStyleError, match="uncompress.weight"):
        load_official(vgg, sct, dec)


def test_import_command_roundtrip(tmp_path: Path) -> None:
    vgg, dec, sct = write_official_files(tmp_path, "art")
    home = tmp_path / "home"
    env = {"VSTYLE_HOME": str(home)}
    proc = run_vstyle("weights", "import", "--vgg", vgg, "--decoder", dec, "--sct", sct, "--name", "ccpl-art",
                      "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    target = home / "ccpl-art.safetensors"
    meta = read_metadata(target)
    assert meta["arch"] == "sctnet" and meta["mode"] == "art"
    assert meta["provenance"]["files"]["sct"]["name"] == "sct_iter_160000.pth.tar"
    again = run_vstyle("weights", "import", "--vgg", vgg, "--decoder", dec, "--sct", sct, "--name", "ccpl-art", env=env)
    assert "exists" in assert_one_line_error(again)
    bad = run_vstyle("weights", "import", "--vgg", dec, "--decoder", dec, "--sct", sct, "--name", "x", env=env)
    assert "VGG" in assert_one_line_error(bad)
    # the imported model equals the directly loaded one
    a = load_official(vgg, dec, sct)
    import os

    os.environ["VSTYLE_HOME"] = str(home)
    try:
        b = load_model("ccpl-art")
    finally:
        del os.environ["VSTYLE_HOME"]
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_resolve_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSTYLE_HOME", str(tmp_path))
    with pytest.raises(VStyleError, match="not found"):
        resolve("no-such-model")
    with pytest.raises(VStyleError, match="not found"):
        resolve(str(tmp_path / "missing.safetensors"))
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(VStyleError, match="not a vstyle model"):
        load_model(junk)


def test_fp16_file_roundtrip(tmp_path: Path) -> None:
    from vstyle.models import build

    torch.manual_seed(0)
    model = build("sctnet", {"mode": "photo"})
    path = save_model(model, tmp_path / "m.safetensors", {"note": "test"}, dtype=torch.float16)
    loaded = load_model(path)
    w0, w1 = model.sct.uncompress.weight, loaded.sct.uncompress.weight
    assert w1.dtype == torch.float32 and torch.allclose(w0, w1, atol=1e-3)
