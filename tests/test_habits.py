"""The project's habits, checked: README and the other top-level documents link only to files
that exist, and the repair tests run without the optional test oracles."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ["README.md", "SECURITY.md", "CHANGELOG.md", "CONTRIBUTING.md"]

#: A Markdown link or image: [text](target) — the target up to a space or the closing parenthesis.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)[^)]*\)")
#: A heading, for anchors: GitHub lowercases it, drops punctuation and turns spaces into hyphens.
HEADING = re.compile(r"^#{1,6}\s+(.*)$", re.MULTILINE)


def anchors(text: str) -> set[str]:
    out = set()
    for title in HEADING.findall(re.sub(r"```.*?```", "", text, flags=re.DOTALL)):
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        out.add(slug)
    return out


def documents() -> list[Path]:
    return [ROOT / d for d in DOCUMENTS] + sorted((ROOT / "docs").glob("*.md"))


def relative_links(doc: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def resolves(doc: Path, target: str) -> bool:
    path, _, anchor = target.partition("#")
    dest = (doc.parent / path).resolve() if path else doc
    if not dest.exists():
        return False
    return not anchor or dest.suffix != ".md" or anchor in anchors(dest.read_text("utf-8"))


@pytest.mark.parametrize("doc", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path):
    assert doc.is_file(), f"{doc.name} is missing"
    broken = [t for t in relative_links(doc) if not resolves(doc, t)]
    assert not broken, f"{doc.name} links to what does not exist: {broken}"


def test_the_link_checker_sees_a_broken_link(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("# Top\n[spec](SPEC.md) [ok](#top) [web](https://example.com) [bad](#nowhere)\n")
    assert relative_links(doc) == ["SPEC.md", "#top", "#nowhere"]
    assert [t for t in relative_links(doc) if not resolves(doc, t)] == ["SPEC.md", "#nowhere"]


def test_repair_tests_run_without_torch(tmp_path):
    """Only the torch oracle is skipped when torch is missing, not the whole file."""
    fake = tmp_path / "site" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('torch is not installed here')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake.parent), str(ROOT / "src")])}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only",
         "tests/test_repairs.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    collected = int(re.search(r"(\d+) tests? collected", out.stdout).group(1))
    assert collected >= 25 and "skipped" not in out.stdout, out.stdout[-2000:]
