"""Write outputs under a temporary name beside the target and rename on success.

The one home for atomic writes: user outputs (:func:`atomic_output`, which also refuses to clobber),
files the program owns (checkpoints, caches, plots, model files: :func:`replace_on_success`) and
plain bytes (:func:`write_bytes_atomic`). All name their partial file with :func:`partial_path`, and
all write through a symbolic link to its file (:func:`write_target`) and never rename over a device.
Without overwriting, the final rename is itself a no-clobber link, so a file that appeared while the
output was being written (another vstyle writing the same name) is never replaced.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
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


def partial_files(final: Path) -> list[Path]:
    """Every partial file of ``final`` there is, whichever process was writing it (one that was killed
    leaves its own): for clean-up by whoever stopped the writers."""
    return list(_partial_writers(final))


def _partial_writers(final: Path) -> dict[Path, int | None]:
    """The partial files of ``final``, each with the process id in its name (None: a name without one)."""
    target = write_target(final)
    name = re.compile(rf"\.{re.escape(target.stem)}(?:\.(\d+))?\.partial{re.escape(target.suffix)}")
    folder = target.parent
    if not folder.is_dir():
        return {}
    found = ((p, name.fullmatch(p.name)) for p in folder.iterdir())
    return {p: int(m[1]) if m[1] else None for p, m in found if m}


#: A dead writer's partial file untouched this long is removed by the next writer of the same name; the
#: wait spares one being written right now by a process on another machine (a shared network folder).
STALE_PARTIAL_S = 60.0


def remove_stale_partials(final: Path) -> None:
    """Delete the partial files of ``final`` left by writers that were killed outright (SIGKILL, the
    out-of-memory killer, a power cut: nothing of theirs ran to clean up): those whose process id is not
    a live process here and which have not changed for :data:`STALE_PARTIAL_S` seconds.

    Each folder is listed once per process (:func:`_tagged_partials`), not once per output: a batch
    writing N files into one folder would otherwise read it N times, O(N²). A writer that dies while
    this process runs leaves its file to the next run.
    """
    now = time.time()
    target = write_target(final)
    left = []
    for path, pid in _tagged_partials(target.parent).pop(partial_path(target).name, []):
        if not _process_alive(pid):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > STALE_PARTIAL_S:
                    path.unlink()
                    continue
        if path.exists():
            left.append((path, pid))
    if left:  # still alive or too recent: look again at the next write of this name
        _tagged_partials(target.parent)[partial_path(target).name] = left


#: Per folder: the process-tagged partial files found when it was first written to, keyed by the untagged
#: partial name (that of :func:`partial_path` without ``shared``), each with its writer's process id.
_TAGGED_PARTIALS: dict[Path, dict[str, list[tuple[Path, int]]]] = {}
_TAGGED_NAME = re.compile(r"(\..+)\.(\d+)(\.partial.*)")


def _tagged_partials(folder: Path) -> dict[str, list[tuple[Path, int]]]:
    """``folder``'s process-tagged partial files, read from the folder on the first call only."""
    found = _TAGGED_PARTIALS.get(folder)
    if found is None:
        found = {}
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                match = _TAGGED_NAME.fullmatch(entry.name)
                if match:
                    found.setdefault(match[1] + match[3], []).append((Path(entry.path), int(match[2])))
        _TAGGED_PARTIALS[folder] = found
    return found


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def write_target(final: Path) -> Path:
    """The file that writing ``final`` replaces: ``final`` itself, or the file a symbolic link there
    points to (the link is the user's and stays a link). One line for a directory, and for anything
    that is not a regular file (a device such as /dev/null, a pipe, a socket), which a rename would
    replace with a file."""
    try:
        mode = os.stat(final).st_mode
    except (FileNotFoundError, NotADirectoryError):  # nothing there yet (writing says why it cannot be made)
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise VStyleError(f"output {final} is a directory")
    if mode is not None and not stat.S_ISREG(mode):
        raise VStyleError(f"output {final} is not a regular file (a device, pipe or socket); give a file name")
    return Path(os.path.realpath(final)) if final.is_symlink() else final


def check_writable(final: Path, overwrite: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Refuse to clobber an input or an existing file, and fail early on unwritable folders."""
    for src in inputs:
        with contextlib.suppress(OSError):
            if final.exists() and src.exists() and os.path.samefile(final, src):
                raise VStyleError(f"output {final} is the input file; choose another name")
    target = write_target(final)
    if (final.exists() or final.is_symlink()) and not overwrite:  # a dangling link is the user's too
        raise VStyleError(f"output {final} exists; pass {flag('overwrite')} to replace it")
    check_folder_writable(target.parent if str(target.parent) else Path("."))


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


def _put_in_place(tmp: Path, final: Path, overwrite: bool) -> None:
    """Rename the finished ``tmp`` to ``final``; without ``overwrite`` only if ``final`` is still absent
    (a hard link fails on an existing name, atomically; where links are refused, a check just before)."""
    appeared = VStyleError(f"output {final} appeared while this was being written (another program writing "
                           f"the same name?); it was not replaced: pass {flag('overwrite')} to replace it")
    if overwrite:
        os.replace(tmp, final)
        return
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise appeared from None
    except OSError:  # no hard links here (FAT, exFAT, some FUSE and network mounts): check, then rename
        if final.exists():
            raise appeared from None
        os.replace(tmp, final)
        return
    tmp.unlink()


@contextlib.contextmanager
def replace_on_success(final: Path, shared: bool = False, overwrite: bool = True) -> Iterator[Path]:
    """Yield the partial path for a writer (a library that writes its own file); on success rename it
    to ``final`` (replacing it unless ``overwrite`` is False), on any failure delete it. No other checks:
    for files the program owns or targets already checked with :func:`check_writable`. The folder is
    created if missing."""
    final = write_target(Path(final))
    tmp = partial_path(final, shared or not overwrite)  # a user's name: another process may write it too
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(final)
    try:
        yield tmp
        _put_in_place(tmp, final, overwrite)
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
    (``checked``: a job checks its outputs once, before the model loads); without ``overwrite`` a file
    that appears there meanwhile is not replaced either. The partial name carries the process id, so
    two programs writing one name do not share it. With ``keep_partial`` a failed write is left under
    ``<stem>.partial<ext>`` for inspection (the writer is responsible for finalising it so it plays).
    """
    final = Path(final)
    if not checked:
        check_writable(final, overwrite, inputs)
    target = write_target(final)
    tmp = partial_path(target, shared=True)
    remove_stale_partials(target)
    try:
        yield tmp
        _put_in_place(tmp, target, overwrite)
    except BaseException:
        if keep_partial and tmp.exists():
            kept = target.with_name(f"{target.stem}.partial{target.suffix}")
            with contextlib.suppress(OSError):
                os.replace(tmp, kept)
        else:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
