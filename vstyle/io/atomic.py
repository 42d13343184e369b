"""Write outputs under a temporary name beside the target and rename on success.

The one home for atomic writes: user outputs (:func:`atomic_output`, which also refuses to clobber),
files the program owns (checkpoints, caches, plots, model files: :func:`replace_on_success`) and
plain bytes (:func:`write_bytes_atomic`). All name their partial file with :func:`partial_path`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import VStyleError, exception_line
from ..flags import flag


def partial_path(final: Path, shared: bool = False) -> Path:
    """The temporary name used while ``final`` is being written: ``.<stem>.partial<ext>`` in the same
    folder (the extension kept, so libraries that pick a format by it still do).

    ``shared``: other processes may write the same file at the same time (a cache), so the process id
    keeps their partial files apart: ``.<stem>.<pid>.partial<ext>``.
    """
    tag = f".{os.getpid()}" if shared else ""
    return final.with_name(f".{final.stem}{tag}.partial{final.suffix}")


def check_writable(final: Path, overwrite: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Refuse to clobber an input or an existing file, and fail early on unwritable folders."""
    for src in inputs:
        with contextlib.suppress(OSError):
            if final.exists() and src.exists() and os.path.samefile(final, src):
                raise VStyleError(f"output {final} is the input file; choose another name")
    if final.is_dir():
        raise VStyleError(f"output {final} is a directory")
    if (final.exists() or final.is_symlink()) and not overwrite:  # a dangling link is the user's too
        raise VStyleError(f"output {final} exists; pass {flag('overwrite')} to replace it")
    check_folder_writable(final.parent if str(final.parent) else Path("."))


def make_folder(folder: Path, what: str = "output folder") -> None:
    """Create ``folder`` and its parents if missing; one line when it cannot be made (a read-only
    place, a file in the way)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VStyleError(f"cannot create {what} {folder}: {exc.strerror or exception_line(exc)}") from None


def check_folder_writable(folder: Path) -> None:
    """Fail with one line unless files can be created in ``folder`` (which must exist)."""
    if not folder.is_dir():
        raise VStyleError(f"output folder {folder} does not exist")
    try:
        # A real probe: os.access says yes to root even on read-only mounts.
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".vstyle-probe-"):
            pass
    except OSError:
        raise VStyleError(f"output folder {folder} is not writable") from None


def set_default_mode(path: Path) -> None:
    """Give ``path`` the permissions a newly created file normally gets (0666 less the umask): some
    writers (safetensors) create files readable by their owner only."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


@contextlib.contextmanager
def replace_on_success(final: Path, shared: bool = False) -> Iterator[Path]:
    """Yield the partial path for a writer (a library that writes its own file); on success rename it
    to ``final`` (replacing it), on any failure delete it. No checks: for files the program owns or
    targets already checked with :func:`check_writable`. The folder is created if missing."""
    final = Path(final)
    tmp = partial_path(final, shared)
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_bytes_atomic(final: Path, data: bytes, shared: bool = False) -> None:
    """Write ``data`` to ``final`` through a partial file (see :func:`replace_on_success`)."""
    with replace_on_success(final, shared) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def atomic_output(final: Path, overwrite: bool = False, keep_partial: bool = False,
                  inputs: tuple[Path, ...] = (), checked: bool = False) -> Iterator[Path]:
    """Yield a temporary path; on success rename it to ``final``, on failure delete it.

    ``final`` is checked with :func:`check_writable` first, unless the caller already did
    (``checked``: a job checks its outputs once, before the model loads). With ``keep_partial`` a
    failed write is left under ``<stem>.partial<ext>`` for inspection (the writer is responsible
    for finalising it so it plays).
    """
    final = Path(final)
    if not checked:
        check_writable(final, overwrite, inputs)
    tmp = partial_path(final)
    try:
        yield tmp
    except BaseException:
        if keep_partial and tmp.exists():
            kept = final.with_name(f"{final.stem}.partial{final.suffix}")
            with contextlib.suppress(OSError):
                os.replace(tmp, kept)
        else:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    os.replace(tmp, final)
