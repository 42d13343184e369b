"""The ``vstyle`` command group. Subcommands live in their own modules and load lazily,
so ``vstyle --help`` does not import torch."""

from __future__ import annotations

import errno
import functools
import importlib
import importlib.util
import os
import sys
from typing import Any, Callable, NoReturn

import click

from ..errors import VStyleError
from ..flags import spelled_by
from ..interrupts import forget_caught_interrupts, ignore_late_signals, install_sigterm, interrupted_exit, run_at_exit
from ..process_settings import apply_process_settings

# command name -> module defining ``command`` (a click.Command or click.Group)
COMMANDS: dict[str, str] = {
    "run": "vstyle.cli.run",
    "image": "vstyle.cli.image",
    "batch": "vstyle.cli.batch",
    "live": "vstyle.cli.live",
    "export-onnx": "vstyle.cli.export_onnx",
    "export-trt": "vstyle.cli.export_trt",
    "bench": "vstyle.cli.bench",
    "eval": "vstyle.cli.eval",
    "train": "vstyle.cli.train",
    "weights": "vstyle.cli.weights",
    "info": "vstyle.cli.info",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, mod in COMMANDS.items() if importlib.util.find_spec(mod) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        mod = COMMANDS.get(cmd_name)
        if mod is None or importlib.util.find_spec(mod) is None:
            return None
        return importlib.import_module(mod).command

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                            list[str]]:
        """The subcommand to run; library messages made while it runs spell options as its flags
        (:mod:`vstyle.flags`), until the command's context closes."""
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None:
            refuse_empty_values(click.Context(cmd, info_name=name, parent=ctx), rest)
            ctx.with_resource(spelled_by(flag_spelling(cmd)))
        return name, cmd, rest


def refuse_empty_values(ctx: click.Context, args: list[str]) -> None:
    """No vstyle option or argument takes an empty string, yet one reached the command as a path
    (``-o ''`` wrote beside the input, ``vstyle image ''`` said ". is a folder") or as "not given"
    (``--model ''`` ran the default model): refuse it, naming the option it was meant for. An option whose
    value is optional (``--ray`` alone: a local cluster) may be given an empty one."""
    options = [p for p in _params(ctx.command) if isinstance(p, click.Option) and not p.is_flag]
    # click's own mark of an option that may stand without its value (flag_value set, is_flag off).
    optional = {opt for p in options if getattr(p, "_flag_needs_value", False) for opt in p.opts}
    nargs = {opt: p.nargs for p in options for opt in p.opts if opt not in optional}
    i, positional = 0, False  # after "--" every word is an argument
    while i < len(args):
        arg = args[i]
        if not positional and arg == "--":
            positional = True
        elif not positional and arg.endswith("=") and arg[:-1] in nargs:
            raise click.UsageError(f"{arg[:-1]} needs a value, got an empty string", ctx=ctx)
        elif not positional and arg in nargs:
            if "" in args[i + 1:i + 1 + nargs[arg]]:  # every value of a two-value option (MIN MAX) too
                raise click.UsageError(f"{arg} needs a value, got an empty string", ctx=ctx)
            i += nargs[arg]
        elif not positional and arg in optional:
            i += args[i + 1:i + 2] == [""]  # its optional value, empty (``--ray ''``: a local cluster)
        elif arg == "":
            raise click.UsageError("an argument is an empty string", ctx=ctx)
        i += 1


def _params(command: click.Command) -> list[click.Parameter]:
    """The parameters of ``command`` and of its subcommands, if it is a group (outer ones first)."""
    params: list[click.Parameter] = []
    stack = [command]
    while stack:
        cmd = stack.pop()
        params.extend(cmd.params)
        if isinstance(cmd, click.Group):
            stack.extend(cmd.commands.values())
    return params


def flag_spelling(command: click.Command) -> Callable[[str], str]:
    """Parameter key -> flag for ``command`` and its subcommands (``max_size`` -> ``--max-size``: the
    first long option; the CLI gives each key one flag throughout). A key the command lacks is spelled
    by Click's convention, as the user would type it."""
    flags: dict[str, str] = {}
    for param in _params(command):
        if isinstance(param, click.Option) and param.name is not None:
            flags.setdefault(param.name, next((o for o in param.opts if o.startswith("--")), param.opts[0]))
    return functools.partial(_spell, flags)


def _spell(flags: dict[str, str], key: str) -> str:
    return flags.get(key) or "--" + key.replace("_", "-")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="vstyle")
def cli() -> None:
    """Repaint videos, webcam streams and images in the style of any picture.

    \b
    Examples:
      vstyle run clip.mp4 --style starry.jpg     # video in, video out, audio kept
      vstyle image photo.jpg --style scream.jpg -o out.png
      vstyle live --style a.jpg --style b.jpg    # webcam window
      vstyle batch in/ out/ --style wave.jpg     # whole folders
    """


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2; Ctrl-C exits 130
    and SIGTERM 143, both after the same clean-up (temporary files removed)."""
    apply_process_settings()  # before any thread or tensor: OpenMP's wait policy, malloc's reuse
    # SIGTERM raises Terminated, as Ctrl-C raises KeyboardInterrupt; training swaps in its own handler
    # (finish the step, checkpoint) while it steps.
    install_sigterm()
    report: Callable[[], None] = lambda: None  # noqa: E731 - what to print once signals are off
    stdout = sys.stdout
    if stdout is not None:  # None: started with stdout closed (``>&-``), where nothing is written anyway
        sys.stdout = _Stdout(stdout)
    try:
        # Without standalone mode click returns ``ctx.exit(n)`` codes instead of exiting with them.
        code = cli.main(standalone_mode=False)
        status: Any = code if isinstance(code, int) else 0
    except click.exceptions.Exit as exc:
        status = exc.exit_code
    except click.exceptions.Abort as exc:  # click wraps KeyboardInterrupt (and so Terminated) in Abort
        status, report = _interrupted(exc.__cause__ or exc.__context__)
    except click.exceptions.NoArgsIsHelpError as exc:  # a bare group: its help, as click shows it
        status, report = 2, exc.show
    except click.ClickException as exc:
        status = 2 if exc.exit_code == 2 or isinstance(exc, click.UsageError) else exc.exit_code
        report = functools.partial(click.echo, f"vstyle: error: {_click_message(exc)}", err=True)
    except VStyleError as exc:
        status, report = exc.exit_code, functools.partial(click.echo, f"vstyle: error: {exc}", err=True)
    except KeyboardInterrupt as exc:
        status, report = _interrupted(exc)
    except SystemExit as exc:  # e.g. batch's status 1
        status = exc.code
    except _StdoutLost as lost:
        status, report = _lost_stdout(lost.error)
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
        # Any path the user gives can be too long for the file system; one rule for every place that opens one.
        status, report = 2, functools.partial(click.echo, f"vstyle: error: {_too_long(exc)}", err=True)
    finally:
        sys.stdout = stdout
    # The work is over: a signal from here on has nothing left to stop, and raised during the
    # message or interpreter shutdown it would turn this exit into a traceback.
    ignore_late_signals()
    forget_caught_interrupts()
    report()
    if status in (130, 143):
        exit_interrupted(status)
    sys.exit(status)


def _too_long(exc: OSError) -> str:
    """The message for a path past the file system's limits (255 bytes a name, PATH_MAX in all)."""
    name = str(exc.filename or "")
    shown = f"{name[:40]}…{name[-20:]}" if len(name) > 64 else name
    return f"file name too long for this file system: {shown}" if shown else "file name too long for this file system"


class _StdoutLost(Exception):
    """Standard output failed while the command wrote to it (a full disk, a closed pipe)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Stdout:
    """``sys.stdout`` while a command runs: a failed write or flush is raised as :class:`_StdoutLost`, so that
    :func:`main` can tell it from the OSErrors of other files (bugs: those are one-line VStyleErrors). Its
    ``buffer`` is guarded the same way: click writes bytes there when the stream's encoding is not one it
    trusts."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, data: Any) -> int:
        try:
            return int(self._stream.write(data))
        except OSError as exc:
            raise _StdoutLost(exc) from None

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise _StdoutLost(exc) from None

    @property
    def buffer(self) -> "_Stdout":
        return _Stdout(self._stream.buffer)

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno, … as the stream has them
        return getattr(self._stream, name)


def _lost_stdout(exc: OSError) -> tuple[int, Callable[[], None]]:
    """Exit status and message when standard output failed. A reader that stopped reading (``| head``)
    is not an error: exit 0 without a word. Anything else (a full disk) is one line and status 1. Either
    way stdout is pointed at /dev/null, or the interpreter's last flush would fail again at exit."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # a stream without a descriptor (a test's capture) has nothing to flush later
        pass
    if isinstance(exc, BrokenPipeError):
        return 0, lambda: None
    why = exc.strerror or exc.__class__.__name__
    return 1, functools.partial(click.echo, f"vstyle: error: cannot write to standard output: {why}", err=True)


def _click_message(exc: click.ClickException) -> str:
    """Click's own complaint (a bad value, an unknown option or command) as one line, pointing at the
    help of the command it is about, like every other user error (click would print usage, a hint and
    the error on four lines)."""
    message = " ".join(line.strip() for line in exc.format_message().splitlines() if line.strip())
    ctx = exc.ctx if isinstance(exc, click.UsageError) else None
    return f"{message.rstrip('.')}; see '{ctx.command_path} --help'" if ctx is not None else message


def exit_interrupted(status: int) -> NoReturn:
    """Leave at once with ``status`` after Ctrl-C or SIGTERM, without interpreter finalisation.

    The clean-up is done by then, but native threads may still be busy (a batch nobody will use, codec
    threads), and finalisation tears libraries down under them: of 120 random Ctrl-Cs of `vstyle run`,
    3 aborted after the clean-up (``terminate called without an active exception``) and 1 crashed; of
    300 since, none. Tests that call :func:`main` in their own process replace this with ``sys.exit``.
    """
    run_at_exit()  # what atexit would have removed (temporary caches)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _interrupted(exc: BaseException | None) -> tuple[int, Callable[[], None]]:
    """Exit status and message after Ctrl-C (130) or SIGTERM (143)."""
    status, message = interrupted_exit(exc)
    return status, lambda: click.echo(message, err=True)
