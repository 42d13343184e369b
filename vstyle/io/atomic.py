"""Write outputs under a temporary name beside the target and rename on success."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import VStyleError


def partial_path(final: Path) -> Path:
    """The temporary name used while ``final`` is being written (same folder, same extension)."""
    return final.with_name(f".{final.stem}.partial{final.suffix}")


def check_writable(final: Path, overwrite: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Refuse to clobber an input or an existing file, and fail early on unwritable folders."""
    for src in inputs:
        with contextlib.suppress(OSError):
            if final.exists() and src.exists() and os.path.samefile(final, src):
                raise VStyleError(f"output {final} is the input file; choose another name")
    if final.is_dir():
        raise VStyleError(f"output {final} is a directory")
    if final.exists() and not overwrite:
        raise VStyleError(f"output {final} exists; pass --overwrite to replace it")
    check_folder_writable(final.parent if str(final.parent) else Path("."))


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
def atomic_output(final: Path, overwrite: bool = False, keep_partial: bool = False,
                  inputs: tuple[Path, ...] = ()) -> Iterator[Path]:
    """Yield a temporary path; on success rename it to ``final``, on failure delete it.

    With ``keep_partial`` a failed write is left under ``<stem>.partial<ext>`` for inspection
    (the writer is responsible for finalising it so it plays).
    """
    final = Path(final)
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
