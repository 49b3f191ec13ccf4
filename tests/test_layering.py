"""The layering the architecture promises: cli → web → digest → core → community, ingest,
search, library, insight → store → text, models. No module imports one above its layer (not even inside a
function), HTML pages and the JSON API live apart, and no two modules import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
LAYERS = [
    {"paperfeed.cli"},
    {"paperfeed.web"},
    {"paperfeed.digest"},
    {"paperfeed.core"},
    {"paperfeed.community", "paperfeed.ingest", "paperfeed.search", "paperfeed.library", "paperfeed.insight"},
    {"paperfeed.store"},
    {"paperfeed.text", "paperfeed.tex", "paperfeed.models", "paperfeed.errors", "paperfeed.config"},
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "paperfeed").rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        found[name] = path
    return found


def _imports(path: Path, known: set[str]) -> set[str]:
    """Modules of paperfeed this file imports anywhere but under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text())
    typing_only = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            typing_only |= {id(sub) for sub in ast.walk(node)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return {name for name in names if name in known}


def _layer(module: str) -> int | None:
    for number, packages in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in packages):
            return number
    return None


# Measures retrieval through the core's end-to-end search, so it sits above the core it scores.
EXEMPT = {"paperfeed.search.evaluation"}
MODULES = _modules()
GRAPH = {name: _imports(path, set(MODULES)) - {name} for name, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) is not None and m not in EXEMPT))
def test_no_module_imports_from_a_layer_above_it(module: str):
    above = sorted(t for t in GRAPH[module] if (_layer(t) is not None and _layer(t) < _layer(module)))
    assert not above, f"{module} imports {above}"


def test_the_json_api_does_not_use_the_html_pages():
    for module, targets in GRAPH.items():
        if module.startswith("paperfeed.web.api"):
            assert not [t for t in targets if t.startswith("paperfeed.web.ui")], module


def test_no_two_modules_import_each_other():
    cycles = []
    for module, targets in GRAPH.items():
        for target in targets:
            if module in _reachable(target) and not _package_and_member(module, target):
                cycles.append((module, target))
    assert not cycles, cycles


def _package_and_member(a: str, b: str) -> bool:
    """A package's __init__ and one of its own modules may import each other lazily."""
    return b.startswith(a + ".") or a.startswith(b + ".")


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in GRAPH.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen
