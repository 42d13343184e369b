"""The JSON sidecar of a TensorRT engine (``model.engine.json``) and the checks made before loading.

A serialized engine only runs on the GPU model and TensorRT version it was built with, and it
bakes in one model's weights, whose style codes must come from that same model. The sidecar
records all three so a mismatch is refused with one line instead of failing inside TensorRT or
producing garbage. Pure JSON logic: tested without a GPU.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from ..errors import VStyleError
from ..flags import flag
from .shapes import Profile

SIDECAR_FORMAT = 1


def sidecar_path(engine: Path) -> Path:
    """``model.engine`` → ``model.engine.json``."""
    engine = Path(engine)
    return engine.with_name(engine.name + ".json")


def make_sidecar(*, runtime: Mapping[str, str], profile: Profile, precision: str, model_meta: Mapping[str, str],
                 workspace_mb: int | None, opset: int) -> dict[str, Any]:
    """Everything needed to decide later whether an engine may run here, with this model.

    ``runtime`` is :func:`vstyle.export.trt_build.runtime_info` (TensorRT version, GPU name,
    compute capability); ``model_meta`` the ONNX metadata (arch, mode, multiple, digests).
    """
    return {
        "format": SIDECAR_FORMAT,
        "tensorrt_version": runtime["tensorrt_version"],
        "gpu_name": runtime["gpu_name"],
        "compute_capability": runtime["compute_capability"],
        "precision": precision,
        "shapes": profile.to_json(),
        "workspace_mb": workspace_mb,
        "onnx_opset": opset,
        "arch": model_meta["arch"],
        "mode": model_meta["mode"],
        "multiple": int(model_meta["multiple"]),
        "weights_sha256": model_meta["weights_sha256"],
        "source_sha256": model_meta.get("source_sha256") or None,
        "inputs": json.loads(model_meta["inputs"]),
    }


def read_sidecar(engine: Path) -> dict[str, Any]:
    """The sidecar of ``engine``; one-line errors for a missing engine, sidecar, or a broken one."""
    engine = Path(engine)
    if not engine.is_file():
        raise VStyleError(f"TensorRT engine not found: {engine} (build one with vstyle export-trt)")
    path = sidecar_path(engine)
    if not path.is_file():
        raise VStyleError(f"{path.name} not found beside {engine}: engines must be built with vstyle export-trt, "
                          "which writes this sidecar")
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise VStyleError(f"{path} is not readable JSON ({exc.__class__.__name__})") from None
    required = ("tensorrt_version", "gpu_name", "compute_capability", "precision", "shapes", "weights_sha256",
                "multiple")
    missing = [k for k in required if k not in (meta if isinstance(meta, dict) else {})]
    if missing:
        raise VStyleError(f"{path} lacks {', '.join(missing)}; rebuild the engine with vstyle export-trt")
    return meta


def check_runtime(meta: Mapping[str, Any], runtime: Mapping[str, str], engine: Path | str) -> None:
    """Refuse an engine built with another TensorRT version or for another GPU."""
    built = f"{meta['gpu_name']} (sm {meta['compute_capability']}) with TensorRT {meta['tensorrt_version']}"
    here = f"{runtime['gpu_name']} (sm {runtime['compute_capability']}) with TensorRT {runtime['tensorrt_version']}"
    same = (meta["tensorrt_version"] == runtime["tensorrt_version"]
            and meta["compute_capability"] == runtime["compute_capability"]
            and meta["gpu_name"] == runtime["gpu_name"])
    if not same:
        raise VStyleError(f"engine {engine} was built for {built}; this machine has {here}: "
                          "rebuild it here with vstyle export-trt")


def check_model(meta: Mapping[str, Any], weights_sha256: str, engine: Path | str) -> None:
    """Refuse an engine built from other weights than the loaded model (style codes would not match)."""
    if meta["weights_sha256"] != weights_sha256:
        raise VStyleError(f"engine {engine} was built from another model ({meta.get('arch', '?')} "
                          f"{meta['weights_sha256'][:12]}…, loaded model {weights_sha256[:12]}…); "
                          f"pass the matching {flag('model')} or rebuild the engine")


def engine_profile(meta: Mapping[str, Any]) -> Profile:
    """The frames profile recorded in a sidecar."""
    return Profile.from_json(meta["shapes"])


def sidecar_json(meta: Mapping[str, Any]) -> str:
    """The sidecar file's text."""
    return json.dumps(meta, indent=2, sort_keys=True) + "\n"
