"""Inference settings travel with the weights: stored by save_model, read by the engine, defaults for
older files, printed by ``vstyle weights show``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from clitools import run_vstyle
from vstyle.errors import VStyleError
from vstyle.models import InferenceSettings, build
from vstyle.weights import PROJECT_WEIGHTS, inference_settings, load_model, read_metadata, save_model


def _rewrite_metadata(path: Path, change) -> Path:
    """Rewrite a model file's vstyle metadata with ``change(meta)`` (the tensors stay as they are)."""
    from safetensors.torch import load_file, save_file

    meta = read_metadata(path)
    change(meta)
    save_file(load_file(str(path)), str(path), metadata={"vstyle": json.dumps(meta)})
    return path


@pytest.fixture
def photo_file(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_model(build("sctnet", {"mode": "photo"}), tmp_path / "photo.safetensors")


def test_new_files_store_the_settings(photo_file: Path) -> None:
    assert read_metadata(photo_file)["inference"] == {"style_size": 512, "margin": 0, "multiple": 4, "mode": "photo"}


def test_an_older_file_gets_todays_defaults(photo_file: Path) -> None:
    _rewrite_metadata(photo_file, lambda meta: meta.pop("inference"))
    model = load_model(photo_file)
    assert model.inference_settings == InferenceSettings(style_size=512, margin=0, multiple=4, mode="photo")
    assert inference_settings(photo_file) == (model.inference_settings, False)


def test_stored_settings_are_what_the_engine_runs_with(photo_file: Path) -> None:
    from vstyle.engine import Engine

    _rewrite_metadata(photo_file, lambda meta: meta["inference"].update(style_size=40, margin=4, multiple=8))
    engine = Engine(load_model(photo_file), device="cpu")
    assert (engine.model.style_size, engine.model.margin, engine.model.multiple) == (40, 4, 8)
    style = np.random.default_rng(0).integers(0, 256, (80, 96, 3), dtype=np.uint8)
    by_file, explicit = engine.style_code(style), engine.style_code(style, max_size=40)
    assert torch.equal(by_file.sigma, explicit.sigma) and torch.equal(by_file.mean, explicit.mean)
    assert engine.stylize(np.zeros((1, 21, 30, 3), np.uint8), by_file).shape == (1, 21, 30, 3)


@pytest.mark.parametrize("bad, words", [({"multiple": 6}, "multiple of 4"), ({"mode": "art"}, "photo model"),
                                        ({"style_size": "big"}, "non-negative integer"),
                                        ({"stride": 2}, "unknown inference settings")])
def test_impossible_settings_are_one_line_errors(photo_file: Path, bad: dict, words: str) -> None:
    _rewrite_metadata(photo_file, lambda meta: meta["inference"].update(bad))
    with pytest.raises(VStyleError, match=words) as err:
        load_model(photo_file)
    assert "\n" not in str(err.value)


def test_the_shipped_model_loads_with_its_settings() -> None:
    shipped = PROJECT_WEIGHTS / "default.safetensors"
    if not shipped.is_file():
        pytest.skip("weights/default.safetensors is not in this checkout")
    model = load_model(None)
    assert model.inference_settings == InferenceSettings(style_size=256, margin=8, multiple=8, mode="art")
    assert inference_settings(shipped)[0] == model.inference_settings


def test_committed_model_files_load_and_the_fifth_stretch_paints_each_style_with_its_own_decoder() -> None:
    """Every file under weights/ loads; the fifth v2 stretch's decoder FiLM learnt style-specific scales."""
    from vstyle.io.images import fit_within, read_image

    files = sorted(PROJECT_WEIGHTS.glob("*.safetensors"))
    stretch5 = PROJECT_WEIGHTS / "default-v2-stretch5.safetensors"
    if stretch5 not in files:
        pytest.skip("weights/default-v2-stretch5.safetensors is not in this checkout")
    for path in files:
        load_model(path)
    model = load_model(stretch5).float().eval()
    assert model.modulates_decoder
    examples = PROJECT_WEIGHTS.parent / "examples"
    scales = []
    with torch.no_grad():
        for name in ("starry_night.jpg", "great_wave.jpg"):
            image = fit_within(read_image(examples / name), model.style_size)
            code = model.encode_style(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255)
            scales.append(torch.cat([g.flatten() for g, _ in model.decoder.modulation(code.sigma, code.mean)]))
    assert (scales[0] - scales[1]).abs().mean() > 0.01


def test_weights_show_prints_the_settings(photo_file: Path) -> None:
    proc = run_vstyle("weights", "show", photo_file)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["inference"] == {"style_size": 512, "margin": 0, "multiple": 4, "mode": "photo"}
    assert shown["inference_stored"] is True
