"""SECURITY.md maps every promise to a test: each test it names exists (so a renamed or deleted test
cannot leave a promise unproven)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
REFERENCE = re.compile(r"`((?:[\w]+/)*[\w]+\.py)?((?:::\w+)+)?`")


def _names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            names.add(node.name)
            names.update(
                f"{node.name}::{n.name}"
                for n in node.body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            )
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
    return names


def test_every_test_security_md_names_exists() -> None:
    text = (ROOT / "SECURITY.md").read_text()
    current: Path | None = None
    checked = 0
    for file, names in REFERENCE.findall(text):
        if file:
            current = ROOT / "tests" / file
            assert current.is_file(), f"SECURITY.md names {file}, which does not exist"
            checked += 1
        if names:
            assert current is not None
            assert names[2:] in _names(current), (
                f"SECURITY.md names {current.name}{names}, which does not exist"
            )
            checked += 1
    assert checked > 40
