"""Daily theta sketches of the users per attribute value, and where they are kept.

``spark/build_sketches.py`` turns a day of logs into one compact theta sketch (Apache
DataSketches, built by Spark's own functions) per (kind, value): the users who searched a
keyword, clicked a banner, installed an app, live in a region... and stores them in the
warehouse and in Cassandra (``attribute_sketches``, ``attribute_values``), with the window sketches of
:mod:`adtarget.segments.windows` (``attribute_window_buckets``). :class:`SketchStore` reads them
back for the instant estimate (:mod:`adtarget.segments.estimate`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import datasketches

from adtarget.segments.sketch_cache import SketchCache
from adtarget.segments.windows import SPANS, Piece, bucket

#: log2 of the sketches' nominal entries: 4,096 entries, a relative standard error of ~1.6 %.
LG_K = 12

#: Values of one kind asked for in one query: the node reads their partitions in parallel, and
#: several such queries run at once (measured: groups of 10 to 20 beat one IN of 100).
VALUES_PER_QUERY = 20

#: The partition of attribute_sketch_markers (bound, not written into the statements, so that
#: the driver routes them to its replicas).
SCOPE = "all"

#: Values asked for in one query of a window bucket (one partition): a slice each, cheap.
WINDOW_VALUES_PER_QUERY = 100

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


T = TypeVar("T")


#: A sketch read for (request, kind, value, piece).
_Read = dict[tuple[int, str, str, Piece], list[bytes]]


def _collect(read: _Read, queries: Sequence[tuple[int, str, Piece | None, Any]]) -> None:
    """Add the sketches that each ``(request, kind, piece, future)`` of ``queries`` returns to
    ``read``, under the row's value and ``piece`` (None: the daily piece of the row's day)."""
    for n, kind, piece, future in queries:
        for row in future.result():
            of = piece or Piece(1, dt.date.fromisoformat(str(_column(row, "dt"))))
            read.setdefault((n, kind, _column(row, "value"), of), []).append(_column(row, "sketch"))


def _chunks(items: Iterable[T], size: int = 20_000) -> Iterator[list[T]]:
    it = iter(items)
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


def split_markers(markers: Mapping[Piece, Any]) -> tuple[list[dt.date], set[Piece]]:
    """The days whose daily sketches are complete, and the complete window pieces, of
    ``markers`` (:meth:`SketchStore.markers`)."""
    return sorted(p.end for p in markers if p.span == 1), {p for p in markers if p.span > 1}


class SketchStore:
    """The sketches in Cassandra, over a connected session of the profile keyspace."""

    def __init__(self, session: Any, *, windows: bool = True, cache: SketchCache | None = None) -> None:
        """``windows=False`` hides the window sketches: estimates read daily sketches only (the
        way to compare both, or to rule the windows out when in doubt). ``cache`` keeps what is
        read for the next calls (a long-lived process's choice: see
        :mod:`~adtarget.segments.sketch_cache`)."""
        self._session = session
        self._use_windows = windows
        self._cache = cache
        # Many values per query: one round trip instead of one per value (a 100-keyword estimate
        # fetched its sketches in 60 ms instead of 112 ms here); the node reads the partitions.
        self._select = session.prepare(
            "SELECT value, dt, sketch FROM attribute_sketches WHERE kind = ? AND value IN ? AND dt IN ?"
        )
        self._select_range = session.prepare(
            "SELECT value, sketch FROM attribute_sketches"
            " WHERE kind = ? AND value IN ? AND dt >= ? AND dt <= ?"
        )
        self._select_windows = session.prepare(
            "SELECT value, sketch FROM attribute_window_buckets"
            " WHERE kind = ? AND span = ? AND dt = ? AND bucket = ? AND value IN ?"
        )
        # What is complete: span 1 for a day's daily sketches, span N for a window (one small
        # partition, so one cheap read answers both).
        self._built = session.prepare(
            "SELECT span, dt, built_at FROM attribute_sketch_markers"
            " WHERE scope = ? AND span IN ? AND dt >= ? AND dt <= ?"
        )
        self._newest = session.prepare(
            "SELECT dt FROM attribute_sketch_markers WHERE scope = ? AND span = 1 LIMIT 1"
        )
        self._insert_window = session.prepare(
            "INSERT INTO attribute_window_buckets (kind, span, dt, bucket, value, sketch)"
            " VALUES (?, ?, ?, ?, ?, ?)"
        )
        self._mark = session.prepare(
            "INSERT INTO attribute_sketch_markers (scope, span, dt, built_at)"
            " VALUES (?, ?, ?, toTimestamp(now()))"
        )
        self._forget = session.prepare(
            "DELETE FROM attribute_sketch_markers WHERE scope = ? AND span = ? AND dt = ?"
        )
        self._values = session.prepare("SELECT value FROM attribute_values WHERE kind = ? AND dt = ?")
        self._insert = session.prepare(
            "INSERT INTO attribute_sketches (kind, value, dt, users, sketch) VALUES (?, ?, ?, ?, ?)"
        )
        self._insert_value = session.prepare(
            "INSERT INTO attribute_values (kind, dt, value) VALUES (?, ?, ?)"
        )

    def fetch(
        self, keys: Sequence[tuple[str, str]], pieces: Sequence[Piece]
    ) -> dict[tuple[str, str], list[bytes]]:
        """The sketches of each (kind, value) in ``pieces`` (daily and window sketches)."""
        return self.fetch_all([(keys, pieces)])[0]

    def fetch_all(
        self,
        requests: Sequence[tuple[Sequence[tuple[str, str]], Sequence[Piece]]],
        versions: Mapping[Piece, Any] | None = None,
    ) -> list[dict[tuple[str, str], list[bytes]]]:
        """For each request ``(keys, pieces)``, the sketches of each (kind, value) in its pieces.

        All requests' queries run at once: daily sketches in groups of
        :data:`VALUES_PER_QUERY` values of one kind, window sketches one query per bucket
        partition (:func:`~adtarget.segments.windows.bucket`) and piece. A value without a row
        in a window piece (fewer users than its window keeps) is read from the dailies of that
        piece's days instead, in a second round, again all at once.

        ``versions`` (each piece's marker time, from :meth:`markers`) lets the store's
        :class:`~adtarget.segments.sketch_cache.SketchCache` answer what it holds for those
        versions and keep what is read; without them, or without a cache, everything is read.
        """
        session, cache = self._session, self._cache
        found: list[dict[tuple[str, str], list[bytes]]] = [{key: [] for key in keys} for keys, _ in requests]
        # (request, kind, value, piece, cache key) still to read, and what reading them returned.
        needed: list[tuple[int, str, str, Piece, tuple[str, str, Piece, Any] | None]] = []
        read: _Read = {}
        dailies: list[tuple[int, str, Piece | None, Any]] = []
        windows: list[tuple[int, str, Piece, Any]] = []
        for n, (keys, pieces) in enumerate(requests):
            by_kind: dict[str, dict[str, list[Piece]]] = {}
            for kind, value in dict.fromkeys(keys):
                for piece in pieces:
                    key = self._cache_key(kind, value, piece, versions)
                    cached = cache.get(key) if cache is not None and key is not None else None
                    if cached is not None:
                        found[n][(kind, value)].extend(cached)
                    else:
                        needed.append((n, kind, value, piece, key))
                        by_kind.setdefault(kind, {}).setdefault(value, []).append(piece)
            for kind, values in by_kind.items():
                by_days: dict[tuple[dt.date, ...], list[str]] = {}
                by_piece: dict[Piece, dict[int, list[str]]] = {}
                for value, wanted in values.items():
                    days = tuple(p.end for p in wanted if p.span == 1)
                    if days:
                        by_days.setdefault(days, []).append(value)
                    for piece in (p for p in wanted if p.span > 1):
                        by_piece.setdefault(piece, {}).setdefault(bucket(value), []).append(value)
                for days, members in by_days.items():
                    for group in _chunks(members, VALUES_PER_QUERY):
                        query = session.execute_async(self._select, (kind, group, list(days)))
                        dailies.append((n, kind, None, query))
                for piece, buckets in by_piece.items():
                    for number, members in buckets.items():
                        for group in _chunks(members, WINDOW_VALUES_PER_QUERY):
                            args = (kind, piece.span, piece.end, number, group)
                            query = session.execute_async(self._select_windows, args)
                            windows.append((n, kind, piece, query))
        _collect(read, dailies)
        _collect(read, windows)
        unseen: dict[tuple[int, str, Piece], list[str]] = {}
        for n, kind, value, piece, _ in needed:
            if piece.span > 1 and (n, kind, value, piece) not in read:
                unseen.setdefault((n, kind, piece), []).append(value)
        second = []
        for (n, kind, piece), missing in unseen.items():
            for group in _chunks(missing, VALUES_PER_QUERY):
                bounds = (kind, group, piece.start, piece.end)
                second.append((n, kind, piece, session.execute_async(self._select_range, bounds)))
        _collect(read, second)
        for n, kind, value, piece, key in needed:
            blobs = read.get((n, kind, value, piece), [])
            found[n][(kind, value)].extend(blobs)
            if cache is not None and key is not None:
                cache.put(key, blobs)
        return found

    def _cache_key(
        self, kind: str, value: str, piece: Piece, versions: Mapping[Piece, Any] | None
    ) -> tuple[str, str, Piece, Any] | None:
        """The cache's key of a value's sketches in ``piece``; None when they may not be cached
        (no cache, or no marker time to tell this build of the piece from another)."""
        version = versions.get(piece) if versions is not None and self._cache is not None else None
        return None if version is None else (kind, value, piece, version)

    def markers(self, first: dt.date, last: dt.date) -> dict[Piece, Any]:
        """The complete pieces ending in ``first..last`` (daily sketches: span 1; windows, if
        this store uses them), each with its marker time (None if marked before times were
        kept), in one read."""
        spans = [1, *SPANS] if self._use_windows else [1]
        rows = self._session.execute(self._built, (SCOPE, spans, first, last))
        return {
            Piece(_column(row, "span"), dt.date.fromisoformat(str(_column(row, "dt")))): (
                _column(row, "built_at")
            )
            for row in rows
        }

    def built(self, first: dt.date, last: dt.date) -> tuple[list[dt.date], set[Piece]]:
        """The days of ``first..last`` whose daily sketches are complete, and the complete window
        sketches ending on them (their markers), in one read."""
        return split_markers(self.markers(first, last))

    def values(self, kind: str, days: Sequence[dt.date]) -> set[str]:
        """The values of ``kind`` that have a sketch on any of ``days``."""
        futures = [self._session.execute_async(self._values, (kind, day)) for day in days]
        return {_column(row, "value") for future in futures for row in future.result()}

    def newest_day(self) -> dt.date | None:
        """The newest day whose daily sketches are complete, if any."""
        row = self._session.execute(self._newest, (SCOPE,)).one()
        if row is None:
            return None
        day = _column(row, "dt")
        return dt.date.fromisoformat(str(day))

    def write(
        self, day: dt.date, rows: Iterable[tuple[str, str, int, bytes]], *, concurrency: int = 16
    ) -> int:
        """Upsert a day's sketches (a re-run of the day writes the same rows), then mark the day
        complete; returns their count."""
        written = 0
        for chunk in _chunks(rows):
            _write(self._session, self._insert, [(k, v, day, u, s) for k, v, u, s in chunk], 4, concurrency)
            _write(
                self._session, self._insert_value, [(k, day, v) for k, v, _, _ in chunk], None, concurrency
            )
            written += len(chunk)
        self._session.execute(self._mark, (SCOPE, 1, day))
        return written

    def forget(self, pieces: Iterable[Piece]) -> None:
        """Mark pieces (windows, or a day's dailies: span 1) as not complete, e.g. before they
        are rebuilt, so that estimates meanwhile use other pieces (or refuse the day)."""
        from cassandra.concurrent import execute_concurrent_with_args

        args = [(SCOPE, p.span, p.end) for p in pieces]
        execute_concurrent_with_args(self._session, self._forget, args, raise_on_first_error=True)

    def write_windows(
        self, end: dt.date, rows: Iterable[tuple[str, str, int, bytes]], *, concurrency: int = 16
    ) -> int:
        """Upsert the window sketches ``(kind, value, span, sketch)`` ending on ``end``, then mark
        each span whose ``('user', 'all')`` row was among them as complete; returns the row count."""
        written = 0
        spans: set[int] = set()
        for chunk in _chunks(rows):
            windows = [(kind, span, end, bucket(value), value, sketch) for kind, value, span, sketch in chunk]
            spans.update(span for kind, value, span, _ in chunk if (kind, value) == ("user", "all"))
            _write(self._session, self._insert_window, windows, 5, concurrency)
            written += len(chunk)
        _write(self._session, self._mark, [(SCOPE, span, end) for span in sorted(spans)], None, concurrency)
        return written
