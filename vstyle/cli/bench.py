"""``vstyle bench``: speed and memory of every backend × precision × size × batch on this machine."""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from typing import TYPE_CHECKING, Any

import click

from ..errors import VStyleError, counted
from ..engine.options import PRECISIONS
from .common import device_option, print_json
from .progress import make_progress, stderr

if TYPE_CHECKING:
    from ..models import SCTNet


def _load_model(model: str | None, arch: str | None, mode: str) -> tuple[SCTNet, str]:
    """--model wins; else --arch (random weights); else the default model, else a random sctnet."""
    import torch

    from ..models import build
    from ..weights import load_model

    if model is not None and arch is not None:
        raise VStyleError("pass either --model or --arch, not both")
    if model is not None:
        return load_model(model), model
    if arch is None:
        try:
            return load_model(None), "default"
        except VStyleError:
            arch = "sctnet"
            stderr.print("vstyle bench: no model found; timing a randomly initialised sctnet "
                         f"({mode}); speed does not depend on the weights", highlight=False)
    torch.manual_seed(0)  # same weights every run, so cached ONNX files and engines are reused
    try:
        net = build(arch, {"mode": mode})
    except ValueError as exc:
        raise VStyleError(str(exc)) from None
    return net.eval(), f"{arch} ({mode}, random weights)"


@click.command("bench", context_settings={"max_content_width": 100})
@click.option("--model", "model", metavar="NAME|PATH", default=None,
              help="Model to time [default: the shipped model, else a random sctnet].")
@click.option("--arch", default=None, metavar="NAME",
              help="Time a randomly initialised architecture instead (e.g. sctnet, sctnet-mobile).")
@click.option("--mode", type=click.Choice(["art", "photo"]), default="art", show_default=True,
              help="Mode for --arch.")
@device_option()
@click.option("--sizes", default=None, metavar="LIST",
              help="Frame sizes: N (square), WxH or presets 360p…2160p  [default: 256,512 on CPU; "
                   "256,512,720p,1080p on CUDA].")
@click.option("--batch", "batches", default=None, metavar="LIST",
              help="Batch sizes [default: 1 on CPU; 1,4 on CUDA].")
@click.option("--backends", default=",".join(("torch", "ort", "trt", "openvino")), show_default=True,
              metavar="LIST", help="Any of torch, torch-nchw, torch-compile, ort, trt, openvino.")
@click.option("--precisions", default=None, metavar="LIST",
              help=f"Any of {', '.join(PRECISIONS)} [default: fp32,bf16 on CPU; fp32,fp16,bf16 on CUDA].")
@click.option("--warmup", type=click.IntRange(0, 100), default=1, show_default=True, help="Untimed runs per case.")
@click.option("--runs", type=click.IntRange(1, 1000), default=3, show_default=True,
              help="Timed runs per case (the median is reported).")
@click.option("--threads", type=click.IntRange(1, 256), default=None,
              help="CPU threads (torch, ONNX Runtime and OpenVINO).")
@click.option("--engine", "engine_path", type=click.Path(dir_okay=False), default=None,
              help="TensorRT engine to time [default: one built once for this model and cached].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
def command(model: str | None, arch: str | None, mode: str, device: str, sizes: str | None, batches: str | None,
            backends: str, precisions: str | None, warmup: int, runs: int, threads: int | None,
            engine_path: str | None, as_json: bool) -> None:
    """Time the backends on this machine: ms/frame, FPS and peak memory.

    \b
    Examples:
      vstyle bench               # CPU: torch/ort × fp32/bf16 at 256 and 512
      vstyle bench --sizes 720p,1080p --batch 1,4 --precisions fp16
      vstyle bench --backends torch,torch-nchw,torch-compile,ort --sizes 512 \\
          --runs 5 --json
    """
    import torch

    from ..bench import VARIANTS, default_precisions, machine_info, results_json, run_bench
    from ..engine import resolve_device
    from ..export.shapes import parse_list, parse_size

    dev = resolve_device(device)
    if threads:
        torch.set_num_threads(threads)
    size_texts = parse_list(sizes or ("256,512,720p,1080p" if dev.type == "cuda" else "256,512"), "--sizes")
    # One measurement per value, however it is written (512 and 512x512; 1 and 01).
    by_size: dict[tuple[int, int], str] = {}
    for text in size_texts:
        by_size.setdefault(parse_size(text), text)
    size_list = [(text, *dims) for dims, text in by_size.items()]
    try:
        batch_list = list(dict.fromkeys(int(b) for b in parse_list(batches or ("1,4" if dev.type == "cuda" else "1"),
                                                                   "--batch")))
    except ValueError:
        raise VStyleError(f"--batch must be comma-separated integers, got {batches!r}") from None
    if min(batch_list) < 1:
        raise VStyleError("--batch values must be at least 1")
    backend_list = parse_list(backends, "--backends")
    unknown = [b for b in backend_list if b not in VARIANTS]
    if unknown:
        raise VStyleError(f"unknown backend {unknown[0]!r} for --backends (known: {', '.join(VARIANTS)})")
    precision_list = parse_list(precisions, "--precisions") if precisions else default_precisions(dev)
    bad = [p for p in precision_list if p not in PRECISIONS]
    if bad:
        raise VStyleError(f"unknown precision {bad[0]!r} for --precisions (use {', '.join(PRECISIONS)})")

    net, model_label = _load_model(model, arch, mode)
    started = _dt.datetime.now().astimezone()
    with make_progress("runs/s", disable=as_json) as progress:
        task = progress.add_task("preparing backends", total=None)

        def on_call(done: int, total: int, description: str) -> None:
            progress.update(task, completed=done, total=total, description=description)

        results = run_bench(net, dev, size_list, batch_list, backend_list, precision_list, warmup=warmup,
                            runs=runs, threads=threads, engine_path=engine_path, on_call=on_call)
        progress.update(task, completed=progress.tasks[0].total or 0, description="done")
    info = machine_info(dev)
    summary = {"date": started.isoformat(timespec="seconds"), "machine": info, "model": model_label,
               "arch": net.arch, "mode": net.mode, "warmup": warmup, "runs": runs,
               "results": results_json(results)}
    if as_json:
        print_json(summary)
        return
    _print_table(summary)


def _print_table(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    info = summary["machine"]
    where = info.get("gpu") or f"{info['cpu']}, {counted(int(info['cpu_threads']), 'thread')}"
    title = (f"vstyle bench · {summary['model']} · {where} · {summary['date'][:16].replace('T', ' ')}\n"
             f"torch {info['torch']}" + (f", onnxruntime {info['onnxruntime']}" if "onnxruntime" in info else "")
             + f" · median of {summary['runs']} runs after {summary['warmup']} warm-up")
    # No borders, and whole numbers: the table fits 80 columns; why a row was not
    # measured is said under it (a note column wrapped every reason a word a line).
    table = Table(title=title, title_justify="left", box=None, pad_edge=False, header_style="bold underline")
    for col, justify in (("backend", "left"), ("precision", "left"), ("size", "right"), ("batch", "right"),
                         ("ms/frame", "right"), ("FPS", "right"), ("CPU ms", "right"), ("peak MB", "right")):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    skipped = Counter((r["backend"], r["precision"], r["reason"])
                      for r in summary["results"] if r["status"] == "skipped")
    shown: set[tuple[str, str, str]] = set()
    notes: list[str] = []
    for r in summary["results"]:
        size, batch = f"{r['width']}×{r['height']}", str(r["batch"])
        if r["status"] == "ok":
            table.add_row(r["backend"], r["precision"], size, batch, f"{r['ms_per_frame']:.1f}",
                          f"{r['fps']:.2f}", f"{r['cpu_ms_per_frame']:.0f}", f"{r['peak_mb']:.0f}")
            continue
        key = (r["backend"], r["precision"], r["reason"])
        if r["status"] == "skipped" and skipped[key] > 1:
            if key in shown:  # one row per unavailable variant, not one per size
                continue
            shown.add(key)
            size, batch = "all", "all"
        notes.append(f"[dim]{len(notes) + 1}. {r['backend']} {r['precision']} {size}: {r['status']}: "
                     f"{escape(r['reason'])}[/dim]")
        table.add_row(r["backend"], r["precision"], size, batch, f"{r['status']} ({len(notes)})", "–", "–", "–")
    console = Console()
    console.print(table)
    for note in notes:
        console.print(note)
