"""One-line summaries of exceptions (what bench result rows and the live window's error show)."""

from __future__ import annotations

from vstyle.errors import exception_line


def test_exception_line_picks_first_or_last_line_and_falls_back_to_the_class() -> None:
    exc = RuntimeError("OpenCV(4.10) window.cpp:123: error:\n\n"
                       "  (-2:Unspecified error) The function is not implemented \n")
    assert exception_line(exc) == "OpenCV(4.10) window.cpp:123: error:"
    assert exception_line(exc, last=True) == "(-2:Unspecified error) The function is not implemented"
    assert exception_line(ValueError("x" * 500)) == "x" * 200
    assert exception_line(KeyError()) == "KeyError"
