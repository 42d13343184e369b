"""Rich progress bars with done/total, items per second and ETA (written to stderr)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text

#: Progress and messages go to stderr so ``--json`` output on stdout stays clean.
stderr = Console(stderr=True)


class RateColumn(ProgressColumn):
    """Items per second, e.g. ``24.3 fps``."""

    def __init__(self, unit: str = "fps") -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:5.1f} {self.unit}" if speed else f"  ?   {self.unit}", style="cyan")


def make_progress(unit: str = "fps", disable: bool = False) -> Progress:
    """A progress display: description, bar, n/total, rate, elapsed, ETA."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(unit),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=stderr,
                    disable=disable, transient=False)
