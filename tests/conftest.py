"""Shared fixtures: where test media lives (the one home for these paths), the short-test switch, and
small seeded models (test fixtures, never shipped)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Sample media committed in the repository (examples/SOURCES.md): tests that need only a clip and
#: a style use these, so they run from a plain clone.
EXAMPLES = ROOT / "examples"
EXAMPLE_CLIP = EXAMPLES / "bunny.mp4"  # 640x360, 24 fps, 72 frames (3 s), AAC stereo 44.1 kHz
EXAMPLE_STYLE = EXAMPLES / "starry_night.jpg"
#: The larger read-only data folder beside the project (developers and CI); tests that need it skip without it.
SHARED_DATA = ROOT.parent / "shared" / "data"
#: Slow tests run a short version of themselves in CI (CI=true) or with VSTYLE_SHORT=1.
SHORT = os.environ.get("VSTYLE_SHORT", "") == "1" or os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def _default_signal_handlers() -> Iterator[None]:
    """Every test starts with Python's own Ctrl-C handler and ends with the session's handlers back.

    A pytest started as a background job inherits an ignored SIGINT (and ``_thread.interrupt_main``
    then does nothing), and ``vstyle``'s main() ignores late signals on its way out: neither may
    decide what a test that interrupts itself sees.
    """
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture(autouse=True)
def _interrupted_main_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() called inside this process ends an interrupted command with SystemExit, as it would without
    ``exit_interrupted``'s os._exit, which would end pytest itself; commands run as child processes keep it."""
    import vstyle.cli.main

    monkeypatch.setattr(vstyle.cli.main, "exit_interrupted", sys.exit)


@pytest.fixture
def train_flags() -> Iterator[None]:
    """Library messages spelled with ``vstyle train``'s flags, as that command shows them (vstyle.flags)."""
    from vstyle.cli.main import flag_spelling
    from vstyle.cli.train import command
    from vstyle.flags import spelled_by

    with spelled_by(flag_spelling(command)):
        yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data relative to the project root (skips the test if absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def example_clip() -> Path:
    """The bundled sample clip with sound (examples/bunny.mp4)."""
    return EXAMPLE_CLIP


@pytest.fixture(scope="session")
def example_style() -> Path:
    """The bundled sample painting (examples/starry_night.jpg)."""
    return EXAMPLE_STYLE


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random photo-mode SCTNet saved in the project format (a test fixture, never shipped)."""
    import torch

    from vstyle.models import build
    from vstyle.weights import save_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    return save_model(build("sctnet", {"mode": "photo"}), path, provenance={"test": True})


@pytest.fixture(scope="session")
def style_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small colourful style image."""
    from PIL import Image

    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    path = tmp_path_factory.mktemp("style") / "blocks.png"
    Image.fromarray(img).save(path)
    return path
