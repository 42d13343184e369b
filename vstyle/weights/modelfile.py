"""The project's model file: one safetensors file whose JSON metadata names the architecture, its
config, the mode and where the weights came from."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor

from ..errors import VStyleError, exception_line
from ..io.atomic import replace_on_success, set_default_mode
from ..models import InferenceSettings, SCTNet, build
from .names import resolve

FORMAT_VERSION = 1


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_model(model: SCTNet, path: str | Path, provenance: Mapping[str, Any] | None = None,
               dtype: torch.dtype | None = None, overwrite: bool = True) -> Path:
    """Write ``model`` as one safetensors file with JSON metadata (arch, config, mode, inference
    settings, provenance).

    ``dtype`` (e.g. ``torch.float16``) shrinks the file; tensors are cast back to fp32 on load.
    Written atomically: a crash leaves no file under ``path``; without ``overwrite`` a file that appears
    at ``path`` while this writes (another export of the same name) is not replaced.
    """
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).detach().cpu().contiguous()
               for k, v in model.state_dict().items()}
    meta = {
        "format": FORMAT_VERSION,
        "arch": model.arch,
        "mode": model.mode,
        "config": model.config,
        "inference": model.inference_settings.to_dict(),
        "provenance": dict(provenance or {}),
    }
    with replace_on_success(path, overwrite=overwrite) as tmp:
        save_file(tensors, str(tmp), metadata={"vstyle": json.dumps(meta, sort_keys=True)})
        set_default_mode(tmp)
    return path


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a project weight file (without loading tensors)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("vstyle")
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise VStyleError(f"{path} is not a vstyle model file ({exc.__class__.__name__})") from None
    if raw is None:
        raise VStyleError(f"{path} has no vstyle metadata; import official checkpoints with `vstyle weights import`")
    try:
        meta = json.loads(raw)
    except ValueError as exc:
        raise VStyleError(f"{path} has broken vstyle metadata (not valid JSON: {exc})") from None
    if not isinstance(meta, dict):
        raise VStyleError(f"{path} has broken vstyle metadata (a JSON {type(meta).__name__}, not an object)")
    return meta


def load_model(spec: str | Path | None = None) -> SCTNet:
    """Load a model by name or path (``None``: the default model) in eval mode, fp32, on the CPU."""
    from safetensors.torch import load_file

    path = resolve(str(spec) if spec is not None else None)
    meta = read_metadata(path)
    arch, config = meta.get("arch"), meta.get("config", {})
    if not isinstance(arch, str) or not isinstance(config, dict):
        raise VStyleError(f"{path} has broken vstyle metadata (needs a string \"arch\" and an object \"config\")")
    try:
        model = build(arch, config)
        model.apply_settings(stored_settings(model, meta))
    except (ValueError, TypeError) as exc:
        raise VStyleError(f"{path}: {exc}") from None
    try:
        stored = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for a truncated or damaged file
        raise VStyleError(f"{path} is damaged: {exception_line(exc)}") from None
    tensors = {k: v.float() if v.is_floating_point() else v for k, v in stored.items()}
    _check_finite(tensors, str(path))
    load_checked(model, tensors, str(path))
    model.source_path = str(path)
    return model.eval()


def stored_settings(model: SCTNet, meta: Mapping[str, Any]) -> InferenceSettings:
    """The inference settings a file's metadata gives for ``model`` (built from the same metadata):
    the file's own, over the architecture's defaults; files saved before the ``inference`` key
    existed get those defaults (the values the builders have always had)."""
    stored = meta.get("inference", {})
    if not isinstance(stored, dict):
        raise ValueError("broken vstyle metadata (\"inference\" must be an object)")
    stride = model.multiple  # the builders' multiple is the network's total stride
    return model.inference_settings.updated(stored, stride)


def inference_settings(path: str | Path) -> tuple[InferenceSettings, bool]:
    """(the settings ``path`` runs with, whether the file stores them) without loading its tensors."""
    meta = read_metadata(path)
    try:
        model = build(str(meta.get("arch")), dict(meta.get("config", {})))
        return stored_settings(model, meta), "inference" in meta
    except (ValueError, TypeError) as exc:
        raise VStyleError(f"{path}: {exc}") from None


def _check_finite(tensors: Mapping[str, Tensor], what: str) -> None:
    """Refuse weights with NaN or infinite values (a diverged training run): they stylise to black."""
    for key, value in tensors.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise VStyleError(f"{what}: key {key!r} holds NaN or infinite values (a diverged training run?)")


def load_checked(module: torch.nn.Module, tensors: Mapping[str, Tensor], what: str) -> None:
    """load_state_dict with a one-line error naming the first bad key and its shapes."""
    expected = module.state_dict()
    for key, ref in expected.items():
        if key not in tensors:
            raise VStyleError(f"{what}: missing key {key!r} (expected shape {list(ref.shape)})")
        got = tensors[key]
        if tuple(got.shape) != tuple(ref.shape):
            raise VStyleError(f"{what}: key {key!r} has shape {list(got.shape)}, expected {list(ref.shape)}")
    extra = sorted(set(tensors) - set(expected))
    if extra:
        raise VStyleError(f"{what}: unexpected key {extra[0]!r} (shape {list(tensors[extra[0]].shape)})")
    module.load_state_dict(dict(tensors), strict=True)


