"""What ``vstyle info`` and ``vstyle weights list`` show: every model file in the search folders, read once."""

from __future__ import annotations

from typing import Any

from ..errors import VStyleError
from .modelfile import file_sha256, read_metadata
from .names import available_models, user_dir


def list_models() -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The readable model files and the unreadable ones (``path``, ``error``), in search order.

    Each model gives its name, path, size, architecture, mode and SHA-256, and ``shadowed_by``: the file
    ``--model NAME`` takes instead when another of its name comes first (``weights/`` before
    ``$VSTYLE_HOME``), judged over every file, readable or not. A ``$VSTYLE_HOME`` that is not a folder
    is reported among the unreadable, since nothing can be imported or exported there.
    """
    found: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    home = user_dir()
    if home.exists() and not home.is_dir():
        skipped.append({"path": str(home), "error": f"$VSTYLE_HOME {home} is not a folder: no models can be "
                                                   "kept there (point it at a folder)"})
    first: dict[str, str] = {}  # name -> the file --model NAME takes
    for path in available_models():
        if not path.is_file():  # reading a pipe would wait forever; --model passes over these too
            skipped.append({"path": str(path), "error": f"{path} is not a regular file (a folder, pipe or device)"})
            continue
        winner = first.setdefault(path.stem, str(path))
        try:
            meta = read_metadata(path)
        except VStyleError as exc:
            skipped.append({"path": str(path), "error": str(exc)})
            continue
        found.append({"name": path.stem, "path": str(path), "size_mb": round(path.stat().st_size / 2**20, 2),
                      "arch": meta.get("arch"), "mode": meta.get("mode"), "sha256": file_sha256(path),
                      "shadowed_by": None if winner == str(path) else winner})
    return found, skipped
