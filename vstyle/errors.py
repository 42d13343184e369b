"""Errors that reach the user as one line and exit code 2."""


class VStyleError(Exception):
    """A problem with the user's input or environment, shown as one line (exit code 2)."""

    exit_code = 2
