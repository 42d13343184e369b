"""Live training display: step n/total, it/s, elapsed, ETA and the smoothed losses (rich, on stderr)."""

from __future__ import annotations

from typing import Any, Iterable

from rich.columns import Columns
from rich.console import RenderableType
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.text import Text

from .progress import RateColumn, discard, stderr

SMOOTH = 0.9


class _LossesBelow(Progress):
    """The progress line, then each task's ``losses`` field (a list of "name value" strings) on lines of
    its own: the losses are long and would otherwise squeeze the step count and ETA out of an 80-column
    terminal. They are laid out as columns, so a narrow terminal breaks the line between two losses,
    never between a loss and its value. Before the first task, ``status`` (what the set-up is doing) is
    shown in its place."""

    status = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        if self.status:
            yield Text(self.status)
        yield self.make_tasks_table(self.tasks)
        for task in self.tasks:
            if task.fields.get("losses"):
                yield Columns([Text(pair, style="dim") for pair in task.fields["losses"]], padding=(0, 2))


class RichReporter:
    """A :class:`vstyle.train.trainer.Reporter` drawing a progress line, the losses below it, and messages."""

    def __init__(self, disable: bool = False) -> None:
        self.progress = _LossesBelow(TextColumn("[bold]train"), BarColumn(bar_width=24), MofNCompleteColumn(),
                                     RateColumn("it/s"), TimeElapsedColumn(), TextColumn("ETA"),
                                     TimeRemainingColumn(), console=stderr, disable=disable)
        self.disable = disable
        self.task: Any = None
        self.smoothed: dict[str, float] = {}

    def start(self, first_step: int, total_steps: int, info: dict[str, Any]) -> None:
        """Open the display at ``first_step`` of ``total_steps`` (the set-up's status line stays above it)."""
        status, self.progress.status = self.progress.status, ""
        self.progress.start()
        if status:
            self.progress.console.print(status)
        self.task = self.progress.add_task("train", total=total_steps, completed=first_step, losses=[])

    def step(self, step: int, losses: dict[str, float], lr: float) -> None:
        """Advance one step and show the exponentially smoothed losses."""
        for k, v in losses.items():
            self.smoothed[k] = v if k not in self.smoothed else SMOOTH * self.smoothed[k] + (1 - SMOOTH) * v
        pairs = [f"{k} {v:.4g}" for k, v in self.smoothed.items()] + [f"lr {lr:.3g}"]
        self.progress.update(self.task, completed=step, losses=pairs)

    def message(self, text: str) -> None:
        """A line above the progress bar; before it opens, a status line that a failed set-up erases (so
        its error is the one line left) and a good one keeps."""
        if self.disable:
            return
        if self.task is None:
            self.progress.status = text
            self.progress.start()
        else:
            self.progress.console.print(text)

    def stop(self, failed: bool = False) -> None:
        """Close the display; after a failure erase it, so the error is the only line."""
        if failed:
            discard(self.progress)
        else:
            self.progress.stop()
