"""The ``vstyle`` command group. Subcommands live in their own modules and load lazily,
so ``vstyle --help`` does not import torch."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click

from ..errors import VStyleError

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


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="vstyle")
def cli() -> None:
    """Repaint videos, webcam streams and images in the style of any picture.

    \b
    Examples:
      vstyle run clip.mp4 --style starry.jpg             # video in, video out (audio kept)
      vstyle image photo.jpg --style scream.jpg -o out.png
      vstyle live --style a.jpg --style b.jpg            # webcam window
      vstyle batch in/ out/ --style wave.jpg             # whole folders
    """


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    # Idle OpenMP workers sleep instead of spinning: on small shared CPUs spinning threads starve
    # the ones doing work (measured 1.3× on the VGG model, 3× on sctnet-mobile; see README).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        # Without standalone mode click returns ``ctx.exit(n)`` codes instead of exiting with them.
        code = cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("vstyle: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code == 2 or isinstance(exc, click.UsageError) else exc.exit_code)
    except VStyleError as exc:
        click.echo(f"vstyle: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("vstyle: interrupted", err=True)
        sys.exit(130)
    if isinstance(code, int) and code:
        sys.exit(code)
