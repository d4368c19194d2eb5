"""Reading HiveQL files: split a script into statements."""

from __future__ import annotations

from pathlib import Path

#: The project's HiveQL files.
SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


def statements(script: str) -> list[str]:
    """The statements of ``script``: ``--`` comment lines dropped, split on a ``;`` ending a line.

    Meant for the project's own DDL files, whose string literals hold no ``;`` at a line's end.
    """
    lines = [ln for ln in script.splitlines() if not ln.lstrip().startswith("--")]
    parts, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            parts.append("\n".join(current).rstrip().removesuffix(";").strip())
            current = []
    tail = "\n".join(current).strip()
    if tail:
        parts.append(tail)
    return [p for p in parts if p]


def load(relative: str) -> list[str]:
    """The statements of ``sql/<relative>``."""
    return statements((SQL_DIR / relative).read_text())
