"""Model names → files: ``weights/`` in the project, then ``$VSTYLE_HOME``; a path is taken as it is."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import VStyleError
from ..flags import flag

SUFFIX = ".safetensors"
#: Shipped weights live beside the package (editable installs and source checkouts).
PROJECT_WEIGHTS = Path(__file__).resolve().parents[2] / "weights"
DEFAULT_MODEL = "default"
#: A name ``--model NAME`` can find: a letter or digit first (never "." or ".."), no folders.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def how_to_get_a_model() -> str:
    """The error when no model is named and none is installed: how to make or import one."""
    return ("no model found: train one with `vstyle train` and `vstyle train export`, or import the official "
            f"CCPL checkpoints with `vstyle weights import {flag('vgg')} vgg_normalised.pth {flag('decoder')} "
            f"decoder_iter_160000.pth.tar {flag('sct')} sct_iter_160000.pth.tar {flag('name')} ccpl-art`, then "
            f"pass {flag('model')} NAME")


def user_dir() -> Path:
    """``$VSTYLE_HOME`` (default ``~/.cache/vstyle``): where imported and exported models go."""
    return Path(os.environ.get("VSTYLE_HOME", Path.home() / ".cache" / "vstyle")).expanduser()


def search_dirs() -> list[Path]:
    """Folders searched for model names, in order."""
    return [PROJECT_WEIGHTS, user_dir()]


def available_models() -> list[Path]:
    """Every model file found in the search folders."""
    found: list[Path] = []
    for d in search_dirs():
        if d.is_dir():
            found.extend(sorted(d.glob(f"*{SUFFIX}")))
    return found


def resolve(spec: str | None) -> Path:
    """Turn ``--model NAME|PATH`` (or ``None`` for the default) into a model file path.

    A plain name is looked up as a name first, so a file or folder of that name in the current folder
    does not hide a model (``train export`` tells users to pass ``--model NAME``); no ``--model`` is
    always the default model's name.
    """
    name = spec or DEFAULT_MODEL
    as_path = Path(name).expanduser()
    if spec is None or (_NAME.fullmatch(name) and as_path.suffix != SUFFIX):
        for d in search_dirs():
            candidate = d / f"{name}{SUFFIX}"
            if candidate.is_file():
                return candidate
        if spec is None:
            raise VStyleError(how_to_get_a_model())
    if as_path.suffix == SUFFIX or os.sep in name or as_path.exists():
        if as_path.is_dir():
            raise VStyleError(f"{flag('model')} {as_path} is a folder; give a {SUFFIX} file or a model name")
        if not as_path.is_file():
            raise VStyleError(f"model file not found: {as_path}")
        return as_path
    known = ", ".join(p.stem for p in available_models()) or "none"
    raise VStyleError(f"model {name!r} not found in {', '.join(map(str, search_dirs()))} (known: {known})")


def model_output(name: str, output: str | Path | None) -> Path:
    """Where a model saved under ``name`` goes (its folder made if missing): ``output`` (a .safetensors file), or
    ``$VSTYLE_HOME/NAME.safetensors``, so that ``--model NAME`` finds it.

    Refuses a name that lookup would never reach: one that is not a plain name, one ending in the suffix
    (looked up as a path), or, without ``output``, a shipped model's name (the project's folder is
    searched first, so the new file would be shadowed).
    """
    from ..io.atomic import make_folder

    if not _NAME.fullmatch(name):
        raise VStyleError(f"model name {name!r} must start with a letter or digit and use only letters, digits "
                          "and ._+- (no folders)")
    if name.endswith(SUFFIX):
        raise VStyleError(f"give the model name without {SUFFIX}: {name[:-len(SUFFIX)]!r}")
    if output is None and (PROJECT_WEIGHTS / f"{name}{SUFFIX}").is_file():
        raise VStyleError(f"{name!r} is a shipped model's name, and {flag('model')} {name} would load that one; "
                          "choose another name")
    path = Path(output).expanduser() if output is not None else user_dir() / f"{name}{SUFFIX}"
    if path.suffix != SUFFIX:
        raise VStyleError(f"model files end in {SUFFIX}: {path}")
    make_folder(path.parent, "model folder")
    return path
