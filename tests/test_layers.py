"""The folders show the layers, and imports only go down them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.runner import ROOT

PACKAGE = ROOT / "src" / "last9_change_event"
#: Each top-level name of the package, by floor: a module imports only from its own floor's
#: folder or from a lower floor. The two front-ends, like Last9's API and the CI context, stand
#: side by side and never import each other.
FLOORS: dict[str, int] = {
    "__init__": 0,
    "errors": 0,
    "attributes": 0,
    "redact": 0,
    "last9": 1,
    "ci": 1,
    "core": 2,
    "edge": 3,
    "cli": 4,
    "github": 4,
    "__main__": 5,
}


def _top(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def _imports(path: Path) -> list[str]:
    """Every module of the package that ``path`` imports, at its top or inside a function."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "last9_change_event":
                found += [f"last9_change_event.{alias.name}" for alias in node.names]
            elif node.module.startswith("last9_change_event."):
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("last9_change_event.")]
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_go_down(path: Path) -> None:
    """A module imports its own folder or a lower floor, never a higher one or a neighbour."""
    relative = path.relative_to(PACKAGE)
    own = relative.parts[0].removesuffix(".py")
    for module in _imports(path):
        other = _top(module)
        if other in ("__version__", own):
            continue
        assert FLOORS[other] < FLOORS[own], f"{relative} imports {module}"


def test_every_top_level_name_has_a_floor() -> None:
    """A new folder or leaf module is placed on a floor on purpose."""
    names = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if not p.name.startswith(".")}
    assert names - {"py.typed", "__pycache__"} == set(FLOORS)
