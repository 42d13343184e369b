"""The console entry point, kept import-light so signals are handled from the first moment.

Loading the command modules takes a second or more on a busy machine; a Ctrl-C or SIGTERM in that
time exits 130/143 with the usual one line, as it does once a command runs, instead of Python's
traceback or a bare death by signal."""

from __future__ import annotations

import sys

from .interrupts import forget_caught_interrupts, install_sigterm, interrupted_exit


def main() -> None:
    """``vstyle``: load the command group, then run it (see :func:`vstyle.cli.main.main`)."""
    install_sigterm()
    try:
        from .cli.main import main as run_cli
    except KeyboardInterrupt as exc:
        status, message = interrupted_exit(exc)
        forget_caught_interrupts()
        print(message, file=sys.stderr)
        sys.exit(status)
    run_cli()
