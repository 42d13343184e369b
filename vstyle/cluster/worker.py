"""The Ray actor: one loaded engine and the batch's style code, stylising units on request."""

from __future__ import annotations

from typing import Any

from ..flags import Spelling, spelled_by
from ..jobs.batch import Job
from .work import Outcome, Unit, run_unit


class StylizeWorker:
    """Holds one engine (one GPU, or ``threads`` CPU threads) for the whole batch.

    Runs with two concurrent calls (a Ray threaded actor), so the driver can ask :meth:`progress`
    while :meth:`run` is stylising. Messages are spelled as the driver's (:mod:`vstyle.flags`).
    """

    def __init__(self, engine_args: dict[str, Any], code: Any, spelling: Spelling) -> None:
        from ..jobs.engine import EngineSpec
        from ..process_settings import keep_freed_memory

        keep_freed_memory()  # a Ray worker process never ran the CLI's start-up (vstyle.process_settings)
        self.spelling = spelling
        with spelled_by(spelling):
            self.engine = EngineSpec(**engine_args).build()
        self.code = code.to(self.engine.device)
        self._frames = 0

    def run(self, job: Job, unit: Unit, opts: Any) -> Outcome:
        """Stylise one unit; failures come back as an ``Outcome``, never as an exception."""
        self._frames = 0

        def on_frames(done: int) -> None:
            self._frames = done

        with spelled_by(self.spelling):
            return run_unit(self.engine, self.code, job, unit, opts, on_frames)

    def progress(self) -> int:
        """Frames written so far by the unit in hand."""
        return self._frames


def encode_style(engine_args: dict[str, Any], styles: tuple[str, ...], style_size: int | None,
                 spelling: Spelling) -> tuple[Any, dict[str, str]]:
    """Encode and blend the ``--style`` images once (on a worker node); the code comes back on CPU so
    every worker takes the same one, with the engine's description for the summary."""
    from ..jobs.engine import EngineSpec, load_style_code

    with spelled_by(spelling):
        engine = EngineSpec(**engine_args).build()
        return load_style_code(engine, styles, style_size).to("cpu"), engine.describe()


def check_paths(in_dir: str, out_dir: str, marker: str, sample: str) -> str | None:
    """On one node: ``None`` if it sees IN (``sample`` is a file in it) and OUT (``marker`` is a file the
    driver just wrote there, and files can be created), else what is wrong, in a few words."""
    from pathlib import Path

    from ..errors import VStyleError
    from ..io.atomic import check_folder_writable

    if not Path(in_dir).is_dir() or not Path(sample).is_file():
        return f"cannot see IN ({in_dir})"
    if not Path(out_dir).is_dir() or not Path(marker).is_file():
        return f"cannot see OUT ({out_dir}), or sees another folder of that name"
    try:
        check_folder_writable(Path(out_dir))
    except VStyleError:
        return f"cannot write to OUT ({out_dir})"
    return None
