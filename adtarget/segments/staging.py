"""Staging a request's params as Parquet tables that its HiveQL reads as temporary views.

Spark cannot bind a list, and a value written into HiveQL text is read by Spark's variable
substitution (``${...}``) even inside a string literal; so a param never enters the SQL text.
Each table is written to ``<staging_uri>/<request>/<view>.parquet`` and exposed as a temporary
view of the Thrift server's (shared) session under a name unique to the request; both are
removed when the request is done.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

#: The only view names written into SQL: generated, never from a request.
_VIEW_NAME = re.compile(r"^p[0-9a-f]{16}(_[a-z0-9_]+)+$")


class Staging:
    """Writes params where Spark can read them; ``staging_uri`` as in :class:`SegmentSettings`."""

    def __init__(self, staging_uri: str) -> None:
        self._uri = staging_uri.rstrip("/")
        self._fs, self._base = fs.FileSystem.from_uri(self._uri)

    @contextmanager
    def staged(self, cursor: Any, tables: dict[str, pa.Table]) -> Iterator[None]:
        """Within the block, each table is a temporary view named by its key."""
        request = uuid.uuid4().hex
        folder = f"{self._base}/{request}"
        self._fs.create_dir(folder, recursive=True)
        created: list[str] = []
        try:
            for name, table in tables.items():
                if not _VIEW_NAME.match(name):
                    raise ValueError(f"staging: {name!r} is not a generated view name")
                pq.write_table(table, f"{folder}/{name}.parquet", filesystem=self._fs)
            for name in tables:
                path = f"{self._uri}/{request}/{name}.parquet"
                cursor.execute(f"CREATE TEMPORARY VIEW {name} USING parquet OPTIONS (path '{path}')")
                created.append(name)
            yield
        finally:
            for name in created:
                cursor.execute(f"DROP VIEW IF EXISTS {name}")
            self._fs.delete_dir(folder)
