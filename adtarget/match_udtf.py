"""The segment matcher as Spark SQL table functions, and as Spark's Arrow batch path.

A thin adapter over :mod:`adtarget.matcher`: the rules travel with the function (pickled by
Spark), and each Python worker builds the automaton once, on its first batch or row, and keeps
it for every later one and every task of the same rules. Two SQL forms, both registered by
:func:`register`:

    register(spark, rules)
    -- in Arrow batches, 3.6-5.5x faster (ad-hoc queries over a day's log):
    SELECT key AS adid, segment_id FROM match_segments_table(TABLE(
      SELECT adid, query FROM adtarget.search_log WHERE dt = '2026-11-27'))
    -- line by line, beside the line's other columns:
    SELECT l.adid, l.ts, m.segment_id
    FROM (SELECT adid, ts, query FROM adtarget.search_log WHERE dt = '2026-11-27') l,
         LATERAL match_segments(l.query) m

Filter the day in a subquery, as above: Spark does not push an outer WHERE below a LATERAL
table function, so the UDTF would otherwise read every day of the log. The daily extraction
takes the same batches through ``mapInArrow`` (:func:`batch_matcher`); the benchmark finds the
two batch forms within 20 % of each other, either way round (runs of 2026-12-02).
"""

from __future__ import annotations

import hashlib
import itertools
import pickle
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from adtarget.matcher import SegmentMatcher, SegmentRule

if TYPE_CHECKING:
    import pyarrow as pa

#: The SQL name of the line-by-line UDTF (``LATERAL match_segments(text)``).
NAME = "match_segments"
#: The SQL name of the Arrow UDTF over a TABLE argument of two columns, (key, text).
TABLE_NAME = "match_segments_table"

#: Spark's setting for the rows of each Arrow batch sent to :func:`batch_matcher`, and the value
#: the daily extraction gives it (Spark's default is 10,000). A larger batch holds more repeats
#: of each head query, so fewer distinct lines cross into Python to be looked up: on the
#: benchmark (1 M lines, local[2], 2026-12-02) 50,000 took 11-17 % less time than 10,000 at
#: both 100 and 10,000 segments; 200,000 gained nothing more at 10,000 segments.
ARROW_BATCH_CONF = "spark.sql.execution.arrow.maxRecordsPerBatch"
ARROW_BATCH_ROWS = 50_000

# Per Python worker process: rules fingerprint -> matcher. Workers are reused across tasks,
# so a day's extraction builds the automaton once per worker, not once per task or row.
_MATCHERS: dict[str, SegmentMatcher] = {}
#: Rule sets a worker keeps matchers for (the oldest goes first). One job can match several
#: sets (the extraction's passes, a backfill's days), and a long-lived session (the Thrift
#: server's) a new one each time segments change: a matcher of 10,000 segments holds tens of
#: megabytes, which a worker need not keep once its job has moved on.
KEEP = 2


def fingerprint(rules: Sequence[SegmentRule]) -> str:
    """A stable digest of the rules (computed once, on the driver)."""
    return hashlib.sha256(repr(tuple(rules)).encode()).hexdigest()


def _kept(cache: dict[str, Any], key: str, make: Callable[[], Any]) -> Any:
    """``cache[key]``, made first if absent, then the oldest entries dropped beyond :data:`KEEP`."""
    found = cache.get(key)
    if found is None:
        found = cache[key] = make()
        while len(cache) > KEEP:
            del cache[next(iter(cache))]
    return found


def _packed(rules: tuple[SegmentRule, ...]) -> bytes:
    """The rules as Spark ships them to the workers: pickled once, on the driver.

    Spark unpickles a function and what it holds for every task, and a day's extraction has a
    task per block of logs. A tuple of 10,000 rules took 0.06 s to unpickle; bytes cost nothing,
    and a worker unpickles the rules only when it builds their matcher (once).
    """
    return pickle.dumps(rules, protocol=pickle.HIGHEST_PROTOCOL)


def _matcher(key: str, packed: bytes) -> SegmentMatcher:
    def build() -> SegmentMatcher:
        rules = pickle.loads(packed)  # noqa: S301 - our own rules, pickled by our driver
        return SegmentMatcher(rules)

    matcher: SegmentMatcher = _kept(_MATCHERS, key, build)
    return matcher


def _bind(rules: Sequence[SegmentRule]) -> tuple[str, bytes]:
    """``(fingerprint, packed rules)`` for a worker's :func:`_matcher`, once the rules are known
    to compile: a bad rule fails here, on the driver, with the segment named, not in a worker."""
    frozen = tuple(rules)
    SegmentMatcher(frozen)
    return fingerprint(frozen), _packed(frozen)


def _udtf_class(bound: tuple[str, bytes]) -> type:
    """A UDTF class bound to the rules of ``bound``: one output row ``(segment_id)`` per
    matching segment."""
    key, packed = bound

    class MatchSegments:
        def __init__(self) -> None:
            self._match = _matcher(key, packed).match

        def eval(self, text: str | None) -> Iterator[tuple[int]]:
            if text is None:
                return
            for segment_id in self._match(text):
                yield (segment_id,)

    return MatchSegments


def table_udtf_class(rules: Sequence[SegmentRule]) -> type:
    """An Arrow UDTF class bound to ``rules``, for :func:`pyspark.sql.functions.arrow_udtf`:
    called with a TABLE argument of two columns, a key (any type) and a line (a string), it
    gives one row ``(key, segment_id)`` per row and matching segment, the key as a string.

    The batch path of :func:`batch_matcher`, callable from SQL: Spark hands ``eval`` the
    table's rows as Arrow batches.
    """
    return _table_udtf_class(_bind(rules))


def _table_udtf_class(bound: tuple[str, bytes]) -> type:
    digest, packed = bound

    class MatchSegmentsTable:
        def eval(self, rows: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
            import pyarrow as pa

            types = rows.schema.types
            if len(types) != 2 or not (pa.types.is_string(types[1]) or pa.types.is_large_string(types[1])):
                given = ", ".join(f"{f.name} {f.type}" for f in rows.schema)
                raise ValueError(
                    f"{TABLE_NAME}: its TABLE argument must have two columns, a key and the string "
                    f"to match (a search log's adid and query, say); it has ({given})"
                )
            keys, segments = _matched(_plan(digest, packed), rows.column(0), rows.column(1))
            yield pa.RecordBatch.from_arrays([keys.cast(pa.string()), segments], ["key", "segment_id"])

    return MatchSegmentsTable


def batch_matcher(
    rules: Sequence[SegmentRule], key: str, text: str
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The Arrow batch path: a ``mapInArrow`` function from rows ``(key, text)`` to one row
    ``(key, segment_id)`` per matching segment, in the rows' order and, within a row, in
    ascending segment id.

        logs.select("adid", "query").mapInArrow(batch_matcher(rules, "adid", "query"),
                                                "adid string, segment_id bigint")

    Lines cross from the JVM in Arrow batches instead of one pickled row at a time. Each batch's
    distinct lines are scanned for patterns once, all together, one automaton pass per mode
    (search logs repeat their head queries: a batch of 10,000 rows holds ~6,000 distinct ones);
    patterns become segments, and lines' segments become rows, by array operations, with no
    Python step per segment or per row.
    """
    digest, packed = _bind(rules)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        plan = _plan(digest, packed)
        for batch in batches:
            keys, segments = _matched(plan, batch.column(key), batch.column(text))
            yield pa.RecordBatch.from_arrays([keys, segments], [key, "segment_id"])

    return run


class _Plan:
    """A matcher and its patterns' segments as arrays, for :func:`_expand` (one per worker)."""

    def __init__(self, matcher: SegmentMatcher) -> None:
        import numpy as np

        self.matcher = matcher
        per_pattern = matcher.pattern_segments
        # Segments are numbered by rank of their id, so that sorting numbers sorts ids.
        self.ids = np.array(sorted({r.segment_id for r in matcher.rules}), np.int64)
        sizes = np.fromiter(map(len, per_pattern), np.int64, len(per_pattern))
        flat = np.fromiter(itertools.chain.from_iterable(per_pattern), np.int64, int(sizes.sum()))
        self.sizes = sizes
        self.starts = np.cumsum(sizes) - sizes
        self.ranks = np.searchsorted(self.ids, flat)
        self.judged = np.array(matcher.judged_patterns, bool)
        self.any_judged = bool(self.judged.any())


_PLANS: dict[str, _Plan] = {}


def _plan(key: str, packed: bytes) -> _Plan:
    plan: _Plan = _kept(_PLANS, key, lambda: _Plan(_matcher(key, packed)))
    return plan


def _ranges(starts: Any, lengths: Any) -> Any:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])``, without a loop."""
    import numpy as np

    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]) if len(ends) else 0)


def _matched(plan: _Plan, keys: pa.Array, texts: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``(keys, segment ids)``: one pair per row and segment its line is in (see :func:`_expand`)."""
    import pyarrow as pa

    take, found = _expand(texts, plan)
    return keys.take(pa.array(take)), pa.array(found)


def _scan(matcher: SegmentMatcher, lines: list[str]) -> tuple[Any, Any]:
    """``(line numbers, pattern numbers)``: one pair per pattern found in ``lines`` and time
    found (numpy int64 arrays), by one automaton pass per mode over all of them.

    The lines come from Arrow, so they are valid UTF-8: Arrow joins their haystacks into one
    buffer of bytes, with each line's start, in one call.
    """
    import numpy as np
    import pyarrow as pa

    line_parts, pattern_parts = [], []
    for automaton, haystacks in matcher.corpora(lines):
        joined = pa.array(haystacks, pa.string())
        starts = np.frombuffer(joined.buffers()[1], np.int32, len(haystacks) + 1)
        # The data buffer can be padded past the last line: only its used bytes are copied out.
        text = (
            joined.buffers()[2].slice(0, int(starts[-1])).to_pybytes().decode("latin-1")
            if len(joined)
            else ""
        )
        # (end, pattern) pairs, flattened in C: no list of tuples for numpy to read one by one.
        found = np.fromiter(itertools.chain.from_iterable(automaton.iter(text)), np.int64).reshape(-1, 2)
        line_parts.append(np.searchsorted(starts, found[:, 0], side="right") - 1)
        pattern_parts.append(found[:, 1])
    if not line_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(line_parts), np.concatenate(pattern_parts)


def _expand(texts: pa.Array, plan: _Plan) -> tuple[Any, Any]:
    """``(rows, segment ids)``: one pair per row of ``texts`` and segment its line is in, rows in
    order and each row's segments ascending (numpy int64 arrays). Null lines are in no segment."""
    import numpy as np
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(texts)
    # The distinct lines' patterns, then one more "line" with none, which null rows point at.
    hit_line, patterns = _scan(plan.matcher, encoded.dictionary.to_pylist())
    lines = len(encoded.dictionary) + 1
    # Each found pattern -> the segments it makes members outright, as (line, segment rank).
    sizes = plan.sizes[patterns]
    line_of = np.repeat(hit_line, sizes)
    rank = plan.ranks[_ranges(plan.starts[patterns], sizes)]
    if plan.any_judged:
        judged = plan.judged[patterns]
        if judged.any():
            keep = np.isin(hit_line, hit_line[judged])
            per_line: dict[int, list[int]] = {}
            for line, number in zip(hit_line[keep].tolist(), patterns[keep].tolist(), strict=True):
                per_line.setdefault(line, []).append(number)
            extra = [
                (line, s) for line, found in per_line.items() for s in plan.matcher.judged_members(found)
            ]
            if extra:
                more = np.array(extra, np.int64)
                line_of = np.concatenate([line_of, more[:, 0]])
                rank = np.concatenate([rank, np.searchsorted(plan.ids, more[:, 1])])
    # A line can find two patterns of one segment: one pair each, sorted by line, then segment.
    # The pairs come in runs already sorted (by line, per mode; within a line, per pattern), which the
    # stable sort (timsort) merges in about linear time: for a worker's half of the benchmark at
    # 10,000 segments (1.5 M pairs), 0.012 s against np.unique's 0.20 s and quicksort's 0.046 s.
    pairs = line_of * len(plan.ids) + rank
    pairs.sort(kind="stable")
    if len(pairs) > 1:
        pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])]
    line_of, rank = np.divmod(pairs, max(len(plan.ids), 1))
    counts = np.bincount(line_of, minlength=lines)
    found = plan.ids[rank]
    rows_line = np.asarray(encoded.indices.fill_null(lines - 1), np.int64)
    per_row = counts[rows_line]
    rows = np.repeat(np.arange(len(texts), dtype=np.int64), per_row)
    # Row r's k-th segment is found[start of r's line + k].
    return rows, found[_ranges((np.cumsum(counts) - counts)[rows_line], per_row)]


def register(
    spark: Any, rules: Sequence[SegmentRule], *, name: str = NAME, table_name: str = TABLE_NAME
) -> None:
    """Register (or replace) both UDTFs in ``spark``'s session for SQL use: ``name`` line by
    line (LATERAL), ``table_name`` over a TABLE argument in Arrow batches."""
    from pyspark.sql.functions import arrow_udtf, udtf

    bound = _bind(rules)
    # Row-at-a-time, not Arrow-optimized: for this work through LATERAL on Spark 4.3, the
    # Arrow-optimized form was reported about 2.5x slower (the team's engine notes). The fast
    # form is the other one, whose eval takes whole Arrow batches.
    spark.udtf.register(name, udtf(_udtf_class(bound), returnType="segment_id: bigint", useArrow=False))
    spark.udtf.register(
        table_name, arrow_udtf(_table_udtf_class(bound), returnType="key string, segment_id bigint")
    )
