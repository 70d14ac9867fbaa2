"""The package's imports run one way (STYLE.md habit 13, CONTRIBUTING.md): a module imports only
from its own layer or the layers below it — also inside functions — and the parts of one layer
import each other without a circle.

    cli, docs, __main__, the package itself   (the entry points)
    api                                      (one function per command)
    engine, checks, repairs, triage, plan,   (what the commands do)
    render, spec
    sources, sinks                           (reading and writing files)
    kernels, arrays, categories, findings, errors, (the vocabulary every layer shares)
    units, interrupts, diskspace, markers,
    formats, _version, locations

A part is a top-level module or subpackage of ``dsdoctor``; every ``import`` statement in
``src/dsdoctor`` is read with :mod:`ast`, so an import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dsdoctor"

LAYERS: list[set[str]] = [
    {"cli", "docs", "__main__", "__init__"},
    {"api"},
    {"engine", "checks", "repairs", "triage", "plan", "render", "spec", "splitcheck"},
    {"sources", "sinks", "models"},
    {"kernels", "arrays", "findings", "errors", "units", "interrupts", "diskspace", "markers",
     "formats", "_version", "categories", "locations"},
]  # fmt: skip
LAYER = {part: depth for depth, parts in enumerate(LAYERS) for part in parts}


def part_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.suffix else rel.stem


def imported_parts(path: Path, root: Path = SRC) -> list[tuple[int, str]]:
    """(line, part) for every import of another part of dsdoctor in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(root)
    package = list(rel.parts[:-1])
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = [*base, *(node.module.split(".") if node.module else [])]
                if not target:  # ``from . import x`` at the top: x is the part
                    names = [a.name for a in node.names]
                else:
                    names = [target[0]]
            elif node.module and node.module.split(".")[0] == "dsdoctor":
                parts = node.module.split(".")[1:]
                names = [parts[0]] if parts else [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "dsdoctor" and len(parts) > 1:
                    names.append(parts[1])
        found += [(node.lineno, n) for n in names]
    return sorted(found)


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_every_part_has_a_layer():
    parts = {part_of(p) for p in modules()}
    assert parts - set(LAYER) == set(), "place the new part in LAYERS (and in CONTRIBUTING.md)"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_import_runs_up(path):
    here = part_of(path)
    up = [f"{path.relative_to(SRC)}:{line} imports {there} ({LAYER[there]} < {LAYER[here]})"
          for line, there in imported_parts(path)
          if there in LAYER and there != here and LAYER[there] < LAYER.get(here, 0)]  # fmt: skip
    assert not up, "\n".join(up)


def test_no_circle_between_parts():
    edges: dict[str, set[str]] = {}
    for path in modules():
        here = part_of(path)
        for _, there in imported_parts(path):
            if there in LAYER and there != here:
                edges.setdefault(here, set()).add(there)
    seen: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        seen[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if seen.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in seen and (circle := visit(nxt)):
                return circle
        stack.pop()
        seen[node] = 2
        return None

    for node in sorted(edges):
        if node not in seen and (circle := visit(node)):
            pytest.fail("a circle of imports: " + " -> ".join(circle))


def test_the_checker_sees_every_spelling_of_an_import(tmp_path):
    """The test itself: imports inside functions, relative at any depth, and absolute, are found."""
    fake = tmp_path / "dsdoctor"
    (fake / "sources" / "hdf5").mkdir(parents=True)
    bad = fake / "sources" / "hdf5" / "x.py"
    bad.write_text("def f():\n    from ...api import load\n    return load\n"
                   "import dsdoctor.cli.check\nfrom dsdoctor import render\nfrom . import y\n")  # fmt: skip
    assert imported_parts(bad, fake) == [(2, "api"), (4, "cli"), (5, "render"), (6, "sources")]
