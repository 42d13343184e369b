"""What the v2 weight tools share: checking that the output is a new file, and loading a source model with
its provenance, each failure one line from the tool's own parser."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence

from vstyle.errors import VStyleError
from vstyle.models import SCTNet
from vstyle.weights.modelfile import load_model, read_metadata


def check_new_output(parser: argparse.ArgumentParser, output: Path, inputs: Sequence[Path], overwrite: bool) -> None:
    """Every input is a file, none is ``output``, and ``output`` does not exist unless ``overwrite``."""
    for path in inputs:
        if not path.is_file():
            parser.error(f"{path} is not a file")
        if path.resolve() == output.resolve():
            parser.error("the output must be a new file")
    if output.exists() and not overwrite:
        parser.error(f"{output} exists (--overwrite replaces it)")


def load_source(parser: argparse.ArgumentParser, path: Path) -> tuple[SCTNet, dict[str, Any]]:
    """The model in ``path`` and the provenance stored with it."""
    try:
        return load_model(path), read_metadata(path).get("provenance", {})
    except VStyleError as exc:
        parser.exit(1, f"error: {exc}\n")
