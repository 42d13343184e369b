"""The run's loss log: one CSV row per step, trimmed back to the checkpoint on resume."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

LOG_NAME = "losses.csv"


class LossLog:
    """Append-only CSV with a fixed header (``step`` first).

    On resume, rows after ``resume_step`` (steps done after the last checkpoint, which will be
    redone) are dropped so the file matches the restored state.
    """

    def __init__(self, path: Path, columns: Sequence[str], resume_step: int | None = None,
                 flush_every: int = 20) -> None:
        self.path = Path(path)
        self.columns = ["step", *columns]
        self.flush_every = flush_every
        kept: list[list[str]] = []
        if resume_step is not None and self.path.is_file():
            with open(self.path, newline="") as f:
                rows = list(csv.reader(f))
            if rows and rows[0] == self.columns:
                kept = [r for r in rows[1:] if r and int(r[0]) <= resume_step]
        self._file = open(self.path, "w", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(self.columns)
        self._writer.writerows(kept)
        self._pending = 0

    def append(self, step: int, values: dict[str, float]) -> None:
        """One row; missing columns are left empty."""
        self._writer.writerow([step, *(_fmt(values.get(c)) for c in self.columns[1:])])
        self._pending += 1
        if self._pending >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Push buffered rows to disk."""
        self._file.flush()
        self._pending = 0

    def close(self) -> None:
        """Flush and close the file."""
        if not self._file.closed:
            self._file.close()


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def read_log(path: Path) -> tuple[list[str], list[list[float]]]:
    """(column names, rows as floats; empty cells become NaN)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return [], []
    return rows[0], [[float(v) if v else float("nan") for v in r] for r in rows[1:] if r]
