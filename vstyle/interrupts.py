"""Ctrl-C and SIGTERM as exceptions that unwind (so outputs are cleaned up), and short sections that
must not be cut by them.

SIGTERM (``kill``, container stop, service managers) raises :class:`Terminated`, a KeyboardInterrupt,
so every ``finally`` and ``except KeyboardInterrupt`` that handles Ctrl-C handles it too; the CLI
exits 143 for it and 130 for Ctrl-C.
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import threading
from typing import Any, Callable, Iterator

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_AT_EXIT: list[Callable[[], None]] = []


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt."""


def raise_terminated(signum: int, frame: Any) -> None:
    """Signal handler: SIGTERM → :class:`Terminated`."""
    raise Terminated


def install_sigterm() -> None:
    """Make SIGTERM raise :class:`Terminated` in the main thread."""
    signal.signal(signal.SIGTERM, raise_terminated)


def interrupted_exit(exc: BaseException | None) -> tuple[int, str]:
    """Exit status and message after Ctrl-C (130, "interrupted") or SIGTERM (143, "terminated")."""
    if isinstance(exc, Terminated):
        return 143, "vstyle: terminated"
    return 130, "vstyle: interrupted"


def ignore_late_signals() -> None:
    """The work is done and the process is exiting: a Ctrl-C or SIGTERM now has nothing left to stop,
    and raising it during interpreter shutdown would turn a clean exit into a traceback or abort."""
    if threading.current_thread() is threading.main_thread():
        for sig in _SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def forget_caught_interrupts() -> None:
    """Call just before exiting after a Ctrl-C was caught, so the exit status stays the one asked for.

    CPython (seen on 3.11) marks a KeyboardInterrupt as unhandled when it escapes code run by ``exec`` or
    ``eval`` of a string (every ``@dataclass`` and ``namedtuple`` definition runs one), even when
    a caller catches it later; under ``python -m`` the interpreter then kills itself with SIGINT at
    exit (status -2) in place of 130. Each string evaluation clears that mark first, so one that
    completes forgets the earlier one."""
    eval("None")


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while the body runs and deliver them when it ends.

    For native work that a Python exception must not cut: importing torch (an exception raised
    inside its initialisation aborts the process, exit 134) and starting or stopping the pipeline's
    threads. In other threads than the main one it does nothing (signals only reach the main one).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        pending.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if pending:
            signal.raise_signal(pending[0])  # handled now by the handler that was in place before


def at_exit(fn: Callable[[], None]) -> None:
    """Run ``fn`` when the process ends, however it ends: from ``atexit`` at a normal exit, and from
    :func:`run_at_exit` before the immediate exits after Ctrl-C, SIGTERM or an abandoned batch
    (``os._exit``, which skips ``atexit``)."""
    if not _AT_EXIT:
        atexit.register(run_at_exit)
    _AT_EXIT.append(fn)


def run_at_exit() -> None:
    """Run what :func:`at_exit` was given, newest first, each once; a failure does not stop the rest."""
    while _AT_EXIT:
        fn = _AT_EXIT.pop()
        try:
            fn()
        except Exception:  # clean-up at exit: nothing left to report to
            pass
