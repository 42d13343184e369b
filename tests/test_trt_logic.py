"""TensorRT logic that needs no GPU: shapes and profiles, sidecar checks, the builder's wiring
(against a recording stand-in for the ``tensorrt`` module), and the one-line refusal without CUDA."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
import torch

from clitools import assert_one_line_error, run_vstyle
from vstyle.errors import VStyleError
from vstyle.export import sidecar as sc
from vstyle.export.shapes import (FrameShape, Profile, check_in_profile, default_profile, make_profile, parse_shape,
                                  validate_profile)
from vstyle.export.trt_build import build_serialized, missing_for_tensorrt

# ---------------------------------------------------------------- shapes and profiles


@pytest.mark.parametrize("text, want", [("1x720x1280", (1, 720, 1280)), (" 4 × 64 × 96 ", (4, 64, 96)),
                                        ("2X8X8", (2, 8, 8))])
def test_parse_shape(text: str, want: tuple[int, int, int]) -> None:
    assert parse_shape(text).dims() == want


@pytest.mark.parametrize("text", ["720x1280", "1x720x", "ax64x64", "0x64x64", "1x-8x64", "", "1x2x3x4"])
def test_parse_shape_rejects(text: str) -> None:
    with pytest.raises(VStyleError, match="NxHxW|at least 1"):
        parse_shape(text, "--min-shape")


def test_default_profile_is_valid_for_both_strides() -> None:
    for multiple in (4, 8, 16):
        p = default_profile(multiple)
        validate_profile(p, multiple)
        assert p.max.height >= 1080 and p.max.width >= 1920 and p.opt.dims()[1:] == (720, 1280)


def test_make_profile_rounds_to_the_stride() -> None:
    p = make_profile(8, "1x100x100", "2x719x1279", "4x1000x1900")
    assert (str(p.min), str(p.opt), str(p.max)) == ("1x104x104", "2x720x1280", "4x1000x1904")
    assert str(make_profile(4, max_shape="1x1081x1921").max) == "1x1084x1924"


def test_profiles_count_the_models_margin() -> None:
    """Shapes are frame sizes; the network sees margin + frame + margin, rounded to the stride."""
    p = make_profile(8, "1x64x64", "1x512x512", "2x1080x1920", margin=8)
    assert (str(p.min), str(p.opt), str(p.max)) == ("1x80x80", "1x528x528", "2x1096x1936")
    d = default_profile(8, margin=8)
    validate_profile(d, 8)
    assert d.opt.dims()[1:] == (736, 1296) and d.max.dims()[1:] == (1096, 1936)


def test_make_profile_clips_default_opt_into_a_small_range() -> None:
    p = make_profile(8, max_shape="1x256x256")
    assert str(p.opt) == "1x256x256" and str(p.min) == "1x64x64"


@pytest.mark.parametrize("lo, opt, hi, match", [
    ("1x256x256", "1x128x128", "1x512x512", "min ≤ opt ≤ max in height"),
    ("4x64x64", "2x64x64", "4x64x64", "min ≤ opt ≤ max in batch"),
    ("1x64x64", "1x64x64", "1x64x32", "min ≤ opt ≤ max in width"),
])
def test_make_profile_rejects_unordered_shapes(lo: str, opt: str, hi: str, match: str) -> None:
    with pytest.raises(VStyleError, match=match):
        make_profile(8, lo, opt, hi)


def test_validate_profile_stride_and_minimum() -> None:
    ok = FrameShape(1, 64, 64)
    with pytest.raises(VStyleError, match="not a multiple of the model stride 8"):
        validate_profile(Profile(ok, FrameShape(1, 68, 64), FrameShape(1, 128, 128)), 8)
    with pytest.raises(VStyleError, match="below the smallest size 16"):
        validate_profile(Profile(FrameShape(1, 8, 64), ok, FrameShape(1, 128, 128)), 8)


def test_check_in_profile() -> None:
    p = make_profile(8, "1x64x64", "1x256x256", "2x512x512")
    check_in_profile(FrameShape(2, 512, 64), p, "m.engine")
    with pytest.raises(VStyleError, match=r"frames 3x256x256 .* outside .* m.engine .*max 2x512x512"):
        check_in_profile(FrameShape(3, 256, 256), p, "m.engine")
    with pytest.raises(VStyleError, match="outside"):
        check_in_profile(FrameShape(1, 520, 64), p, "m.engine")


# ---------------------------------------------------------------- sidecar

RUNTIME = {"tensorrt_version": "10.8.0.43", "gpu_name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"}
MODEL_META = {"arch": "sctnet", "mode": "art", "multiple": "8", "weights_sha256": "ab" * 32, "source_sha256": "",
              "inputs": json.dumps({"frames": ["batch", 3, "height", "width"]})}


@pytest.fixture()
def engine_file(tmp_path: Path) -> Path:
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"plan")
    meta = sc.make_sidecar(runtime=RUNTIME, profile=default_profile(8), precision="fp16", model_meta=MODEL_META,
                           workspace_mb=1024, opset=18)
    sc.sidecar_path(engine).write_text(sc.sidecar_json(meta))
    return engine


def test_sidecar_round_trip(engine_file: Path) -> None:
    meta = sc.read_sidecar(engine_file)
    assert sc.sidecar_path(engine_file).name == "m.engine.json"
    assert meta["precision"] == "fp16" and meta["multiple"] == 8 and meta["source_sha256"] is None
    assert sc.engine_profile(meta) == default_profile(8)
    sc.check_runtime(meta, RUNTIME, engine_file)
    sc.check_model(meta, "ab" * 32, engine_file)


@pytest.mark.parametrize("key, value, match", [
    ("tensorrt_version", "10.3.0.26", r"built for NVIDIA H100 80GB HBM3 \(sm 9.0\) with TensorRT 10.8.0.43; "
                                      r"this machine has .* TensorRT 10.3.0.26"),
    ("compute_capability", "8.9", r"this machine has .*sm 8.9"),
    ("gpu_name", "NVIDIA L4", "this machine has NVIDIA L4"),
])
def test_sidecar_refuses_other_gpu_or_tensorrt(engine_file: Path, key: str, value: str, match: str) -> None:
    meta = sc.read_sidecar(engine_file)
    with pytest.raises(VStyleError, match=match):
        sc.check_runtime(meta, {**RUNTIME, key: value}, engine_file)


def test_sidecar_refuses_another_model(engine_file: Path) -> None:
    meta = sc.read_sidecar(engine_file)
    with pytest.raises(VStyleError, match="built from another model"):
        sc.check_model(meta, "cd" * 32, engine_file)


def test_read_sidecar_errors(tmp_path: Path, engine_file: Path) -> None:
    with pytest.raises(VStyleError, match="engine not found"):
        sc.read_sidecar(tmp_path / "missing.engine")
    bare = tmp_path / "bare.engine"
    bare.write_bytes(b"plan")
    with pytest.raises(VStyleError, match="bare.engine.json not found"):
        sc.read_sidecar(bare)
    sc.sidecar_path(bare).write_text("{not json")
    with pytest.raises(VStyleError, match="not readable JSON"):
        sc.read_sidecar(bare)
    sc.sidecar_path(bare).write_text(json.dumps({"precision": "fp16"}))
    with pytest.raises(VStyleError, match="lacks tensorrt_version"):
        sc.read_sidecar(bare)


# ---------------------------------------------------------------- builder wiring (recording stand-in)


class _Recorder:
    """A minimal stand-in for the parts of ``tensorrt`` that build_serialized touches."""

    def __init__(self, inputs: dict[str, tuple[int, ...]], parse_ok: bool = True) -> None:
        self.calls: list[tuple] = []
        rec = self
        net_inputs = [types.SimpleNamespace(name=n, shape=s) for n, s in inputs.items()]

        class Network:
            num_inputs = len(net_inputs)
            num_outputs = 1

            def get_input(self, i):
                return net_inputs[i]

            def get_output(self, i):
                return types.SimpleNamespace(name="stylized")

        class Profile_:
            def set_shape(self, name, lo, opt, hi):
                rec.calls.append(("set_shape", name, lo, opt, hi))

        class Cache:
            def __init__(self, data):
                self.data = data

            def serialize(self):
                return self.data + b"+new"

        class Config:
            def set_memory_pool_limit(self, pool, size):
                rec.calls.append(("workspace", pool, size))

            def add_optimization_profile(self, p):
                rec.calls.append(("add_profile",))

            def create_timing_cache(self, data):
                rec.calls.append(("create_timing_cache", data))
                self.cache = Cache(data)
                return self.cache

            def set_timing_cache(self, cache, ignore_mismatch):
                rec.calls.append(("set_timing_cache", ignore_mismatch))

            def get_timing_cache(self):
                return self.cache

        class Builder:
            def __init__(self, logger):
                pass

            def create_network(self, flags):
                rec.calls.append(("create_network", flags))
                return Network()

            def create_builder_config(self):
                return Config()

            def create_optimization_profile(self):
                return Profile_()

            def build_serialized_network(self, network, config):
                return bytearray(b"PLAN")

        class Parser:
            def __init__(self, network, logger):
                self.num_errors = 0 if parse_ok else 1

            def parse(self, data):
                rec.calls.append(("parse", data))
                return parse_ok

            def get_error(self, i):
                return "In node 3 (Pad): unsupported mode\nmore detail"

        class Logger:
            WARNING = 2

            def __init__(self, level):
                pass

        self.module = types.SimpleNamespace(
            Logger=Logger, Builder=Builder, OnnxParser=Parser,
            NetworkDefinitionCreationFlag=types.SimpleNamespace(STRONGLY_TYPED=5),
            MemoryPoolType=types.SimpleNamespace(WORKSPACE="WORKSPACE"))


GOOD_INPUTS = {"frames": (-1, 3, -1, -1), "sigma": (32, 32), "mean": (512,), "alpha": (1,)}


def test_build_serialized_wiring(tmp_path: Path) -> None:
    rec = _Recorder(GOOD_INPUTS)
    cache = tmp_path / "timing.cache"
    cache.write_bytes(b"old")
    profile = make_profile(8, "1x64x64", "1x720x1280", "4x1088x1920")
    plan = build_serialized(rec.module, b"ONNX", profile, (32, 512), workspace_mb=512, timing_cache=cache)
    assert plan == b"PLAN"
    assert ("create_network", 1 << 5) in rec.calls  # strongly typed network
    assert ("parse", b"ONNX") in rec.calls
    assert ("workspace", "WORKSPACE", 512 << 20) in rec.calls
    shapes = [c for c in rec.calls if c[0] == "set_shape"]
    assert shapes == [("set_shape", "frames", (1, 3, 64, 64), (1, 3, 720, 1280), (4, 3, 1088, 1920))]
    assert ("create_timing_cache", b"old") in rec.calls and ("set_timing_cache", False) in rec.calls
    assert cache.read_bytes() == b"old+new"


def test_build_serialized_reports_parser_and_io_errors() -> None:
    profile = default_profile(8)
    with pytest.raises(VStyleError, match=r"could not parse the ONNX graph: In node 3 \(Pad\): unsupported mode$"):
        build_serialized(_Recorder(GOOD_INPUTS, parse_ok=False).module, b"x", profile, (32, 512))
    with pytest.raises(VStyleError, match="ONNX input sigma has shape"):
        build_serialized(_Recorder({**GOOD_INPUTS, "sigma": (16, 16)}).module, b"x", profile, (32, 512))
    with pytest.raises(VStyleError, match="expected"):
        build_serialized(_Recorder({"input": (-1, 3, -1, -1)}).module, b"x", profile, (32, 512))


# ---------------------------------------------------------------- without a GPU

needs_missing = pytest.mark.skipif(not missing_for_tensorrt(), reason="CUDA and TensorRT are both available here")


@needs_missing
def test_export_trt_without_gpu_exits_2_naming_what_is_missing(tmp_path: Path) -> None:
    proc = run_vstyle("export-trt", "--model", tmp_path / "whatever.safetensors", "-o", tmp_path / "m.engine")
    line = assert_one_line_error(proc)
    assert "TensorRT is unavailable" in line
    if not torch.cuda.is_available():
        assert "no CUDA GPU" in line
    assert not (tmp_path / "m.engine").exists()


@needs_missing
def test_trt_backend_without_gpu_is_a_one_line_error() -> None:
    from vstyle.engine import Engine
    from vstyle.models import build

    torch.manual_seed(0)
    with pytest.raises(VStyleError, match="TensorRT is unavailable|CUDA") as exc:
        Engine(build("sctnet", {"mode": "photo"}), device="cpu", backend="trt")
    assert "\n" not in str(exc.value)
