"""Generated reference: ``docs/cli.md`` from every command's ``--help`` and ``docs/checks.md``
from the check registry. ``python -m dsdoctor.docs`` rewrites both; a test fails when either
is stale."""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
HELP_ENV = {"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}


def _help(args: list[str]) -> str:
    from typer.testing import CliRunner

    from .cli import app

    result = CliRunner().invoke(app, [*args, "--help"], env=HELP_ENV, prog_name="dsdoctor")
    return "\n".join(line.rstrip() for line in result.stdout.splitlines()).strip()


def commands() -> list[list[str]]:
    """Every command path, in the order of the app (``[]`` is the top level)."""
    from typer.main import get_command

    from .cli import app

    root = get_command(app)
    out: list[list[str]] = [[]]
    for name, cmd in getattr(root, "commands", {}).items():  # the root is a group
        out.append([name])
        for sub in getattr(cmd, "commands", {}) or {}:
            out.append([name, sub])
    return out


def cli_markdown() -> str:
    parts = ["# Command-line reference", "",
             "Generated from `--help` by `python -m dsdoctor.docs`; do not edit by hand.", ""]  # fmt: skip
    for path in commands():
        title = " ".join(["dsdoctor", *path])
        parts += [f"## `{title}`", "", "```text", _help(path), "```", ""]
    return "\n".join(parts)


def checks_markdown() -> str:
    from .checks import REGISTRY

    parts = ["# Findings", "", "Generated from the check registry by `python -m dsdoctor.docs`; do not edit by hand.",
             "`dsdoctor explain CODE` prints the same text.", "", "| code | name | severity | summary |", "|---|---|---|---|"]  # fmt: skip
    parts += [f"| {c.code} | `{c.name}` | {c.severity.value} | {c.summary()} |" for c in REGISTRY]
    for c in REGISTRY:
        parts += ["", f"## {c.code} `{c.name}`", "", f"Severity **{c.severity.value}**, family {c.family}, since {c.since}.",
                  "", c.summary()]  # fmt: skip
        for title, text in c.sections().items():
            body = f"```sh\n{text}\n```" if title == "Example" else text
            parts += ["", f"### {title}", "", body]
    return "\n".join(parts) + "\n"


def generated() -> dict[Path, str]:
    return {DOCS / "cli.md": cli_markdown(), DOCS / "checks.md": checks_markdown()}


def main() -> int:
    for path, text in generated().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
