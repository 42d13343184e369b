"""Rich progress bars with done/total, items per second and ETA (written to stderr)."""

from __future__ import annotations

from types import TracebackType

from typing import Any

from rich.console import Console
from rich.table import Column
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TaskID, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text

#: Progress and messages go to stderr so ``--json`` output on stdout stays clean.
stderr = Console(stderr=True)


class RateColumn(ProgressColumn):
    """Items per second, e.g. ``24.3 fps`` (a task's ``unit`` field overrides the column's)."""

    def __init__(self, unit: str = "fps", table_column: Column | None = None) -> None:
        super().__init__(table_column=table_column)
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", self.unit)
        return Text(f"{speed:5.1f} {unit}" if speed else f"  ?   {unit}", style="cyan")


def discard(progress: Progress) -> None:
    """Erase the bar and print nothing more, so a failed job ends with just its one-line message."""
    progress.live.transient = True
    progress.live.stop()
    progress.disable = True  # Progress.stop would otherwise print a newline on non-terminals


#: Columns the numbers of :func:`make_progress` (n/total, rate, elapsed, ETA, their gaps) and a 4-cell bar take.
_NUMBERS_WIDTH = 48


def make_progress(unit: str = "fps", disable: bool = False) -> Progress:
    """A progress display: description, bar, n/total, rate, elapsed, ETA.

    The description gets what the numbers and a short bar leave (cut with an ellipsis), and the bar what
    is left after it, so that at 80 columns counts, rate and times stay whole on one line: left to
    itself, rich gave a long description everything and cut the numbers to "…".
    """
    def whole() -> Column:
        return Column(no_wrap=True, overflow="ignore")

    described = Column(no_wrap=True, overflow="ellipsis", max_width=max(8, stderr.width - _NUMBERS_WIDTH))
    return Progress(TextColumn("[bold]{task.description}", table_column=described),
                    BarColumn(bar_width=None, table_column=Column(ratio=1, min_width=4)),
                    MofNCompleteColumn(table_column=whole()), RateColumn(unit, table_column=whole()),
                    TimeElapsedColumn(table_column=whole()), TextColumn("ETA", table_column=whole()),
                    TimeRemainingColumn(table_column=whole()), console=stderr, disable=disable, transient=False,
                    expand=stderr.is_terminal)  # a log file gets lines as long as their text


class BatchProgress:
    """The batch's progress view (a :class:`~vstyle.jobs.batch.BatchObserver`): a files bar, a bar for
    each video in progress, and, when the frame total is known up front (``vstyle batch --ray``), one
    frames bar over all files and workers with the cluster's FPS and ETA."""

    def __init__(self, files: int, frames: int | None = None, disable: bool = False) -> None:
        self.progress = make_progress("files/s", disable=disable)
        self._files = self.progress.add_task("files", total=files)
        self._frames = self.progress.add_task("frames", total=frames, unit="fps") if frames else None
        self._tasks: dict[int, TaskID] = {}  # id(job) -> its bar
        self._done: dict[int, int] = {}  # id(job) -> frames written

    def __enter__(self) -> "BatchProgress":
        self.progress.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.progress.__exit__(exc_type, exc, tb)

    def file_started(self, job: Any) -> None:
        if job.kind == "video":
            self._tasks[id(job)] = self.progress.add_task(job.src.name, total=None, unit="fps")

    def frames(self, job: Any, done: int, total: int) -> None:
        task = self._tasks.get(id(job))
        if task is not None:
            self.progress.update(task, completed=done, total=max(total, done))
        self._done[id(job)] = done
        if self._frames is not None:
            self.progress.update(self._frames, completed=sum(self._done.values()))

    def file_finished(self, job: Any) -> None:
        task = self._tasks.pop(id(job), None)
        if task is not None:
            self.progress.remove_task(task)
        self.progress.advance(self._files)


def make_loss_progress(disable: bool = False) -> Progress:
    """Like :func:`make_progress` for optimisation steps, with the task's ``loss`` field at the end
    (a narrower bar keeps the line within 80 columns)."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=16), MofNCompleteColumn(),
                    RateColumn("it/s"), TimeElapsedColumn(), TimeRemainingColumn(),
                    TextColumn("loss {task.fields[loss]}"), console=stderr, disable=disable, transient=False)
