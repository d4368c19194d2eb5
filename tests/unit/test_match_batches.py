"""The Arrow batch path gives the matcher's own answers, batch by batch (no Spark needed)."""

from __future__ import annotations

import pickle

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adtarget import match_udtf
from adtarget.match_udtf import batch_matcher
from adtarget.matcher import MatcherError, MatchMode, SegmentMatcher, SegmentRule
from tests.unit import rule_cases

RULES = [
    SegmentRule(1, ("nike", "running shoes")),
    SegmentRule(2, ("나이키",), mode=MatchMode.SUBSTRING),
    SegmentRule(3, ("'; DROP TABLE x; --",), mode=MatchMode.SUBSTRING),
]


def _one_batch(rules: list[SegmentRule], lines: list[str]) -> list[tuple[int, int]]:
    """``(row, segment id)`` pairs of the batch path over ``lines`` as one batch."""
    batch = pa.RecordBatch.from_pydict({"row": list(range(len(lines))), "query": lines})
    out = list(batch_matcher(rules, "row", "query")(iter([batch])))
    return list(zip(out[0]["row"].to_pylist(), out[0]["segment_id"].to_pylist(), strict=True))


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


@settings(max_examples=300, deadline=None)
@given(
    rules=rule_cases.rules(),
    lines=st.lists(st.one_of(st.none(), rule_cases.line), min_size=1, max_size=12),
    size=st.integers(1, 5),
)
def test_batches_equal_the_brute_force_oracle(
    rules: list[SegmentRule], lines: list[str | None], size: int
) -> None:
    # Every template's semantics (all/any, exclusions, both modes), ids in any order, lines
    # repeated across and within batches: rows in order, each row's segments ascending.
    rows = lines + lines[::-1]
    batches = [
        pa.RecordBatch.from_pydict(
            {
                "row": list(range(n, min(n + size, len(rows)))),
                "query": pa.array(rows[n : n + size], pa.string()),
            }
        )
        for n in range(0, len(rows), size)
    ]
    out = list(batch_matcher(rules, "row", "query")(iter(batches)))
    got = [
        (r, s) for b in out for r, s in zip(b["row"].to_pylist(), b["segment_id"].to_pylist(), strict=True)
    ]
    expected = [
        (i, s) for i, line in enumerate(rows) if line is not None for s in rule_cases.oracle(rules, line)
    ]
    assert got == expected


def test_a_worker_keeps_the_matchers_of_its_latest_rule_sets_only() -> None:
    batch = pa.RecordBatch.from_pydict({"adid": ["u0"], "query": ["nike"]})
    keys = []
    for n in range(match_udtf.KEEP + 2):
        rules = [SegmentRule(n + 1, ("nike",))]
        keys.append(match_udtf.compiled(rules)[0])
        out = list(batch_matcher(rules, "adid", "query")(iter([batch])))
        assert out[0]["segment_id"].to_pylist() == [n + 1]
    assert list(match_udtf._MATCHERS) == keys[-match_udtf.KEEP :]


def test_no_pattern_is_found_across_two_lines_of_a_batch() -> None:
    # A batch's lines are scanned as one text: the end of one line and the start of the next
    # must not make a phrase (token mode) or a substring, in ASCII or in Hangul (UTF-8 bytes).
    rules = [
        SegmentRule(1, ("running shoes",)),
        SegmentRule(2, ("ab",), mode=MatchMode.SUBSTRING),
        SegmentRule(3, ("나이키운동화",), mode=MatchMode.SUBSTRING),
        SegmentRule(4, ("나이키 운동화",)),
        SegmentRule(5, ("b x",), mode=MatchMode.SUBSTRING),
    ]
    lines = [
        "fast running",
        "shoes now",
        "xa",
        "bx",
        "나이키",
        "운동화",
        "ab",
        "나이키 운동화",
        "b",
        "x",
        "나이키운동화",
    ]
    got = _one_batch(rules, lines)
    assert got == [(6, 2), (7, 4), (10, 3)]


def test_the_driver_compiles_the_rules_once_and_a_worker_unpickles_them_once() -> None:
    # What Spark ships: the compiled matcher as bytes, keyed by their digest; a worker
    # unpickles them on first use, then keeps the matcher. A matcher ships without the memory of
    # lines and the tables it made to match line by line.
    key, packed = match_udtf.compiled(RULES)
    assert key != match_udtf.compiled(RULES[:2])[0]
    shipped = match_udtf._matcher(key, packed)
    assert match_udtf._matcher(key, packed) is shipped
    batch = pa.RecordBatch.from_pydict({"adid": ["u0"], "query": ["Nike running shoes"]})
    assert match_udtf._matched(shipped, batch["adid"], batch["query"])[1].to_pylist() == [1]
    assert shipped._lines is None  # the batch path reads the arrays only
    matcher = SegmentMatcher(RULES)
    assert matcher.match("Nike running shoes") == [1]
    assert matcher._memo
    assert matcher._lines
    copy = pickle.loads(pickle.dumps(matcher))
    assert (copy._memo, copy._lines) == ({}, None)
    assert copy.match("Nike running shoes") == [1]


def test_a_bad_rule_fails_on_the_driver_with_its_segment_named() -> None:
    with pytest.raises(MatcherError, match=r"segment 9: pattern '--' has nothing to match"):
        batch_matcher([*RULES, SegmentRule(9, ("--",))], "adid", "query")


def test_phrases_are_walked_token_by_token_where_a_run_begins_a_longer_pattern() -> None:
    # The token trie's levels: a pattern that is also the start of longer ones, a three-token
    # pattern whose two-token start is none, runs that stop at the end of their line.
    rules = [
        SegmentRule(1, ("new",)),
        SegmentRule(2, ("new york",)),
        SegmentRule(3, ("new york city",)),
        SegmentRule(4, ("big apple pie",)),
        SegmentRule(5, ("york",)),
    ]
    lines = [
        "New York City",
        "new york",
        "big apple",
        "big apple pie",
        "new",
        "york new",
        "a big apple pie new",
    ]
    got = _one_batch(rules, lines)
    matcher = SegmentMatcher(rules)
    assert got == [(i, s) for i, line in enumerate(lines) for s in matcher.match(line)]
    assert got == [
        (0, 1),
        (0, 2),
        (0, 3),
        (0, 5),
        (1, 1),
        (1, 2),
        (1, 5),
        (3, 4),
        (4, 1),
        (5, 1),
        (5, 5),
        (6, 1),
        (6, 4),
    ]


def test_the_table_udtf_gives_the_batch_path_rows_with_the_key_as_a_string() -> None:
    # What Spark runs for match_segments_table(TABLE(...)): eval takes the table's rows as Arrow
    # batches, whatever its columns are named and whatever the key's type.
    udtf = match_udtf.table_udtf_class(RULES)()
    rows = pa.RecordBatch.from_pydict({"n": [7, 8, 9], "q": ["Nike running shoes", None, "나이키운동화"]})
    out = list(udtf.eval(rows))
    assert [b.schema.names for b in out] == [["key", "segment_id"]]
    assert list(zip(out[0]["key"].to_pylist(), out[0]["segment_id"].to_pylist(), strict=True)) == [
        ("7", 1),
        ("9", 2),
    ]


def test_the_table_udtf_names_the_columns_it_was_given_when_they_are_not_a_key_and_a_string() -> None:
    udtf = match_udtf.table_udtf_class(RULES)()
    for rows in [
        pa.RecordBatch.from_pydict({"adid": ["u0"], "query": ["nike"], "dt": ["2026-11-27"]}),
        pa.RecordBatch.from_pydict({"query": ["nike"], "n": [1]}),
    ]:
        with pytest.raises(ValueError, match=r"match_segments_table: .* two columns.*it has \((adid|query) "):
            list(udtf.eval(rows))
