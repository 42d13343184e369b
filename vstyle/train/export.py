"""Turn a run folder's checkpoint into a model file in the project's weight format, with provenance."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from ..errors import VStyleError
from ..io.atomic import check_writable
from ..models import SCTNet, build
from .checkpoint import CHECKPOINT_NAME, load_checkpoint

#: Recipe keys copied into a model's provenance (what shaped the weights).
RECIPE_KEYS = ("loss_net", "lambda_content", "lambda_style", "lambda_ccpl", "lambda_teacher_pix",
               "lambda_teacher_feat", "lambda_identity", "lambda_identity_feat", "lambda_style_softmax",
               "lambda_style_gram", "lambda_style_sliced", "lambda_style_embed", "style_temperature", "tau",
               "ccpl_centres", "shift_px", "lr", "lr_decay",
               "batch", "resize", "resize_mode", "crop", "flip", "scale_min", "scale_max", "style_resize",
               "style_scale_min", "style_scale_max", "style_hue", "ema_decay", "video_frames", "seed", "init",
               "random_weights")


def model_from_checkpoint(state: dict[str, Any], raw: bool = False) -> SCTNet:
    """The trained network stored in a checkpoint, in eval mode on the CPU: the run's moving average of
    the weights when it kept one (``--ema-decay``), else (or with ``raw``) the weights of the last step."""
    try:
        model = build(state["arch"], state["arch_config"])
    except ValueError as exc:
        raise VStyleError(f"checkpoint: {exc}") from None
    model.load_state_dict(state["model_ema"]["weights"] if weights_kind(state, raw) == "ema" else state["model"])
    return model.eval()


def weights_kind(state: dict[str, Any], raw: bool = False) -> str:
    """Which weights :func:`model_from_checkpoint` takes: ``"ema"`` or ``"last step"``."""
    return "last step" if raw or state.get("model_ema") is None else "ema"


def provenance(state: dict[str, Any], name: str, run_dir: Path, raw: bool = False) -> dict[str, Any]:
    """Metadata recorded with an exported model: data hash, steps, loss setup, code and machines."""
    recipe = state["recipe"]
    sessions = state.get("sessions", [])
    return {
        "name": name,
        "trained_with": "vstyle train",
        "run": run_dir.name,
        "steps": state["step"],
        "weights": weights_kind(state, raw),
        "wall_seconds": round(float(state["wall_seconds"]), 1),
        "data_sha256": state["data_hash"],
        "recipe": {k: recipe.get(k) for k in RECIPE_KEYS},
        "loss_net": {**state["loss_net"], "file": Path(recipe["loss_net_file"]).name if recipe.get("loss_net_file")
                     else None},
        "layers": state["layers"],
        "encoder_source": state.get("encoder_source"),
        "code": sessions[-1]["code"] if sessions else None,
        "machines": [s.get("machine") for s in sessions],
        "exported": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def export_run(run_dir: str | Path, name: str, output: str | Path | None = None, overwrite: bool = False,
               half: bool = False, raw: bool = False) -> tuple[Path, dict[str, Any]]:
    """Write the run's current model with :func:`vstyle.weights.save_model`; returns (path, provenance).

    ``raw`` exports the last step's weights of a run that keeps a moving average (the default there)."""
    from ..weights import model_output, save_model

    run = Path(run_dir).expanduser()
    path = model_output(name, output)
    state = load_checkpoint(run / CHECKPOINT_NAME)
    check_writable(path, overwrite)
    model = model_from_checkpoint(state, raw)
    style_resize = int(state["recipe"].get("style_resize") or 0)
    if style_resize:  # trained on styles at this scale: inference reads them at the same one
        model.apply_settings(replace(model.inference_settings, style_size=style_resize))
    meta = provenance(state, name, run, raw)
    save_model(model, path, meta, dtype=torch.float16 if half else None, overwrite=overwrite)
    return path, meta
