"""The one home for atomic writes: partial names, replace on success, nothing left on failure."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from vstyle.errors import VStyleError, exception_line
from vstyle.io.atomic import atomic_output, partial_path, replace_on_success, write_bytes_atomic


def test_partial_names_keep_the_extension_and_shared_ones_the_process() -> None:
    assert partial_path(Path("d/out.mp4")) == Path("d/.out.partial.mp4")
    assert partial_path(Path("d/x.onnx"), shared=True) == Path(f"d/.x.{os.getpid()}.partial.onnx")


def test_replace_on_success_keeps_the_old_file_when_the_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "ckpt.pt"
    write_bytes_atomic(target, b"old")  # creates the folder
    with pytest.raises(RuntimeError), replace_on_success(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("crash")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["ckpt.pt"]
    write_bytes_atomic(target, b"new", shared=True)
    assert target.read_bytes() == b"new" and sorted(p.name for p in target.parent.iterdir()) == ["ckpt.pt"]


def test_atomic_output_refuses_an_existing_file_unless_overwriting(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"mine")
    with pytest.raises(VStyleError, match="exists"), atomic_output(target):
        pass
    with atomic_output(target, overwrite=True, checked=True) as tmp:  # the caller checked, the user said so
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"


def test_exception_line_takes_a_fallback_for_empty_messages() -> None:
    assert exception_line(OSError(), empty="corrupt file") == "corrupt file"
    assert exception_line(OSError("bad\nmore"), empty="corrupt file") == "bad"


def test_outputs_write_through_links_and_never_replace_a_device(tmp_path: Path) -> None:
    """``--overwrite`` renamed over whatever was there: a link became a file (its target untouched), and
    /dev/null or /dev/stdout would have become files too."""
    with pytest.raises(VStyleError, match="not a regular file"), atomic_output(Path("/dev/null"), overwrite=True):
        pass
    assert Path("/dev/null").is_char_device()
    target = tmp_path / "real.png"
    target.write_bytes(b"old")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    with atomic_output(link, overwrite=True) as tmp:
        assert tmp.parent == target.parent and str(os.getpid()) in tmp.name
        tmp.write_bytes(b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"
    with replace_on_success(link) as tmp:
        tmp.write_bytes(b"newer")
    assert link.is_symlink() and target.read_bytes() == b"newer"


def test_a_file_that_appears_while_writing_is_kept_unless_overwriting(tmp_path: Path) -> None:
    """Two programs writing one name shared a partial file (a traceback for one of them), and the later
    rename replaced the other's finished output although neither was told to overwrite."""
    final = tmp_path / "out.png"
    with pytest.raises(VStyleError, match="appeared while this was being written"), atomic_output(final) as tmp:
        tmp.write_bytes(b"mine")
        final.write_bytes(b"theirs")  # another writer finished first
    assert final.read_bytes() == b"theirs" and sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]
    with atomic_output(final, overwrite=True) as tmp:
        tmp.write_bytes(b"mine")
    assert final.read_bytes() == b"mine"
    with pytest.raises(VStyleError, match="appeared"), replace_on_success(final, overwrite=False) as tmp:
        tmp.write_bytes(b"model")
    assert final.read_bytes() == b"mine"


def test_partial_files_are_every_writers_of_that_name_only(tmp_path: Path) -> None:
    """A stopped Ray batch removed only the partial name without a process id, but workers write under
    their own: a killed worker's file stayed in the output folder."""
    from vstyle.io.atomic import partial_files

    for name in (".a.partial.mp4", ".a.123.partial.mp4", ".a.b.7.partial.mp4", ".ab.9.partial.mp4", "a.mp4"):
        (tmp_path / name).write_bytes(b"")
    assert sorted(p.name for p in partial_files(tmp_path / "a.mp4")) == [".a.123.partial.mp4", ".a.partial.mp4"]
    with replace_on_success(tmp_path / "m.safetensors", overwrite=False) as tmp:  # a user's name: per process
        assert str(os.getpid()) in tmp.name
        tmp.write_bytes(b"x")


def test_a_killed_writers_partial_is_removed_by_the_next_writer(tmp_path: Path) -> None:
    """SIGKILL leaves ``.<stem>.<pid>.partial<ext>`` (a whole hidden video) with nothing to remove it: the
    next write of that name does, unless its process is alive or it changed within the last minute."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a process id that is no longer running
    final = tmp_path / "out.mp4"
    dead = tmp_path / f".out.{child.pid}.partial.mp4"
    fresh_dead = tmp_path / f".out.{child.pid + 1_000_000}.partial.mp4"  # not a pid this kernel hands out
    alive = tmp_path / f".out.{os.getppid()}.partial.mp4"
    untagged = tmp_path / ".out.partial.mp4"
    other = tmp_path / f".other.{child.pid}.partial.mp4"
    for path in (dead, fresh_dead, alive, untagged, other):
        path.write_bytes(b"old frames")
    old = time.time() - 120
    for path in (dead, alive, untagged, other):
        os.utime(path, (old, old))
    with atomic_output(final) as tmp:
        tmp.write_bytes(b"new")
    assert final.read_bytes() == b"new"
    assert not dead.exists()
    assert fresh_dead.exists() and alive.exists() and untagged.exists() and other.exists()
    os.utime(fresh_dead, (old, old))
    with replace_on_success(tmp_path / "out.mp4") as tmp:  # the program's own files clean up the same way
        tmp.write_bytes(b"newer")
    assert not fresh_dead.exists() and alive.exists()


def test_a_folder_is_listed_once_for_stale_partials_however_many_outputs(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Looking for a killed writer's partial file listed the whole output folder before every write: a
    batch of N outputs into one folder read it N times (quadratic in N)."""
    listed: list[str] = []
    real_scandir, real_listdir = os.scandir, os.listdir

    def counting(real: Any) -> Any:
        def read(path: Any = ".") -> Any:
            listed.append(str(path))
            return real(path)
        return read

    monkeypatch.setattr(os, "scandir", counting(real_scandir))  # pathlib's iterdir reads through these too
    monkeypatch.setattr(os, "listdir", counting(real_listdir))
    for i in range(20):
        with atomic_output(tmp_path / f"frame_{i:03d}.png") as tmp:
            tmp.write_bytes(b"x")
    assert listed == [str(tmp_path)]
    monkeypatch.undo()
    assert len(list(tmp_path.iterdir())) == 20
