"""How messages name the user's options: the one rule that keeps flag spellings inside ``vstyle/cli/``.

Code outside ``cli/`` never writes a flag such as ``--max-size`` in a message, note or warning; it writes
``flag("max_size")``, naming the option by its key (the name of the Click parameter, which is also the
library argument's name where there is one). While a command runs, the CLI installs its spelling
(:func:`spelled_by`, from ``cli/main.py``), so the same message reads ``--max-size`` there; library
callers outside the CLI see the bare key, ``max_size``.

A message is spelled when it is made, not when it is shown: errors that jobs catch and print themselves
(a batch's failed files), notes and warnings read the same as the errors the top-level handler prints.
Work in other processes (Ray workers) is handed :func:`spelling` and runs under it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

Spelling = Callable[[str], str]


def _bare(key: str) -> str:
    return key


_spelling: Spelling = _bare


def flag(key: str) -> str:
    """The option whose parameter is ``key`` as the user knows it: ``--max-size`` under the CLI, else ``max_size``."""
    return _spelling(key)


def spelling() -> Spelling:
    """The spelling in force, to hand to work in another process (it must pickle)."""
    return _spelling


@contextmanager
def spelled_by(spelling: Spelling) -> Iterator[None]:
    """Spell :func:`flag` keys with ``spelling`` inside the block (the CLI, for the run of one command)."""
    global _spelling
    before, _spelling = _spelling, spelling
    try:
        yield
    finally:
        _spelling = before
