"""The segment matcher as a Spark SQL table function: ``LATERAL match_segments(text)``.

A thin adapter over :mod:`adtarget.matcher`: the rules travel with the UDTF class (pickled by
Spark), and each Python worker builds the automaton once, on its first row, and keeps it for
every later row and task of the same rules.

    register(spark, rules)
    spark.sql("SELECT l.adid, m.segment_id "
              "FROM (SELECT adid, query FROM adtarget.search_log WHERE dt = '2026-11-27') l, "
              "LATERAL match_segments(l.query) m")

Filter the day in a subquery, as above: Spark does not push an outer WHERE below a LATERAL
table function, so the UDTF would otherwise read every day of the log.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from adtarget.matcher import SegmentMatcher, SegmentRule

if TYPE_CHECKING:
    import pyarrow as pa

#: The SQL name the UDTF is registered under.
NAME = "match_segments"

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


def _matcher(key: str, rules: tuple[SegmentRule, ...]) -> SegmentMatcher:
    matcher: SegmentMatcher = _kept(_MATCHERS, key, lambda: SegmentMatcher(rules))
    return matcher


def udtf_class(rules: Sequence[SegmentRule]) -> type:
    """A UDTF class bound to ``rules``: one output row ``(segment_id)`` per matching segment."""
    frozen = tuple(rules)
    SegmentMatcher(frozen)  # fail here, on the driver, with the segment named, not in a worker
    key = fingerprint(frozen)

    class MatchSegments:
        def __init__(self) -> None:
            self._match = _matcher(key, frozen).match

        def eval(self, text: str | None) -> Iterator[tuple[int]]:
            if text is None:
                return
            for segment_id in self._match(text):
                yield (segment_id,)

    return MatchSegments


def batch_matcher(
    rules: Sequence[SegmentRule], key: str, text: str
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The Arrow batch path: a ``mapInArrow`` function from rows ``(key, text)`` to one row
    ``(key, segment_id)`` per matching segment, in the rows' order and, within a row, in
    ascending segment id.

        logs.select("adid", "query").mapInArrow(batch_matcher(rules, "adid", "query"),
                                                "adid string, segment_id bigint")

    Lines cross from the JVM in Arrow batches instead of one pickled row at a time. Each batch's
    distinct lines are scanned once for patterns (search logs repeat their head queries: a batch
    of 10,000 rows holds ~6,000 distinct ones); patterns become segments, and lines' segments
    become rows, by array operations, with no Python step per segment or per row.
    """
    frozen = tuple(rules)
    SegmentMatcher(frozen)  # fail on the driver, naming the segment
    digest = fingerprint(frozen)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        plan = _plan(digest, frozen)
        for batch in batches:
            take, found = _expand(batch.column(text), plan)
            yield pa.RecordBatch.from_arrays(
                [batch.column(key).take(pa.array(take)), pa.array(found)], [key, "segment_id"]
            )

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


def _plan(key: str, rules: tuple[SegmentRule, ...]) -> _Plan:
    plan: _Plan = _kept(_PLANS, key, lambda: _Plan(_matcher(key, rules)))
    return plan


def _ranges(starts: Any, lengths: Any) -> Any:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])``, without a loop."""
    import numpy as np

    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]) if len(ends) else 0)


def _expand(texts: pa.Array, plan: _Plan) -> tuple[Any, Any]:
    """``(rows, segment ids)``: one pair per row of ``texts`` and segment its line is in, rows in
    order and each row's segments ascending (numpy int64 arrays). Null lines are in no segment."""
    import numpy as np
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(texts)
    # The distinct lines' patterns, then one more "line" with none, which null rows point at.
    hits = [*map(plan.matcher.hits, encoded.dictionary.to_pylist()), ()]
    lines = len(hits)
    per_line = np.fromiter(map(len, hits), np.int64, lines)
    patterns = np.fromiter(itertools.chain.from_iterable(hits), np.int64, int(per_line.sum()))
    hit_line = np.repeat(np.arange(lines, dtype=np.int64), per_line)
    # Each found pattern -> the segments it makes members outright, as (line, segment rank).
    sizes = plan.sizes[patterns]
    line_of = np.repeat(hit_line, sizes)
    rank = plan.ranks[_ranges(plan.starts[patterns], sizes)]
    if plan.any_judged:
        judged = np.unique(hit_line[plan.judged[patterns]])
        extra = [(line, s) for line in judged.tolist() for s in plan.matcher.judged_members(hits[line])]
        if extra:
            more = np.array(extra, np.int64)
            line_of = np.concatenate([line_of, more[:, 0]])
            rank = np.concatenate([rank, np.searchsorted(plan.ids, more[:, 1])])
    # A line can find two patterns of one segment: one pair each, sorted by line, then segment.
    # The pairs come in runs already sorted (by line; within a line, per pattern), which the
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


def register(spark: Any, rules: Sequence[SegmentRule], *, name: str = NAME) -> None:
    """Register (or replace) the UDTF in ``spark``'s session for SQL use."""
    from pyspark.sql.functions import udtf

    # Row-at-a-time, not Arrow: for this work through LATERAL on Spark 4.3, the Arrow-backed
    # form was reported about 2.5x slower (the team's engine notes); issue 4's benchmark decides.
    function = udtf(udtf_class(rules), returnType="segment_id: bigint", useArrow=False)
    spark.udtf.register(name, function)
