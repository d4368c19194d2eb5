"""The Arrow batch path gives the matcher's own answers, batch by batch (no Spark needed)."""

from __future__ import annotations

import pyarrow as pa

from adtarget.match_udtf import batch_matcher
from adtarget.matcher import MatchMode, SegmentMatcher, SegmentRule

RULES = [
    SegmentRule(1, ("nike", "running shoes")),
    SegmentRule(2, ("나이키",), mode=MatchMode.SUBSTRING),
    SegmentRule(3, ("'; DROP TABLE x; --",), mode=MatchMode.SUBSTRING),
]


def test_batches_give_one_row_per_line_and_segment() -> None:
    lines = ["Nike running shoes", None, "나이키운동화", "x'; DROP TABLE x; -- y", "nothing"]
    batches = [
        pa.RecordBatch.from_pydict(
            {"adid": [f"u{i}" for i in range(n, min(n + 2, len(lines)))], "query": lines[n : n + 2]}
        )
        for n in range(0, len(lines), 2)
    ]
    out = list(batch_matcher(RULES, "adid", "query")(iter(batches)))
    got = sorted(
        (a, s) for b in out for a, s in zip(b["adid"].to_pylist(), b["segment_id"].to_pylist(), strict=True)
    )
    matcher = SegmentMatcher(RULES)
    expected = sorted((f"u{i}", s) for i, line in enumerate(lines) if line for s in matcher.match(line))
    assert got == expected == [("u0", 1), ("u2", 2), ("u3", 3)]
    assert [b.schema.names for b in out] == [["adid", "segment_id"]] * 3


def test_repeated_lines_nulls_and_empty_batches_give_each_row_its_segments_in_order() -> None:
    # Lines in many segments, repeated in one batch (they are matched once per batch, then given
    # to each of their rows), between nulls and lines in none.
    rules = [*RULES, SegmentRule(4, ("shoes",)), SegmentRule(5, ("나이키", "nike"), mode=MatchMode.SUBSTRING)]
    pool = ["Nike running shoes", "나이키운동화", None, "nothing", "shoes", "NIKE"]
    lines = [pool[(i * 7 + i // 3) % len(pool)] for i in range(40)]
    batch = pa.RecordBatch.from_pydict({"adid": [f"u{i}" for i in range(40)], "query": lines})
    nulls = pa.RecordBatch.from_pydict({"adid": ["n0", "n1"], "query": pa.array([None, None], pa.string())})
    empty = batch.slice(0, 0)
    out = list(batch_matcher(rules, "adid", "query")(iter([batch, nulls, empty])))
    got = [
        (a, s) for b in out for a, s in zip(b["adid"].to_pylist(), b["segment_id"].to_pylist(), strict=True)
    ]
    matcher = SegmentMatcher(rules)
    expected = [(f"u{i}", s) for i, line in enumerate(lines) if line for s in matcher.match(line)]
    assert got == expected
    assert len(got) > 40
    assert {s for _, s in got} == {1, 2, 4, 5}
    assert [b.num_rows for b in out[1:]] == [0, 0]
