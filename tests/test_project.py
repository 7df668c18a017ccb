"""The project's own rules: module size, the dependency direction, a self-contained checkout."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("rugs_env", "recorder", "scripts", "tests")
MAX_LINES = 400


def python_files() -> list[Path]:
    return sorted(p for d in CODE_DIRS for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_stays_under_400_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines < MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by responsibility"


def test_the_rulebook_imports_nothing_else_from_the_project() -> None:
    for path in (ROOT / "rugs_env" / "game").rglob("*.py"):
        for name in imported_modules(path):
            if name.startswith(("rugs_env", "recorder")):
                assert name.startswith("rugs_env.game"), f"{path.name} imports {name}"


def test_the_recorder_depends_only_on_the_rulebook() -> None:
    for path in (ROOT / "recorder").rglob("*.py"):
        for name in imported_modules(path):
            if name.startswith("rugs_env"):
                assert name in ("rugs_env", "rugs_env.game") or name.startswith("rugs_env.game."), (
                    f"{path.relative_to(ROOT)} imports {name}"
                )


def test_datasets_is_a_data_folder_not_a_package() -> None:
    assert not (ROOT / "datasets" / "__init__.py").exists()


def test_nothing_reads_the_shared_folder() -> None:
    """Real captures are copied into tests/fixtures; no code or test opens the planners' shared folder."""
    shared_path = re.compile(r"""["'](?:\.\./)+shared\b|["']shared/(?:realdata|docs)""")
    for path in python_files():
        assert not shared_path.search(path.read_text()), path.relative_to(ROOT)
