"""The segment matcher as Spark SQL table functions, and as Spark's Arrow batch path.

A thin adapter over :mod:`adtarget.matcher`. The driver compiles the rules once (a bad rule
fails there, with its segment named) and the compiled matcher travels with the function, pickled
as bytes; each Python worker unpickles it once, on its first batch or row, and keeps it for every
later one and every task of the same rules. Two SQL forms, both registered by :func:`register`:

    register(spark, rules)
    -- in Arrow batches, 4-7x faster (ad-hoc queries over a day's log):
    SELECT key AS adid, segment_id FROM match_segments_table(TABLE(
      SELECT adid, query FROM adtarget.search_log WHERE dt = '2026-11-27'))
    -- line by line, beside the line's other columns:
    SELECT l.adid, l.ts, m.segment_id
    FROM (SELECT adid, ts, query FROM adtarget.search_log WHERE dt = '2026-11-27') l,
         LATERAL match_segments(l.query) m

Filter the day in a subquery, as above: Spark does not push an outer WHERE below a LATERAL
table function, so the UDTF would otherwise read every day of the log. The daily extraction
takes the same batches through ``mapInArrow`` (:func:`batch_matcher`); the benchmark finds the
two batch forms within a third of each other, the ``mapInArrow`` one mostly ahead (runs of
2026-12-02).
"""

from __future__ import annotations

import hashlib
import itertools
import pickle
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from adtarget.matcher import SegmentMatcher, SegmentRule, batch_shapes

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

#: Rule sets a worker keeps compiled matchers for (the oldest goes first). One job can match
#: several sets (the extraction's passes, a backfill's days), and a long-lived session (the
#: Thrift server's) a new one each time segments change: a matcher of 10,000 segments holds tens
#: of megabytes, which a worker need not keep once its job has moved on.
KEEP = 2


def _kept(cache: dict[str, Any], key: str, make: Callable[[], Any]) -> Any:
    """``cache[key]``, made first if absent, then the oldest entries dropped beyond :data:`KEEP`."""
    found = cache.get(key)
    if found is None:
        found = cache[key] = make()
        while len(cache) > KEEP:
            del cache[next(iter(cache))]
    return found


def _packed(compiled: object) -> tuple[str, bytes]:
    """``(key, bytes)``: what the driver compiled, pickled once, as Spark ships it to workers,
    and the digest of those bytes, under which each worker keeps what it unpickled.

    Spark unpickles a function and what it holds for every task, and a day's extraction has a
    task per block of logs: bytes cost nothing to unpickle, and a worker unpickles what they
    hold only once (see :func:`_kept`). Compiling once on the driver instead of in each worker:
    at 10,000 segments a worker spent 0.45 s building the matcher and its batch plan, and spent
    0.01 s unpickling them (2026-12-02). A bad rule fails on the driver, with its segment
    named, not in a worker.
    """
    packed = pickle.dumps(compiled, protocol=pickle.HIGHEST_PROTOCOL)
    return hashlib.blake2b(packed, digest_size=20).hexdigest(), packed


def compiled(rules: Sequence[SegmentRule]) -> tuple[str, bytes]:
    """``(key, packed matcher)``: the rules compiled on the driver."""
    return _packed(SegmentMatcher(rules))


# Per Python worker process: key -> what the driver compiled. Workers are reused across
# tasks, so a day's extraction unpickles it once per worker, not once per task or row.
_MATCHERS: dict[str, SegmentMatcher] = {}


def _matcher(key: str, packed: bytes) -> SegmentMatcher:
    matcher: SegmentMatcher = _kept(_MATCHERS, key, lambda: pickle.loads(packed))  # noqa: S301 - our driver's
    return matcher


def _udtf_class(key: str, packed: bytes) -> type:
    """A UDTF class bound to a packed matcher: one output row ``(segment_id)`` per matching
    segment."""

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
    return _table_udtf_class(*compiled(rules))


def _table_udtf_class(key: str, packed: bytes) -> type:
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
            keys, segments = _matched(_matcher(key, packed), rows.column(0), rows.column(1))
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
    distinct lines are matched once, all together (search logs repeat their head queries: a
    batch of 10,000 rows holds ~6,000 distinct ones): substring patterns by one automaton pass
    over all of them, whole-token patterns by Arrow's hash lookups of their tokens (see
    :func:`_token_hits`); patterns become segments, and lines' segments become rows, by array
    operations, with no Python step per pattern found, per segment or per row.

    One row per pair, not one row per line with an array of its segments: at 10,000 segments
    on the benchmark the arrays' query took 2.08 s against the pairs' 2.10 s, and 1.54 s
    against 1.58 s at 100 (medians of 6, alternating, 2026-12-03): the JVM's work per array
    row costs what the fewer rows save, and pairs are what the daily job groups.
    """
    compiled_key, packed = compiled(rules)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        matcher = _matcher(compiled_key, packed)
        for batch in batches:
            keys, segments = _matched(matcher, batch.column(key), batch.column(text))
            yield pa.RecordBatch.from_arrays([keys, segments], [key, "segment_id"])

    return run


def _ranges(starts: Any, lengths: Any) -> Any:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])``, without a loop."""
    import numpy as np

    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]) if len(ends) else 0)


def _matched(matcher: SegmentMatcher, keys: pa.Array, texts: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``(keys, segment ids)``: one pair per row and segment its line is in (see :func:`_expand`)."""
    import pyarrow as pa

    take, found = _expand(texts, matcher)
    return keys.take(pa.array(take)), pa.array(found)


def _scan(matcher: SegmentMatcher, lines: list[str]) -> tuple[Any, Any]:
    """``(line numbers, pattern numbers)``: one pair per pattern found in ``lines`` and time
    found (numpy int64 arrays)."""
    import numpy as np

    automaton = matcher.substring_automaton
    tokens, substrings = batch_shapes(lines, tokens=bool(matcher.levels), substrings=automaton is not None)
    parts = []
    if tokens is not None:
        parts.append(_token_hits(matcher.vocabulary, matcher.levels, tokens))
    if substrings is not None:
        parts.append(_substring_hits(automaton, substrings))
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _token_hits(
    vocabulary: pa.Array, levels: list[tuple[Any, Any, Any]], tokens: list[str]
) -> tuple[Any, Any]:
    """Whole-token patterns in lines given as their tokens joined by one space.

    The token trie walked from every token of every line at once: each token becomes its number
    in the patterns' vocabulary by one Arrow hash lookup (``index_in``), and a line's run of
    k tokens from a token goes on to k + 1 only where it begins a longer pattern, looked up in
    the next level by a numpy binary search of integers (see :func:`adtarget.matcher._levels`).
    Found patterns come out as arrays, with no Python step each. On the benchmark's lines at
    10,000 segments, per 500,000 rows: 0.12-0.13 s, against 0.15-0.17 s when each level was
    looked up by text, with the runs joined into strings (2026-12-02).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    lists = pc.split_pattern(pa.array(tokens, pa.string()), " ")  # a line of no token: [""]
    flat = lists.flatten()
    line_of = pc.list_parent_indices(lists).to_numpy()
    count = len(flat)
    token = pc.index_in(flat, value_set=vocabulary).fill_null(-1).to_numpy().astype(np.int64)
    width = len(vocabulary)
    line_parts, pattern_parts = [], []
    start = np.flatnonzero(token >= 0)  # the runs of this level: their first token, and node
    node = token[start]
    for depth, (runs, numbers, longer) in enumerate(levels):
        if depth:  # level 0 is every token, in order: a token's number is its place there
            place = np.searchsorted(runs, node)
            known = place < len(runs)
            known[known] = runs[place[known]] == node[known]
            start, node = start[known], place[known]
        number = numbers[node]
        hit = number >= 0
        line_parts.append(line_of[start[hit]])
        pattern_parts.append(number[hit])
        # Walk on from the runs that begin longer patterns, where their line has a next token
        # that some pattern holds.
        going = longer[node]
        start, node = start[going], node[going]
        following = start + depth + 1
        inside = following < count
        inside[inside] = line_of[following[inside]] == line_of[start[inside]]
        start, node, following = start[inside], node[inside], following[inside]
        after = token[following]
        known = after >= 0
        start, node = start[known], node[known] * width + after[known]
        if not len(start):
            break
    return np.concatenate(line_parts), np.concatenate(pattern_parts)


def _substring_hits(automaton: Any, haystacks: list[str]) -> tuple[Any, Any]:
    """Substring patterns in lines given as their haystacks, by one automaton pass over them all.

    The lines come from Arrow, so they are valid UTF-8: Arrow joins their haystacks into one
    buffer of bytes, with each line's start, in one call.
    """
    import numpy as np
    import pyarrow as pa

    joined = pa.array(haystacks, pa.string())
    starts = np.frombuffer(joined.buffers()[1], np.int32, len(haystacks) + 1)
    # The data buffer can be padded past the last line: only its used bytes are copied out.
    text = joined.buffers()[2].slice(0, int(starts[-1])).to_pybytes().decode("latin-1") if len(joined) else ""
    # (end, pattern) pairs, flattened in C: no list of tuples for numpy to read one by one.
    found = np.fromiter(itertools.chain.from_iterable(automaton.iter(text)), np.int64).reshape(-1, 2)
    return np.searchsorted(starts, found[:, 0], side="right") - 1, found[:, 1]


def _expand(texts: pa.Array, matcher: SegmentMatcher) -> tuple[Any, Any]:
    """``(rows, segment ids)``: one pair per row of ``texts`` and segment its line is in, rows in
    order and each row's segments ascending (numpy int64 arrays). Null lines are in no segment."""
    import numpy as np
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(texts)
    # The distinct lines' patterns, then one more "line" with none, which null rows point at.
    hit_line, patterns = _scan(matcher, encoded.dictionary.to_pylist())
    lines = len(encoded.dictionary) + 1
    # Each found pattern -> the segments it makes members outright, as (line, segment rank).
    ids = matcher.ids
    sizes = matcher.sizes[patterns]
    line_of = np.repeat(hit_line, sizes)
    rank = matcher.ranks[_ranges(matcher.starts[patterns], sizes)]
    if len(matcher.judge):
        judged = matcher.judged[patterns]
        if judged.any():
            keep = np.isin(hit_line, hit_line[judged])
            per_line: dict[int, list[int]] = {}
            for line, number in zip(hit_line[keep].tolist(), patterns[keep].tolist(), strict=True):
                per_line.setdefault(line, []).append(number)
            extra = [(line, s) for line, found in per_line.items() for s in matcher.judge.members(found)]
            if extra:
                more = np.array(extra, np.int64)
                line_of = np.concatenate([line_of, more[:, 0]])
                rank = np.concatenate([rank, np.searchsorted(ids, more[:, 1])])
    # A line can find two patterns of one segment: one pair each, sorted by line, then segment.
    # The pairs come in runs already sorted (by line, per mode and phrase length; within a line,
    # per pattern), which the stable sort (timsort) merges in about linear time: for a worker's
    # half of the benchmark at 10,000 segments (1.5 M pairs), 0.012 s against np.unique's 0.20 s
    # and quicksort's 0.046 s.
    pairs = line_of * len(ids) + rank
    pairs.sort(kind="stable")
    if len(pairs) > 1:
        pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])]
    line_of, rank = np.divmod(pairs, max(len(ids), 1))
    counts = np.bincount(line_of, minlength=lines)
    found = ids[rank]
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

    key, packed = compiled(rules)  # one matcher, shipped to both forms: a worker keeps one copy
    # Row-at-a-time, not Arrow-optimized: for this work through LATERAL on Spark 4.3, the
    # Arrow-optimized form was reported about 2.5x slower (the team's engine notes). The fast
    # form is the other one, whose eval takes whole Arrow batches.
    spark.udtf.register(name, udtf(_udtf_class(key, packed), returnType="segment_id: bigint", useArrow=False))
    spark.udtf.register(
        table_name,
        arrow_udtf(_table_udtf_class(key, packed), returnType="key string, segment_id bigint"),
    )
