"""Where a run came from: code version (git) and the machine it ran on."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

from ..hostinfo import cpu_name

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent


def code_version() -> dict[str, Any]:
    """The vstyle version, and the git commit of the source tree with a dirty flag when it is a checkout."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        info: dict[str, Any] = {"vstyle": version("vstyle")}
    except PackageNotFoundError:
        info = {"vstyle": None}
    try:
        commit = subprocess.run(["git", "-C", str(_PACKAGE_ROOT), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(_PACKAGE_ROOT), "status", "--porcelain", "--", "vstyle"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        info.update(commit=commit, dirty=bool(dirty))
    except (OSError, subprocess.SubprocessError):
        info.update(commit=None, dirty=None)
    return info


def machine_info(device: torch.device) -> dict[str, Any]:
    """OS, Python, torch, CPU model and count, and the accelerator name when one was used."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "cpu": cpu_name(),
        "cpus": os.cpu_count(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
