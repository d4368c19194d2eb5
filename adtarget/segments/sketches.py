"""Daily theta sketches of the users per attribute value, and where they are kept.

``spark/build_sketches.py`` turns a day of logs into one compact theta sketch (Apache
DataSketches, built by Spark's own functions) per (kind, value): the users who searched a
keyword, clicked a banner, installed an app, live in a region... and stores them in the
warehouse and in Cassandra (``attribute_sketches``, ``attribute_values``), with the window sketches of
:mod:`adtarget.segments.windows` (``attribute_window_sketches``). :class:`SketchStore` reads them
back for the instant estimate (:mod:`adtarget.segments.estimate`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import datasketches

from adtarget.segments.windows import SPANS, Piece

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


#: Rows of one unlogged batch: one round trip and one coordinator mutation for many rows, far
#: cheaper per row than a statement each for the Python driver (measured ~1,000 statements/s
#: here under load). Batches stay well under Cassandra's 50 KiB batch_size_fail_threshold.
BATCH_ROWS = 100
BATCH_BYTES = 32 * 1024


def _batches(
    session: Any, statement: Any, rows: Iterable[tuple[Any, ...]], blob: int | None
) -> Iterator[Any]:
    """``rows`` bound to ``statement`` as unlogged batches, each holding rows of one replica set
    only (token-aware, as the driver routes single statements); a row whose blob (column
    ``blob``) alone reaches :data:`BATCH_BYTES` goes by itself."""
    from cassandra.query import BatchStatement, BatchType

    def batch(bound: list[Any]) -> Any:
        out = BatchStatement(batch_type=BatchType.UNLOGGED)
        for b in bound:
            out.add(b)
        return out

    metadata, keyspace = session.cluster.metadata, session.keyspace
    open_batches: dict[frozenset[Any], tuple[list[Any], int]] = {}
    for row in rows:
        bound = statement.bind(row)
        size = (
            64 + (len(row[blob]) if blob is not None else 0) + sum(len(v) for v in row if isinstance(v, str))
        )
        if size >= BATCH_BYTES:
            yield bound
            continue
        replicas = frozenset(h.host_id for h in metadata.get_replicas(keyspace, bound.routing_key))
        group, total = open_batches.get(replicas, ([], 0))
        if len(group) >= BATCH_ROWS or total + size > BATCH_BYTES:
            yield batch(group)
            group, total = [], 0
        group.append(bound)
        open_batches[replicas] = (group, total + size)
    for group, _ in open_batches.values():
        if group:
            yield batch(group)


def _chunks(rows: Iterable[tuple[Any, ...]], size: int = 20_000) -> Iterator[list[tuple[Any, ...]]]:
    it = iter(rows)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _write(
    session: Any, statement: Any, rows: Iterable[tuple[Any, ...]], blob: int | None, concurrency: int
) -> None:
    from cassandra.concurrent import execute_concurrent

    batches = ((b, None) for b in _batches(session, statement, rows, blob))
    execute_concurrent(session, batches, concurrency=concurrency, raise_on_first_error=True)


def _column(row: Any, name: str) -> Any:
    """A column of a row, whether the session returns named tuples or dicts."""
    return row[name] if isinstance(row, dict) else getattr(row, name)


class SketchStore:
    """The sketches in Cassandra, over a connected session of the profile keyspace."""

    def __init__(self, session: Any, *, windows: bool = True) -> None:
        """``windows=False`` hides the window sketches: estimates read daily sketches only (the
        way to compare both, or to rule the windows out when in doubt)."""
        self._session = session
        self._use_windows = windows
        # Many values per query: one round trip instead of one per value (a 100-keyword estimate
        # fetched its sketches in 60 ms instead of 112 ms here); the node reads the partitions.
        self._select = session.prepare(
            "SELECT value, sketch FROM attribute_sketches WHERE kind = ? AND value IN ? AND dt IN ?"
        )
        self._select_range = session.prepare(
            "SELECT value, sketch FROM attribute_sketches"
            " WHERE kind = ? AND value IN ? AND dt >= ? AND dt <= ?"
        )
        self._select_windows = session.prepare(
            "SELECT value, dt, sketch FROM attribute_window_sketches"
            " WHERE kind = ? AND value IN ? AND span = ? AND dt IN ?"
        )
        self._windows = session.prepare(
            "SELECT span, dt FROM attribute_window_sketches"
            " WHERE kind = 'user' AND value = 'all' AND span IN ? AND dt >= ? AND dt <= ?"
        )
        self._insert_window = session.prepare(
            "INSERT INTO attribute_window_sketches (kind, value, span, dt, sketch) VALUES (?, ?, ?, ?, ?)"
        )
        self._forget_window = session.prepare(
            "DELETE FROM attribute_window_sketches"
            " WHERE kind = 'user' AND value = 'all' AND span = ? AND dt = ?"
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
        self, keys: Sequence[tuple[str, str]], pieces: Sequence[Piece]
    ) -> dict[tuple[str, str], list[bytes]]:
        """The sketches of each (kind, value) in ``pieces`` (daily and window sketches), read
        concurrently in groups of :data:`VALUES_PER_QUERY` values of one kind per span. A value
        without a row in a window piece (fewer users than its window keeps) is read from the
        dailies of that piece's days instead, in a second round."""
        by_kind: dict[str, list[str]] = {}
        for kind, value in dict.fromkeys(keys):
            by_kind.setdefault(kind, []).append(value)
        by_span: dict[int, list[dt.date]] = {}
        for piece in pieces:
            by_span.setdefault(piece.span, []).append(piece.end)
        found: dict[tuple[str, str], list[bytes]] = {key: [] for key in keys}
        dailies, windows = [], []
        for kind, values in by_kind.items():
            for i in range(0, len(values), VALUES_PER_QUERY):
                group = values[i : i + VALUES_PER_QUERY]
                for span, ends in by_span.items():
                    if span == 1:
                        dailies.append((kind, self._session.execute_async(self._select, (kind, group, ends))))
                    else:
                        args = (kind, group, span, ends)
                        windows.append((kind, span, self._session.execute_async(self._select_windows, args)))
        for kind, future in dailies:
            for row in future.result():
                found[(kind, _column(row, "value"))].append(_column(row, "sketch"))
        seen: dict[int, set[tuple[str, str, dt.date]]] = {span: set() for span in by_span}
        for kind, span, future in windows:
            for row in future.result():
                value, end = _column(row, "value"), dt.date.fromisoformat(str(_column(row, "dt")))
                found[(kind, value)].append(_column(row, "sketch"))
                seen[span].add((kind, value, end))
        second = []
        for piece in (p for p in pieces if p.span > 1):
            for kind, values in by_kind.items():
                missing = [v for v in values if (kind, v, piece.end) not in seen[piece.span]]
                for i in range(0, len(missing), VALUES_PER_QUERY):
                    group = missing[i : i + VALUES_PER_QUERY]
                    bounds = (kind, group, piece.start, piece.end)
                    query = self._session.execute_async(self._select_range, bounds)
                    second.append((kind, query))
        for kind, future in second:
            for row in future.result():
                found[(kind, _column(row, "value"))].append(_column(row, "sketch"))
        return found

    def built(self, first: dt.date, last: dt.date) -> tuple[list[dt.date], set[Piece]]:
        """The days of ``first..last`` whose daily sketches were built, and the complete window
        sketches ending on them (their marker row is there), read concurrently."""
        days = self._session.execute_async(self._days, (first, last))
        windows = (
            self._session.execute_async(self._windows, (list(SPANS), first, last)).result()
            if self._use_windows
            else []
        )
        kept = {Piece(_column(r, "span"), dt.date.fromisoformat(str(_column(r, "dt")))) for r in windows}
        built = sorted(dt.date.fromisoformat(str(_column(r, "dt"))) for r in days.result())
        return built, kept

    def values(self, kind: str, days: Sequence[dt.date]) -> set[str]:
        """The values of ``kind`` that have a sketch on any of ``days``."""
        futures = [self._session.execute_async(self._values, (kind, day)) for day in days]
        return {_column(row, "value") for future in futures for row in future.result()}

    def newest_day(self) -> dt.date | None:
        """The newest day with sketches (of the user snapshot), if any."""
        row = self._session.execute(self._newest).one()
        if row is None:
            return None
        day = _column(row, "dt")
        return dt.date.fromisoformat(str(day))

    def write(
        self, day: dt.date, rows: Iterable[tuple[str, str, int, bytes]], *, concurrency: int = 16
    ) -> int:
        """Upsert a day's sketches (a re-run of the day writes the same rows); returns their count."""
        written = 0
        for chunk in _chunks(rows):
            _write(self._session, self._insert, [(k, v, day, u, s) for k, v, u, s in chunk], 4, concurrency)
            _write(
                self._session, self._insert_value, [(k, day, v) for k, v, _, _ in chunk], None, concurrency
            )
            written += len(chunk)
        return written

    def forget_windows(self, pieces: Iterable[Piece]) -> None:
        """Mark window sketches as not current (before they are rebuilt), so estimates fall
        back to other pieces in the meantime."""
        from cassandra.concurrent import execute_concurrent_with_args

        args = [(p.span, p.end) for p in pieces]
        execute_concurrent_with_args(self._session, self._forget_window, args, raise_on_first_error=True)

    def write_windows(
        self, end: dt.date, rows: Iterable[tuple[str, str, int, bytes]], *, concurrency: int = 16
    ) -> int:
        """Upsert the window sketches ``(kind, value, span, sketch)`` ending on ``end``; each
        span's marker row ``('user', 'all')`` is written after all its other rows."""
        written = 0
        markers: list[tuple[Any, ...]] = []
        for chunk in _chunks(rows):
            windows: list[tuple[Any, ...]] = []
            for kind, value, span, sketch in chunk:
                row = (kind, value, span, end, sketch)
                (markers if (kind, value) == ("user", "all") else windows).append(row)
            _write(self._session, self._insert_window, windows, 4, concurrency)
            written += len(chunk)
        _write(self._session, self._insert_window, markers, 4, concurrency)
        return written
