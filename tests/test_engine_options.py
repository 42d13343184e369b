"""The one source of engine option names and of what runs where (torch-free)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT
from vstyle.engine.options import BACKENDS, TORCH_PRECISIONS, check_device, unsupported
from vstyle.errors import VStyleError


def test_device_names_include_one_gpu_by_index() -> None:
    for name in ("auto", "cpu", "cuda", "cuda:0", "cuda:3"):
        assert check_device(name) == name
    for name in ("gpu", "cuda:", "cuda:x", "CPU"):
        with pytest.raises(VStyleError, match="unknown device"):
            check_device(name)


def test_what_runs_where() -> None:
    assert all(unsupported(p, "cuda") is None for p in TORCH_PRECISIONS)
    assert unsupported("fp16", "cpu") == "fp16 needs CUDA"
    assert unsupported("bf16", "cpu", "ort") is not None and unsupported("fp32", "cpu", "ort") is None
    assert "CUDA" in (unsupported("fp32", "cpu", "trt") or "")
    assert unsupported("bf16", "cuda", "trt") is not None
    assert "auto" in BACKENDS
    # int8 is OpenVINO's alone, and OpenVINO runs on the CPU only.
    assert all("OpenVINO only" in (unsupported("int8", d, b) or "") for d in ("cpu", "cuda")
               for b in ("torch", "ort", "trt"))
    assert unsupported("int8", "cpu", "openvino") is None and unsupported("fp32", "cpu", "openvino") is None
    assert "CPU only" in (unsupported("fp32", "cuda", "openvino") or "")


def test_precision_errors_name_the_backend_only_where_it_matters() -> None:
    """``train --precision fp16`` on a CPU said "--precision fp16 --backend torch", naming a flag train does
    not have; where ``auto`` chose the backend the user had not passed it either."""
    import torch

    from vstyle.engine.device import resolve_precision

    cpu = torch.device("cpu")
    with pytest.raises(VStyleError) as no_backend:
        resolve_precision("fp16", cpu)  # no backend runs fp16 on a CPU
    assert str(no_backend.value).endswith("precision fp16 on cpu: fp16 needs CUDA; on the CPU use bf16 or fp32")
    assert "backend" not in str(no_backend.value)
    with pytest.raises(VStyleError, match=r"precision int8 with the torch backend on cpu: int8 runs with "
                                          r"OpenVINO only"):
        resolve_precision("int8", cpu, "torch")  # OpenVINO would run it
    assert resolve_precision("int8", cpu, "openvino") == "int8"


def test_options_module_and_help_do_not_load_torch() -> None:
    code = ("import sys, vstyle.engine.options, vstyle.cli.common, vstyle.train.config; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_a_bad_device_is_a_usage_error_before_any_model_work(tmp_path) -> None:
    proc = subprocess.run([sys.executable, "-m", "vstyle", "image", "nothing.jpg", "--style", "x.jpg",
                           "--device", "gpu"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "unknown device 'gpu'" in proc.stderr and "Traceback" not in proc.stderr
