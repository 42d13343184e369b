"""The one home for atomic writes: partial names, replace on success, nothing left on failure."""

from __future__ import annotations

import os
from pathlib import Path

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


def test_atomic_output_refuses_an_existing_file_unless_the_caller_checked(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"mine")
    with pytest.raises(VStyleError, match="exists"), atomic_output(target):
        pass
    with atomic_output(target, checked=True) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"


def test_exception_line_takes_a_fallback_for_empty_messages() -> None:
    assert exception_line(OSError(), empty="corrupt file") == "corrupt file"
    assert exception_line(OSError("bad\nmore"), empty="corrupt file") == "bad"
