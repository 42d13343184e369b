"""``vstyle export-trt``: build a TensorRT engine (and its JSON sidecar) for this GPU."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .common import print_json


@click.command("export-trt", context_settings={"max_content_width": 100})
@click.option("--model", "model", metavar="NAME|PATH", default=None,
              help="Model name or .safetensors path [default: the shipped model].")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Engine file to write (the sidecar goes to OUTPUT.json).")
@click.option("--fp16/--fp32", "fp16", default=True, show_default=True,
              help="Engine precision (fp16 keeps instance normalisation in fp32).")
@click.option("--min-shape", default=None, metavar="NxHxW", help="Smallest frames batch [default: 1x64x64].")
@click.option("--opt-shape", default=None, metavar="NxHxW", help="Shape to tune for [default: 1x720x1280].")
@click.option("--max-shape", default=None, metavar="NxHxW", help="Largest frames batch [default: 4x1080x1920].")
@click.option("--workspace", "workspace_mb", type=click.IntRange(16, 1 << 20), default=None, metavar="MB",
              help="Builder scratch memory limit [default: TensorRT's, the GPU's memory].")
@click.option("--timing-cache", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Timing cache file, read and updated [default: one per GPU in $VSTYLE_HOME/cache/trt].")
@click.option("--onnx", "onnx_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Build from this file written by vstyle export-onnx instead of exporting again.")
@click.option("--device", default="cuda", show_default=True, metavar="cuda[:N]", help="GPU to build for.")
@click.option("--overwrite", is_flag=True, help="Replace existing engine and sidecar files.")
@click.option("--json", "as_json", is_flag=True, help="Print the sidecar as JSON.")
def command(model: str | None, output: Path, fp16: bool, min_shape: str | None, opt_shape: str | None,
            max_shape: str | None, workspace_mb: int | None, timing_cache: Path | None, onnx_path: Path | None,
            device: str, overwrite: bool, as_json: bool) -> None:
    """Build a TensorRT engine from the model's per-frame graph.

    Shapes are frames×height×width; heights and widths are rounded up to the model stride, the
    size frames have after padding. The engine runs only on this GPU model with this TensorRT
    version and this model's weights; `--backend trt --engine FILE` checks all three.

    \b
    Examples:
      vstyle export-trt --model ccpl-art -o ccpl-art.engine
      vstyle export-trt --model ccpl-art --fp32 --max-shape 1x2160x3840 \\
          -o ccpl-art-4k.engine
    """
    from ..errors import VStyleError
    from ..export.onnx_export import read_metadata, weights_sha256
    from ..export.shapes import make_profile
    from ..export.sidecar import sidecar_path
    from ..export.trt_build import build_engine_file, import_tensorrt
    from ..io.atomic import check_writable

    import_tensorrt()  # fail first, with one line naming what is missing
    from ..engine import resolve_device

    dev = resolve_device(device)
    if dev.type != "cuda":
        raise VStyleError("--device must be a CUDA GPU for TensorRT")
    check_writable(output, overwrite)
    check_writable(sidecar_path(output), overwrite)
    from ..weights import load_model

    net = load_model(model)
    profile = make_profile(net.multiple, min_shape, opt_shape, max_shape, margin=net.margin)
    precision = "fp16" if fp16 else "fp32"
    onnx_bytes = None
    if onnx_path is not None:
        onnx_bytes = onnx_path.read_bytes()
        meta = read_metadata(onnx_bytes)
        if meta.get("weights_sha256") != weights_sha256(net):
            raise VStyleError(f"{onnx_path} was exported from another model than {model or 'the default model'}")
    t0 = time.perf_counter()
    side = build_engine_file(net, output, profile, precision, device=dev, workspace_mb=workspace_mb,
                             timing_cache=timing_cache, overwrite=overwrite, onnx_bytes=onnx_bytes)
    seconds = time.perf_counter() - t0
    if as_json:
        print_json({"output": str(output), "sidecar": str(sidecar_path(output)), "seconds": round(seconds, 1), **side})
    else:
        shapes = side["shapes"]
        click.echo(f"{output}: {precision} engine for {side['gpu_name']} (sm {side['compute_capability']}, "
                   f"TensorRT {side['tensorrt_version']}), frames {shapes['min']} … {shapes['max']} "
                   f"(opt {shapes['opt']}), built in {seconds:.0f} s", err=True)
