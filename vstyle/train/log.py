"""The run's loss log: one CSV row per step, trimmed back to the checkpoint on resume."""

from __future__ import annotations

import csv
import io
import math
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
        #: Rows of the old log that were damaged (a crash mid-write, another writer) and left out.
        self.dropped = 0
        if resume_step is not None and self.path.is_file():
            rows = _rows(self.path)
            if rows and rows[0] == self.columns:
                parsed = [(r, _numbers(r, len(self.columns))) for r in rows[1:] if r]
                kept = [r for r, v in parsed if v is not None and v[0] <= resume_step]
                self.dropped = sum(v is None for _, v in parsed)
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


def _rows(path: Path) -> list[list[str]]:
    """The CSV's rows; NUL bytes (what a crash or a second writer can leave) and undecodable bytes are
    dropped so that only the rows they hit are damaged."""
    text = path.read_text(encoding="utf-8", errors="replace").replace("\x00", "")
    return list(csv.reader(io.StringIO(text, newline="")))


def _numbers(row: list[str], width: int) -> list[float] | None:
    """A row as floats (empty cells NaN), or None for a damaged one: another length, a cell that is not
    a number, a step that is not a whole number."""
    if len(row) != width:
        return None
    try:
        values = [float(v) if v else math.nan for v in row]
    except ValueError:
        return None
    return values if math.isfinite(values[0]) and values[0] == int(values[0]) else None


def read_log(path: Path) -> tuple[list[str], list[list[float]]]:
    """(column names, rows as floats; empty cells become NaN, damaged rows are left out)."""
    rows = _rows(path)
    if not rows:
        return [], []
    parsed = (_numbers(r, len(rows[0])) for r in rows[1:] if r)
    return rows[0], [v for v in parsed if v is not None]
