"""HiveQL: the project's files split into statements, and a cursor on Airflow's HiveServer2
connection for the tasks that query the warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


@contextmanager
def hive_cursor(conn_id: str) -> Iterator[Any]:
    """A cursor on the HiveServer2 connection ``conn_id`` (Airflow's ``HiveServer2Hook``), closed after.

    Bind values with ``cursor.execute(sql, params)``: the hook's own ``get_records(parameters=)``
    turns them into ``hive_conf`` SETs instead, and never binds them.
    """
    from airflow.providers.apache.hive.hooks.hive import HiveServer2Hook

    conn = HiveServer2Hook(hiveserver2_conn_id=conn_id).get_conn()
    try:
        yield conn.cursor()
    finally:
        conn.close()
