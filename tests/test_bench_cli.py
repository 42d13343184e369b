"""``vstyle bench``: table and JSON output, skipped combinations with reasons, one-line errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from clitools import assert_one_line_error, run_vstyle
from vstyle.bench import MemoryMeter, skip_reason
from vstyle.errors import VStyleError
from vstyle.export.shapes import parse_size
from vstyle.models import build
from vstyle.weights import save_model


@pytest.fixture(scope="module")
def photo_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random photo-mode model (the cheapest official layout; test fixture, never shipped)."""
    torch.manual_seed(0)
    return save_model(build("sctnet", {"mode": "photo"}), tmp_path_factory.mktemp("m") / "photo.safetensors")


@pytest.mark.parametrize("text, want", [("256", (256, 256)), ("720p", (1280, 720)), ("1080P", (1920, 1080)),
                                        ("320x240", (320, 240)), (" 64×48 ", (64, 48))])
def test_parse_size(text: str, want: tuple[int, int]) -> None:
    assert parse_size(text) == want


@pytest.mark.parametrize("text", ["0", "big", "12x", "-5", "720i"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(VStyleError, match="size must be"):
        parse_size(text)


def test_skip_reasons_on_cpu() -> None:
    cpu = torch.device("cpu")
    assert skip_reason("torch", "fp32", cpu) is None
    assert skip_reason("torch", "fp16", cpu) == "fp16 needs CUDA"
    assert "fp32/fp16" in skip_reason("ort", "bf16", cpu)
    assert skip_reason("nope", "fp32", cpu).startswith("unknown backend")


def test_memory_meter_sees_a_transient_cpu_allocation() -> None:
    def work() -> None:
        block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched, freed before the call returns
        time.sleep(0.05)
        del block

    assert MemoryMeter(torch.device("cpu")).peak_rise(work) >= 48 * 2**20


def test_bench_json_lists_ok_and_skipped_cases(tmp_path: Path, photo_model: Path) -> None:
    proc = run_vstyle("bench", "--model", photo_model, "--device", "cpu", "--sizes", "48,40x32", "--batch", "1,2",
                      "--backends", "torch,ort,trt", "--precisions", "fp32,fp16", "--warmup", "0", "--runs", "2",
                      "--json", env={"VSTYLE_HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["mode"] == "photo" and out["runs"] == 2 and out["machine"]["device"] == "cpu"
    assert isinstance(out["machine"]["cpu_threads"], int)  # a number (it was a string)
    rows = {(r["backend"], r["precision"], r["width"], r["height"], r["batch"]): r for r in out["results"]}
    assert len(rows) == 3 * 2 * 2 * 2
    for backend in ("torch", "ort"):
        r = rows[(backend, "fp32", 40, 32, 2)]
        assert r["status"] == "ok", r
        assert r["ms_per_frame"] > 0 and r["fps"] > 0 and r["peak_mb"] >= 0 and len(r["runs_ms"]) == 2
        assert abs(r["ms_per_frame"] * 2 - r["ms_per_batch"]) < 0.05
    assert rows[("torch", "fp16", 48, 48, 1)]["reason"] == "fp16 needs CUDA"
    trt = rows[("trt", "fp32", 48, 48, 1)]
    if not torch.cuda.is_available():
        assert trt["status"] == "skipped" and "CUDA" in trt["reason"]


def test_bench_table(photo_model: Path) -> None:
    """The table fits 80 columns whole (it was about 91 wide, so every row wrapped): reasons go under it."""
    proc = run_vstyle("bench", "--model", photo_model, "--device", "cpu", "--sizes", "32,1920x1080",
                      "--backends", "torch,trt", "--precisions", "fp32", "--warmup", "0", "--runs", "1",
                      env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    for word in ("backend", "ms/frame", "FPS", "peak MB", "32×32", "1920×1080", "torch", "skipped (1)",
                 "1. trt fp32 all: skipped: "):
        assert word in proc.stdout, proc.stdout
    assert "…" not in proc.stdout and max(map(len, proc.stdout.splitlines())) <= 80, proc.stdout


@pytest.mark.parametrize("args, words", [
    (("--sizes", "huge"), "size must be"),
    (("--batch", "1,x"), "--batch"),
    (("--backends", "torch,cuda"), "unknown backend 'cuda'"),
    (("--precisions", "int4"), "unknown precision 'int4'"),
])
def test_bench_bad_options_are_one_line(photo_model: Path, args: tuple[str, ...], words: str) -> None:
    line = assert_one_line_error(run_vstyle("bench", "--model", photo_model, "--device", "cpu", *args))
    assert words in line


def test_auto_backend_and_cpu_defaults() -> None:
    """auto: TensorRT only for CUDA with an engine file; eager torch in channels-last otherwise."""
    from vstyle.engine import Engine
    from vstyle.engine.auto import pick_backend

    assert pick_backend(torch.device("cuda"), "m.engine") == "trt"
    assert pick_backend(torch.device("cuda"), None) == "torch"
    assert pick_backend(torch.device("cpu"), "m.engine") == "torch"
    torch.manual_seed(0)
    engine = Engine(build("sctnet", {"mode": "photo"}), device="cpu", backend="auto")
    assert engine.backend_name == "torch" and engine.backend.channels_last


def test_bf16_backend_keeps_the_fp32_model_for_styles() -> None:
    """A reduced-precision torch backend runs a private copy: style encoding still works in fp32."""
    import numpy as np

    from vstyle.engine import Engine

    torch.manual_seed(0)
    model = build("sctnet", {"mode": "photo"})
    engine = Engine(model, device="cpu", precision="bf16")
    code = engine.style_code(np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8))
    assert next(model.parameters()).dtype == torch.float32
    out = engine.stylize(np.zeros((1, 20, 28, 3), np.uint8), code)
    assert out.shape == (1, 20, 28, 3) and out.dtype == np.uint8
