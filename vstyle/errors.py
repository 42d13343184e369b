"""Errors that reach the user as one line and exit code 2."""


class VStyleError(Exception):
    """A problem with the user's input or environment, shown as one line (exit code 2)."""

    exit_code = 2


def exception_line(exc: BaseException, last: bool = False, limit: int = 200, empty: str | None = None) -> str:
    """One line of ``exc``'s message (the first, or the ``last``: OpenCV and worker tracebacks put the
    reason there), at most ``limit`` characters; ``empty`` (default: the exception's class name) when
    the message is empty. The one place that turns an exception into a line for the user."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return exc.__class__.__name__ if empty is None else empty
    return (lines[-1] if last else lines[0])[:limit]


def counted(n: int, noun: str) -> str:
    """``1 frame``, ``2 frames``: a count and its noun for messages (plural by adding ``s``)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def a_model(mode: str) -> str:
    """``a photo model``, ``an art model``: a model of ``mode`` for messages."""
    return f"{'an' if mode[:1].lower() in 'aeiou' else 'a'} {mode} model"


def either(words: list[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``: alternatives for messages."""
    return " or ".join(filter(None, [", ".join(words[:-1]), *words[-1:]]))
