"""Flag spellings live in ``vstyle/cli/`` only: library messages name options by key (vstyle.flags)."""

from __future__ import annotations

import ast
import importlib
import pickle
import re
from pathlib import Path

import click
from click.testing import CliRunner

from vstyle.flags import flag, spelled_by, spelling

PACKAGE = Path(__file__).resolve().parent.parent / "vstyle"
FLAG = re.compile(r"(?<![\w-])--[a-z]")
#: Flags of other programs that library code passes on or names.
FOREIGN = {"--porcelain", "--head"}


def _cli_options() -> dict[str, set[str]]:
    """Every option of every command: parameter key -> the flag spellings it has."""
    from vstyle.cli.main import COMMANDS, flag_spelling

    found: dict[str, set[str]] = {}
    for mod in COMMANDS.values():
        command = importlib.import_module(mod).command
        spell = flag_spelling(command)
        stack = [command]
        while stack:
            cmd = stack.pop()
            for p in cmd.params:
                if isinstance(p, click.Option) and p.name:
                    found.setdefault(p.name, set()).add(spell(p.name))
            if isinstance(cmd, click.Group):
                stack.extend(cmd.commands.values())
    return found


def _library_files() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if "cli" not in p.relative_to(PACKAGE).parts]


def test_library_messages_name_options_by_key_and_the_cli_spells_them() -> None:
    assert flag("max_size") == "max_size"  # a library caller sees the key
    with spelled_by(lambda key: "--" + key.replace("_", "-")):
        assert flag("max_size") == "--max-size"
        assert spelling()("crf") == "--crf"
    assert flag("max_size") == "max_size"


def test_no_flag_is_spelled_outside_the_cli() -> None:
    """String literals outside cli/ (docstrings aside) never hold a flag; every flag() key is an option."""
    options = _cli_options()
    keys: set[str] = set()
    for path in _library_files():
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                spelled = {m.group(0) + rest for m, rest in
                           ((m, re.match(r"[a-z-]*", node.value[m.end():]).group(0))  # type: ignore[union-attr]
                            for m in FLAG.finditer(node.value))}
                assert spelled <= FOREIGN, f"{path.relative_to(PACKAGE)}:{node.lineno} spells {spelled}"
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "flag"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                keys.add(node.args[0].value)
    assert len(keys) > 50
    assert keys - options.keys() == set(), "flag() keys that no command has"


def test_each_option_key_has_one_flag_throughout_the_cli() -> None:
    """What ``flag_spelling`` relies on for a command and its subcommands."""
    options = _cli_options()
    assert {k: v for k, v in options.items() if len(v) != 1} == {}
    assert options["styles"] == {"--style"} and options["engine_path"] == {"--engine"}
    assert options["output"] == {"--output"}  # the long form, not -o


def test_the_running_command_spells_library_errors_and_workers_get_its_spelling(tmp_path: Path) -> None:
    from vstyle.cli.main import cli, flag_spelling
    from vstyle.cli.run import command as run

    spell = flag_spelling(run)
    assert (spell("engine_path"), spell("no_audio"), spell("unknown_key")) == ("--engine", "--no-audio",
                                                                               "--unknown-key")
    assert pickle.loads(pickle.dumps(spell))("engine_path") == "--engine"  # handed to Ray workers
    result = CliRunner().invoke(cli, ["live", "--style", str(tmp_path), "--no-window", "--record",
                                      str(tmp_path / "rec.mp4")])
    assert result.exit_code != 0 and str(result.exception).startswith(f"--style {tmp_path}: the folder has no")
    assert flag("styles") == "styles"  # back to the library's spelling once the command is over
