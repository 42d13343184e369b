"""The benchmark and training scripts import vstyle inside their functions, so a moved module breaks
them only when someone runs them: every ``from vstyle… import name`` in scripts/ must resolve."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def _resolves(module: str, name: str) -> bool:
    mod = importlib.import_module(module)
    if hasattr(mod, name):
        return True
    try:
        importlib.import_module(f"{module}.{name}")
    except ImportError:
        return False
    return True


def test_every_vstyle_import_in_scripts_resolves() -> None:
    imports = [(path.relative_to(SCRIPTS.parent), node.lineno, node.module, alias.name)
               for path in sorted(SCRIPTS.rglob("*.py"))
               for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "vstyle"
               for alias in node.names]
    assert len(imports) > 10
    broken = []
    for path, line, module, name in imports:
        try:
            ok = _resolves(module, name)
        except ImportError:
            ok = False
        if not ok:
            broken.append(f"{path}:{line}: from {module} import {name}")
    assert not broken, broken
