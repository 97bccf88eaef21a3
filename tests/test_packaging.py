"""What ``pip install twsbridge`` (no extras) must bring: every third-party package
that ``src/twsbridge`` imports is a declared dependency, and the layers import
downward only (protocol <- client <- service, protocol <- sim).

A package that only arrives as some other dependency's dependency breaks the
README's first command the day that dependency changes (mcp 2 swapped httpx
for httpx2, and the CLI's look-ups stopped importing).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "twsbridge"


def _imports(path: Path) -> set[str]:
    """Module names imported anywhere in ``path`` (also inside functions), relative
    imports made absolute."""
    package = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            names.add(".".join([*base, *([node.module] if node.module else [])]))
    return names


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_normal(re.split(r"[<>=!~;\[ ]", dep, maxsplit=1)[0])
            for dep in project["dependencies"]}


def test_every_third_party_import_is_a_declared_dependency() -> None:
    declared = _declared()
    dists = packages_distributions()
    missing: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for module in _imports(path):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top == "twsbridge" or top == "__future__":
                continue
            owners = {_normal(d) for d in dists.get(top, [])}
            assert owners, f"{path.relative_to(ROOT)} imports {top}: no installed package has it"
            if not owners & declared:
                missing.setdefault("/".join(sorted(owners)), []).append(
                    str(path.relative_to(ROOT)))
    assert not missing, f"imported but not in [project] dependencies: {missing}"


#: which packages of twsbridge each may import (besides itself)
ALLOWED = {
    "protocol": set(),
    "client": {"protocol"},
    "sim": {"protocol"},
    "service": {"protocol", "client", "sim"},
}


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layers_import_downward_only(layer: str) -> None:
    wrong = []
    for path in sorted((SRC / layer).rglob("*.py")):
        for module in _imports(path):
            parts = module.split(".")
            if parts[0] == "twsbridge" and len(parts) > 1 and parts[1] != layer:
                if parts[1] in ALLOWED and parts[1] not in ALLOWED[layer]:
                    wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not wrong, wrong
