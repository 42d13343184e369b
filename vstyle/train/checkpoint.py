"""Training checkpoints: one torch file per run folder, written atomically, loadable with weights_only.

RNG states are stored as tensors and plain Python values so no pickled objects are needed.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from ..errors import VStyleError, exception_line
from ..io.atomic import replace_on_success

FORMAT_VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"


def capture_rng() -> dict[str, Any]:
    """Python, NumPy (global), torch CPU and CUDA generator states."""
    name, key, pos, has_gauss, gauss = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state(legacy=True))
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {"name": name, "key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng` (CUDA states only when CUDA is present)."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["name"], n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        cuda = state["cuda"]
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])


#: What every checkpoint holds, with its type: a damaged or hand-edited file is one line, not a KeyError
#: (or a resume from step "x") later.
_REQUIRED: dict[str, type] = {"step": int, "arch": str, "recipe": dict, "model": dict, "data_hash": str}


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a temporary name beside ``path``, then rename (a crash keeps the old file)."""
    path = Path(path)
    with replace_on_success(path) as tmp:
        torch.save({"format": FORMAT_VERSION, **state}, str(tmp))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors on the CPU)."""
    path = Path(path)
    if not path.is_file():
        raise VStyleError(f"no checkpoint at {path}; is it a `vstyle train` run folder?")
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except OSError as exc:  # permissions, I/O: the file may be fine, so say what the system said
        raise VStyleError(f"cannot read checkpoint {path}: {exception_line(exc)}") from None
    except Exception:  # damaged bytes fail in many ways inside torch (KeyError, miniz errors, EOFError, …)
        raise VStyleError(f"cannot read checkpoint {path}: damaged, truncated, or not a vstyle checkpoint "
                          "(torch cannot load it safely)") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION:
        raise VStyleError(f"{path} is not a vstyle training checkpoint (format {FORMAT_VERSION})")
    for key, kind in _REQUIRED.items():
        value = state.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise VStyleError(f"{path} is damaged: its {key!r} is missing or not a {kind.__name__}")
    return state
