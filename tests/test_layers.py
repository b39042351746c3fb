"""The package's folders are layers: each imports only the layers below it (the page never
imports the command line; the command line starts the page)."""

from __future__ import annotations

import ast
from pathlib import Path

import escalation

PACKAGE = Path(escalation.__file__).resolve().parent
#: Bottom to top; the root modules (errors, files, progress, seeds, tables) sit below them all.
LAYERS = (
    "scenario",
    "model",
    "observe",
    "record",
    "experiments",
    "calibration",
    "viz",
    "dashboard",
    "cli",
)
ROOT_MODULES = {"errors", "files", "progress", "seeds", "tables"}


def _rank(module: str) -> int | None:
    """The layer of ``escalation.<part>...``: -1 for a root module, None outside the package."""
    parts = module.split(".")
    if parts[0] != "escalation" or len(parts) < 2:
        return None
    if parts[1] in ROOT_MODULES:
        return -1
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_every_layer_imports_only_the_layers_below_it():
    wrong = []
    for layer in LAYERS:
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for module in _imports(path):
                rank = _rank(module)
                if rank is not None and rank > LAYERS.index(layer):
                    wrong.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_root_modules_import_no_layer():
    for name in ROOT_MODULES:
        imported = _imports(PACKAGE / f"{name}.py")
        assert not [m for m in imported if (_rank(m) or -1) >= 0], name
