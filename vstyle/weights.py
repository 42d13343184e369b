"""Model weights: the official CCPL checkpoint loader, the project's single-file format, and the
name → file registry (``weights/`` in the project, then ``$VSTYLE_HOME``)."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any, Mapping, cast

import torch
from torch import Tensor, nn

from .errors import VStyleError, exception_line
from .io.atomic import replace_on_success, set_default_mode
from .models import SCTNet, build
from .models.decoder import PHOTO_START

FORMAT_VERSION = 1
SUFFIX = ".safetensors"
#: Shipped weights live beside the package (editable installs and source checkouts).
PROJECT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_MODEL = "default"

HOW_TO_GET_A_MODEL = (
    "no model found: train one with `vstyle train` and `vstyle train export`, or import the official CCPL "
    "checkpoints with `vstyle weights import --vgg vgg_normalised.pth --decoder decoder_iter_160000.pth.tar "
    "--sct sct_iter_160000.pth.tar --name ccpl-art`, then pass --model NAME"
)


def user_dir() -> Path:
    """``$VSTYLE_HOME`` (default ``~/.cache/vstyle``): where imported and exported models go."""
    return Path(os.environ.get("VSTYLE_HOME", Path.home() / ".cache" / "vstyle")).expanduser()


def search_dirs() -> list[Path]:
    """Folders searched for model names, in order."""
    return [PROJECT_WEIGHTS, user_dir()]


def available_models() -> list[Path]:
    """Every model file found in the search folders."""
    found: list[Path] = []
    for d in search_dirs():
        if d.is_dir():
            found.extend(sorted(d.glob(f"*{SUFFIX}")))
    return found


def resolve(spec: str | None) -> Path:
    """Turn ``--model NAME|PATH`` (or ``None`` for the default) into a model file path."""
    name = spec or DEFAULT_MODEL
    as_path = Path(name).expanduser()
    if as_path.suffix == SUFFIX or os.sep in name or as_path.exists():
        if as_path.is_dir():
            raise VStyleError(f"--model {as_path} is a folder; give a {SUFFIX} file or a model name")
        if not as_path.is_file():
            raise VStyleError(f"model file not found: {as_path}")
        return as_path
    for d in search_dirs():
        candidate = d / f"{name}{SUFFIX}"
        if candidate.is_file():
            return candidate
    if spec is None:
        raise VStyleError(HOW_TO_GET_A_MODEL)
    known = ", ".join(p.stem for p in available_models()) or "none"
    raise VStyleError(f"model {name!r} not found in {', '.join(map(str, search_dirs()))} (known: {known})")


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- project format


def save_model(model: SCTNet, path: str | Path, provenance: Mapping[str, Any] | None = None,
               dtype: torch.dtype | None = None) -> Path:
    """Write ``model`` as one safetensors file with JSON metadata (arch, config, mode, provenance).

    ``dtype`` (e.g. ``torch.float16``) shrinks the file; tensors are cast back to fp32 on load.
    Written atomically: a crash leaves no file under ``path``.
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
        "provenance": dict(provenance or {}),
    }
    with replace_on_success(path) as tmp:
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
    except (ValueError, TypeError) as exc:
        raise VStyleError(f"{path}: {exc}") from None
    tensors = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
    _check_finite(tensors, str(path))
    _load_checked(model, tensors, str(path))
    model.source_path = str(path)
    return model.eval()


def _check_finite(tensors: Mapping[str, Tensor], what: str) -> None:
    """Refuse weights with NaN or infinite values (a diverged training run): they stylise to black."""
    for key, value in tensors.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise VStyleError(f"{what}: key {key!r} holds NaN or infinite values (a diverged training run?)")


def _load_checked(module: torch.nn.Module, tensors: Mapping[str, Tensor], what: str) -> None:
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


# ---------------------------------------------------------------- official CCPL files


def load_torch_state_dict(path: Path, what: str) -> dict[str, Tensor]:
    """A plain str→Tensor state dict from a torch file (``weights_only=True``), with one-line errors.

    Accepts a ``{"state_dict": …}`` wrapper and strips DataParallel's ``module.`` prefix."""
    if not path.is_file():
        raise VStyleError(f"{what} file not found: {path}")
    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols and legacy formats before refusing; the refusal says it all.
            warnings.simplefilter("ignore")
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise VStyleError(f"{what} {path} was refused: it is not a plain tensor checkpoint that loads without "
                          f"running pickled code (torch: {_unpickler_reason(exc)}); vstyle never unpickles "
                          "other Python objects") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise VStyleError(f"{what} {path} is not a readable torch checkpoint: {exception_line(exc)}") from None
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise VStyleError(f"{what} {path} is not a plain state dict of tensors")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _unpickler_reason(exc: BaseException) -> str:
    """The reason torch's weights-only unpickler gives (e.g. ``Unsupported global: GLOBAL posix.system``)."""
    marker = "WeightsUnpickler error:"
    for line in (ln.strip() for ln in str(exc).splitlines()):
        if marker in line:
            line = line.split(marker, 1)[1].strip()
        if line and not line.startswith(("Weights only load failed", "Check the documentation")):
            return line[:120].rstrip(".")
    return "weights-only loading failed"


def sct_mode(sct_state: Mapping[str, Tensor]) -> str:
    """``art`` or ``photo`` from an official SCT state dict (reference §2.5)."""
    if "uncompress.weight" not in sct_state:
        raise VStyleError("SCT file has no key 'uncompress.weight'; is it an sct_iter_*.pth.tar file?")
    channels = sct_state["uncompress.weight"].shape[0]
    if "cnet.4.weight" in sct_state and channels == 512:
        return "art"
    if "cnet.4.weight" not in sct_state and channels == 256:
        return "photo"
    raise VStyleError(f"SCT file: key 'uncompress.weight' has shape {list(sct_state['uncompress.weight'].shape)}, "
                      "expected [512, 32, 1, 1] (art) or [256, 32, 1, 1] (photo)")


def load_official(vgg: str | Path, decoder: str | Path, sct: str | Path, mode: str | None = None) -> SCTNet:
    """Build SCTNet from the unchanged official files: ``vgg_normalised.pth``, ``decoder_iter_*.pth.tar``,
    ``sct_iter_*.pth.tar``. The mode comes from the SCT file (decoder files cannot tell); an explicit
    ``mode`` must agree with it."""
    vgg_sd = load_torch_state_dict(Path(vgg), "VGG")
    dec_sd = load_torch_state_dict(Path(decoder), "decoder")
    sct_sd = load_torch_state_dict(Path(sct), "SCT")
    found = sct_mode(sct_sd)
    if mode is not None and mode != found:
        raise VStyleError(f"--mode {mode} does not match the SCT file, which is a {found} model")
    model = build("sctnet", {"mode": found})
    # The official encoder file holds the full 53-module VGG; keep only the truncated part.
    n_enc = len(cast(nn.Sequential, model.encoder))
    enc = {k: v for k, v in vgg_sd.items() if int(k.split(".")[0]) < n_enc} if _numeric_keys(vgg_sd, "VGG") else {}
    _load_checked(model.encoder, enc, f"VGG {vgg}")
    if found == "photo":
        # Photo decoders are saved as the full 29-module list; modules 10… are the trained tail.
        dec = {}
        for k, v in dec_sd.items():
            idx, _, rest = k.partition(".")
            if idx.isdigit() and int(idx) >= PHOTO_START:
                dec[f"{int(idx) - PHOTO_START}.{rest}"] = v
    else:
        dec = dict(dec_sd)
    _load_checked(model.decoder, dec, f"decoder {decoder}")
    _load_checked(model.sct, sct_sd, f"SCT {sct}")
    return model.eval()


def _numeric_keys(sd: Mapping[str, Tensor], what: str) -> bool:
    bad = [k for k in sd if not k.split(".")[0].isdigit()]
    if bad:
        raise VStyleError(f"{what}: unexpected key {bad[0]!r}; "
                          "expected the vgg_normalised layout ('0.weight', '2.weight', …)")
    return True
