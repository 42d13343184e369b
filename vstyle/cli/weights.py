"""``vstyle weights``: import the official CCPL checkpoints, list and inspect models."""

from __future__ import annotations

from pathlib import Path

import click

from .common import print_json


@click.group("weights")
def command() -> None:
    """Manage model files (project format: one .safetensors file with JSON metadata).

    \b
    Examples:
      vstyle weights list                # every model --model can name
      vstyle weights show default        # its metadata and inference settings
      vstyle weights import --vgg V --decoder D --sct S --name ccpl-art
    """


@command.command("import")
@click.option("--vgg", type=click.Path(path_type=Path), required=True, help="vgg_normalised.pth")
@click.option("--decoder", type=click.Path(path_type=Path), required=True, help="decoder_iter_*.pth.tar")
@click.option("--sct", type=click.Path(path_type=Path), required=True, help="sct_iter_*.pth.tar")
@click.option("--name", required=True, help="Name to save under (then use --model NAME).")
@click.option("--mode", type=click.Choice(["art", "photo"]), default=None,
              help="Expected mode; by default it is read from the SCT file.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Output file [default: $VSTYLE_HOME/NAME.safetensors].")
@click.option("--overwrite", is_flag=True, help="Replace an existing model of that name.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def import_(vgg: Path, decoder: Path, sct: Path, name: str, mode: str | None, output: Path | None,
            overwrite: bool, as_json: bool) -> None:
    """Convert the official CCPL files (unchanged) into one vstyle model file.

    \b
    Example:
      vstyle weights import --vgg models/vgg_normalised.pth \\
          --decoder pretrained/art/decoder_iter_160000.pth.tar \\
          --sct pretrained/art/sct_iter_160000.pth.tar --name ccpl-art
      vstyle run clip.mp4 --style starry.jpg --model ccpl-art
    """
    from ..io.atomic import check_writable
    from ..weights import file_sha256, load_official, model_output, save_model

    target = model_output(name, output)
    check_writable(target, overwrite)
    model = load_official(vgg, decoder, sct, mode)
    provenance = {
        "source": "official CCPL checkpoints (Wu et al., ECCV 2022; github.com/JarrentWu1031/CCPL, Apache-2.0)",
        "files": {role: {"name": p.name, "sha256": file_sha256(p)} for role, p in
                  (("vgg", vgg), ("decoder", decoder), ("sct", sct))},
        "name": name,
    }
    save_model(model, target, provenance, overwrite=overwrite)
    info = {"name": name, "path": str(target), "arch": model.arch, "mode": model.mode, "sha256": file_sha256(target)}
    if as_json:
        print_json(info)
    else:
        click.echo(f"imported {model.mode} model {name!r} -> {target}", err=True)


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json: bool) -> None:
    """List the models found in weights/ and $VSTYLE_HOME.

    \b
    Examples:
      vstyle weights list
      vstyle weights list --json         # name, architecture, mode, path
    """
    from ..weights.listing import list_models

    rows, skipped = list_models()
    for s in skipped:
        click.echo(f"vstyle: note: skipped {s['error']}", err=True)
    if as_json:
        print_json({"models": rows, "skipped": skipped})
    elif not rows:
        click.echo("no models found")
    else:
        for r in rows:
            hidden = f" (--model {r['name']} finds {r['shadowed_by']})" if r["shadowed_by"] else ""
            click.echo(f"{r['name']:24} {r['arch'] or '?':14} {r['mode'] or '?':6} {r['path']}{hidden}")


@command.command("show")
@click.argument("model")
def show(model: str) -> None:
    """Print a model file's metadata (architecture, mode, inference settings, provenance) as JSON.

    ``inference`` is what the engine runs the model with (style size, margin, stride multiple, mode);
    ``inference_stored`` says whether the file holds them or, being older, gets the architecture's defaults.

    \b
    Examples:
      vstyle weights show default
      vstyle weights show runs/art.safetensors
    """
    from ..weights import file_sha256, inference_settings, read_metadata, resolve

    path = resolve(model)
    settings, stored = inference_settings(path)
    print_json({"path": str(path), "sha256": file_sha256(path), **read_metadata(path),
                "inference": settings.to_dict(), "inference_stored": stored})
