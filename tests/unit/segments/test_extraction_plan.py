"""The extraction plan: registry segments to matcher rules, probes and rule tables (pure)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from adtarget.extraction.plan import PlanError, build, pass_id
from adtarget.matcher import MatchMode, Require
from adtarget.segments.registry import Segment, Status

DAY = dt.date(2026, 11, 27)
NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def seg(segment_id: int, template: str, params: dict[str, Any], version: int = 1) -> Segment:
    return Segment(
        segment_id, f"s{segment_id}", template, params, version, "t", Status.ACTIVE, None, NOW, NOW
    )


def test_keyword_templates_become_matcher_rules_with_their_semantics() -> None:
    plan = build(
        DAY,
        [
            seg(1, "search_any", {"keywords": ["나이키"], "exclude_keywords": ["중고"], "days": 3}),
            seg(2, "search_all", {"keywords": ["a b", "c"], "match": "substring"}),
        ],
        lambda i: pytest.fail(f"no lookup expected, got {i}"),
    )
    one, two = sorted(plan.text_rules, key=lambda r: r.segment_id)
    assert (one.patterns, one.exclude, one.require, one.mode) == (
        ("나이키",),
        ("중고",),
        Require.ANY,
        MatchMode.TOKEN,
    )
    assert (two.require, two.mode) == (Require.ALL, MatchMode.SUBSTRING)
    # A 3-day window needs the signals of three days, the default 7-day one of seven.
    needed = plan.needed()
    assert len(needed) == 7
    assert {s for s, _ in needed[DAY - dt.timedelta(days=2)]} == {1, 2}
    assert {s for s, _ in needed[DAY - dt.timedelta(days=3)]} == {2}


def test_id_templates_become_probes_and_thresholds_rows() -> None:
    plan = build(
        DAY,
        [
            seg(3, "impression_no_click", {"campaign_ids": [7], "min_impressions": 2, "days": 1}),
            seg(
                4,
                "path_visit",
                {"domains": ["a.kr"], "path_prefixes": ["/cart"], "days": 1, "genders": ["F"]},
            ),
            seg(5, "high_value", {"min_total_value": 10, "days": 1}),
        ],
        lambda i: pytest.fail(f"no lookup expected, got {i}"),
    )
    assert sorted(plan.probes) == [
        (3, "click", "campaign_id", "7", None, None),
        (3, "impression", "campaign_id", "7", None, None),
        (4, "visit", "domain", "a.kr", None, ["/cart"]),
        (5, "conversion", "*", "*", None, None),
    ]
    rows = {r[0]: r for r in plan.segments}
    assert rows[3][6:9] == (DAY.isoformat(), DAY.isoformat(), None)  # dt_from, dt_to, quiet_from
    assert rows[4][9:12] == (True, None, ["F"])  # filtered: any age band, gender F


def test_a_combination_pulls_in_a_paused_segment_without_delivering_it() -> None:
    paused = seg(9, "app_install", {"app_ids": ["app.1"]})
    plan = build(
        DAY,
        [
            seg(1, "domain_visit", {"domains": ["a.kr"]}),
            seg(2, "segment_combination", {"all_of": [1], "none_of": [9]}),
        ],
        lambda i: {9: paused}[i],
    )
    assert {p.segment_id: (p.deliver, p.level) for p in plan.planned.values()} == {
        1: (True, 0),
        9: (False, 0),
        2: (True, 1),
    }
    assert plan.combinations == {1: [(2, 1, "all_of", 1, 0), (2, 9, "none_of", 1, 0)]}


def test_a_cycle_or_a_bad_definition_names_the_segment() -> None:
    a = seg(1, "segment_combination", {"all_of": [2]})
    b = seg(2, "segment_combination", {"all_of": [1]})
    with pytest.raises(PlanError, match=r"refers back to itself \(1 -> 2 -> 1\)"):
        build(DAY, [a, b], lambda i: {1: a, 2: b}[i])
    with pytest.raises(PlanError, match=r"segment 5 \(s5\): .*days"):
        build(DAY, [seg(5, "domain_visit", {"domains": ["a.kr"], "days": "x"})], lambda i: a)


def test_signals_are_keyed_by_definition_not_version_and_pass_names_by_the_set() -> None:
    same = [
        build(
            DAY,
            [seg(1, "domain_visit", {"domains": ["a.kr"]}, version=v)],
            lambda i: pytest.fail(f"no lookup expected, got {i}"),
        )
        for v in (1, 2)
    ]
    other = build(
        DAY,
        [seg(1, "domain_visit", {"domains": ["b.kr"]})],
        lambda i: pytest.fail(f"no lookup expected, got {i}"),
    )
    keys = [p.planned[1].key for p in (*same, other)]
    assert keys[0] == keys[1] != keys[2]
    assert pass_id([(1, "a"), (2, "b")]) == pass_id([(2, "b"), (1, "a")])
    assert pass_id([(1, "a")]) != pass_id([(1, "b")])
