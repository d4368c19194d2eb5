"""Daily theta sketches of the users per attribute value, and where they are kept.

``spark/build_sketches.py`` turns a day of logs into one compact theta sketch (Apache
DataSketches) per (kind, value): the users who searched a keyword, clicked a banner, installed
an app, live in a region... and stores them in the warehouse and in Cassandra
(``attribute_sketches``, ``attribute_values``). :class:`SketchStore` reads them back for the
instant estimate (:mod:`adtarget.segments.estimate`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import datasketches

#: log2 of the sketches' nominal entries: 4,096 entries, a relative standard error of ~1.6 %.
LG_K = 12

#: Values of one kind asked for in one query: the node reads their partitions in parallel, and
#: several such queries run at once (measured: groups of 10 to 20 beat one IN of 100).
VALUES_PER_QUERY = 20

#: Every kind of attribute value a sketch is built for (see sql/sketches/attribute_members.sql).
KINDS = (
    "keyword",
    "banner_click",
    "campaign_click",
    "campaign_impression",
    "creative_impression",
    "app",
    "app_category",
    "domain",
    "domain_path",
    "conversion",
    "converter",
    "active",
    "user",
    "age_band",
    "gender",
    "region",
    "device",
    "os",
)


def load(blob: bytes) -> Any:
    """A stored sketch, ready for unions, intersections and differences."""
    return datasketches.compact_theta_sketch.deserialize(blob)


def group_rows(rows: Iterable[tuple[str, str, str]]) -> Iterator[tuple[str, str, int, bytes]]:
    """``(kind, value, users, sketch)`` for rows ``(kind, value, adid)`` sorted by all three
    (so a user's repeats are adjacent and the exact user count needs no set)."""
    current: tuple[str, str] | None = None
    sketch = datasketches.update_theta_sketch(LG_K)
    users, last = 0, None
    for kind, value, adid in rows:
        if (kind, value) != current:
            if current is not None:
                yield (*current, users, sketch.compact().serialize())
            current, sketch, users, last = (kind, value), datasketches.update_theta_sketch(LG_K), 0, None
        if adid != last:
            sketch.update(adid)
            users, last = users + 1, adid
    if current is not None:
        yield (*current, users, sketch.compact().serialize())


def _column(row: Any, name: str) -> Any:
    """A column of a row, whether the session returns named tuples or dicts."""
    return row[name] if isinstance(row, dict) else getattr(row, name)


class SketchStore:
    """The sketches in Cassandra, over a connected session of the profile keyspace."""

    def __init__(self, session: Any) -> None:
        self._session = session
        # Many values per query: one round trip instead of one per value (a 100-keyword estimate
        # fetched its sketches in 60 ms instead of 112 ms here); the node reads the partitions.
        self._select = session.prepare(
            "SELECT value, dt, sketch FROM attribute_sketches"
            " WHERE kind = ? AND value IN ? AND dt >= ? AND dt <= ?"
        )
        self._values = session.prepare("SELECT value FROM attribute_values WHERE kind = ? AND dt = ?")
        self._days = session.prepare(
            "SELECT dt FROM attribute_sketches WHERE kind = 'user' AND value = 'all' AND dt >= ? AND dt <= ?"
        )
        self._newest = session.prepare(
            "SELECT dt FROM attribute_sketches WHERE kind = 'user' AND value = 'all' LIMIT 1"
        )
        self._insert = session.prepare(
            "INSERT INTO attribute_sketches (kind, value, dt, users, sketch) VALUES (?, ?, ?, ?, ?)"
        )
        self._insert_value = session.prepare(
            "INSERT INTO attribute_values (kind, dt, value) VALUES (?, ?, ?)"
        )

    def fetch(
        self, keys: Sequence[tuple[str, str]], first: dt.date, last: dt.date
    ) -> dict[tuple[str, str], list[bytes]]:
        """The sketches of each (kind, value) on the days ``first..last`` (newest first), read
        concurrently in groups of :data:`VALUES_PER_QUERY` values of one kind."""
        by_kind: dict[str, list[str]] = {}
        for kind, value in dict.fromkeys(keys):
            by_kind.setdefault(kind, []).append(value)
        futures = [
            (
                kind,
                self._session.execute_async(
                    self._select, (kind, values[i : i + VALUES_PER_QUERY], first, last)
                ),
            )
            for kind, values in by_kind.items()
            for i in range(0, len(values), VALUES_PER_QUERY)
        ]
        # A partition's rows come in clustering order (newest day first), partitions one after another.
        found: dict[tuple[str, str], list[bytes]] = {key: [] for key in keys}
        for kind, future in futures:
            for row in future.result():
                found[(kind, _column(row, "value"))].append(_column(row, "sketch"))
        return found

    def values(self, kind: str, days: Sequence[dt.date]) -> set[str]:
        """The values of ``kind`` that have a sketch on any of ``days``."""
        futures = [self._session.execute_async(self._values, (kind, day)) for day in days]
        return {_column(row, "value") for future in futures for row in future.result()}

    def days(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """The days of ``first..last`` whose sketches were built (their user snapshot is there)."""
        rows = self._session.execute(self._days, (first, last))
        return sorted(dt.date.fromisoformat(str(_column(r, "dt"))) for r in rows)

    def newest_day(self) -> dt.date | None:
        """The newest day with sketches (of the user snapshot), if any."""
        row = self._session.execute(self._newest).one()
        if row is None:
            return None
        day = _column(row, "dt")
        return dt.date.fromisoformat(str(day))

    def write(
        self, day: dt.date, rows: Iterable[tuple[str, str, int, bytes]], *, concurrency: int = 64
    ) -> int:
        """Upsert a day's sketches (a re-run of the day writes the same rows); returns their count."""
        from cassandra.concurrent import execute_concurrent_with_args

        written = 0
        batch: list[tuple[Any, ...]] = []
        values: list[tuple[Any, ...]] = []

        def flush() -> None:
            execute_concurrent_with_args(self._session, self._insert, batch, concurrency=concurrency)
            execute_concurrent_with_args(self._session, self._insert_value, values, concurrency=concurrency)
            batch.clear()
            values.clear()

        for kind, value, users, sketch in rows:
            batch.append((kind, value, day, users, sketch))
            values.append((kind, day, value))
            written += 1
            if len(batch) >= 5_000:
                flush()
        flush()
        return written
