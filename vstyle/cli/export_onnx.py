"""``vstyle export-onnx``: write the per-frame graph (all styles, dynamic shapes) as one ONNX file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ..engine.options import GRAPH_PRECISIONS
from ..errors import VStyleError
from .common import print_json


@click.command("export-onnx", context_settings={"max_content_width": 100})
@click.option("--model", "model", metavar="NAME|PATH", default=None,
              help="Model name or .safetensors path [default: the shipped model].")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="ONNX file to write.")
@click.option("--precision", type=click.Choice(GRAPH_PRECISIONS), default="fp32", show_default=True,
              help="Weights and compute precision inside the graph (inputs/outputs stay float32).")
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def command(model: str | None, output: Path, precision: str, overwrite: bool, as_json: bool) -> None:
    """Export the model's per-frame graph to ONNX (opset 18).

    One file serves every style: the inputs are the frames (N×3×H×W, RGB in [0, 1], H and W
    multiples of the model stride, any batch) and the style code (sigma K×K, mean C, alpha (1,)),
    computed once per style with the same model. The output is N×3×H×W unclamped RGB.

    \b
    Examples:
      vstyle export-onnx --model ccpl-art -o ccpl-art.onnx
      vstyle export-onnx --model ccpl-art --precision fp16 -o ccpl-art-fp16.onnx
    """
    from ..export.onnx_export import OPSET, write_onnx
    from ..io.atomic import check_writable
    from ..weights import load_model

    if output.suffix.lower() != ".onnx":
        raise VStyleError(f"-o {output}: ONNX files end in .onnx")
    check_writable(output, overwrite)
    net = load_model(model)
    t0 = time.perf_counter()
    meta = write_onnx(net, output, precision=precision, overwrite=overwrite)
    seconds = time.perf_counter() - t0
    summary = {"output": str(output), "bytes": output.stat().st_size, "opset": OPSET, "seconds": round(seconds, 2),
               **{k: meta[k] for k in ("arch", "mode", "precision", "source_sha256", "weights_sha256")},
               "multiple": int(meta["multiple"]),
               "inputs": json.loads(meta["inputs"])}
    if as_json:
        print_json(summary)
    else:
        click.echo(f"{output}: {summary['bytes'] / 2**20:.1f} MiB, {net.arch} ({net.mode}), {precision}, "
                   f"opset {OPSET}, dynamic batch/height/width ({seconds:.1f} s)", err=True)
