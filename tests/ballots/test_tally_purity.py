"""The core stays pure: no module in ballots/ imports Flask, SQLAlchemy or the voting app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BALLOTS = Path(__file__).resolve().parents[2] / "ballots"
FORBIDDEN = ("flask", "sqlalchemy", "voting")


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every module a file imports, at any depth (also inside functions)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


MODULES = sorted(BALLOTS.rglob("*.py"))


def test_the_core_has_modules():
    assert BALLOTS / "tally.py" in MODULES and BALLOTS / "rules.py" in MODULES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(BALLOTS)))
def test_no_framework_imports(path):
    bad = sorted(root for root in imported_roots(path)
                 if root.lower() in FORBIDDEN or root.lower().startswith(("flask_", "sqlalchemy_")))
    assert not bad, f"{path.name} imports {', '.join(bad)}; ballots/ must stay free of the web app"
