"""Run the real ``vstyle`` entry point in a subprocess (exit codes and stderr as users see them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_vstyle(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``python -m vstyle ARGS``; returns the completed process with text stdout/stderr."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "vstyle", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """Exit ``code`` with exactly one non-empty stderr line and no traceback; returns that line."""
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, proc.stderr
    return lines[0]
