"""The segment matcher against hand-picked cases and a brute-force oracle."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adtarget import matcher as matcher_module
from adtarget.matcher import (
    MatcherError,
    MatchMode,
    Require,
    SegmentMatcher,
    SegmentRule,
    normalize,
    substring_text,
    tokens,
)
from tests.unit import rule_cases


def _one(rule: SegmentRule, line: str) -> bool:
    return SegmentMatcher([rule]).match(line) == [rule.segment_id]


# --- normalisation ---------------------------------------------------------------------------


def test_full_width_and_case_fold_to_the_same_text() -> None:
    assert normalize("ＮＩＫＥ Shoes") == "nike shoes"
    assert normalize("STRASSE") == normalize("straße")


def test_decomposed_hangul_equals_composed() -> None:
    decomposed = "\u1100\u1161\u11bc"  # ᄀ + ᅡ + ᆼ: jamo of 강
    assert normalize(decomposed) == "강"


def test_tokens_are_unicode_word_runs() -> None:
    assert tokens("나이키 운동화, Air-Max 90!") == ["나이키", "운동화", "air", "max", "90"]


# --- token mode ------------------------------------------------------------------------------


def test_token_mode_matches_whole_tokens_only() -> None:
    rule = SegmentRule(1, ("run",))
    assert _one(rule, "I run daily")
    assert not _one(rule, "running shoes")
    assert not _one(rule, "rerun")


def test_phrases_need_consecutive_tokens() -> None:
    rule = SegmentRule(1, ("running shoes",))
    assert _one(rule, "Cheap RUNNING   shoes, today")
    assert not _one(rule, "shoes for running")
    assert not _one(rule, "running trail shoes")


def test_korean_and_english_normalised_alike() -> None:
    rule = SegmentRule(7, ("나이키 에어",))
    assert _one(rule, "최저가 나이키  에어 맥스")
    assert _one(SegmentRule(8, ("ＡＩＲ",)), "nike air max")


# --- substring mode --------------------------------------------------------------------------


def test_substring_mode_finds_agglutinated_korean() -> None:
    rule = SegmentRule(1, ("나이키",), mode=MatchMode.SUBSTRING)
    assert _one(rule, "나이키운동화 할인")
    assert _one(rule, "나이키를 샀다")
    assert not _one(rule, "아디다스")


def test_substring_keeps_punctuation_and_collapses_spaces() -> None:
    rule = SegmentRule(1, ("c++  dev",), mode=MatchMode.SUBSTRING)
    assert _one(rule, "Senior C++ Developer")
    assert substring_text("  a \t\n b ") == "a b"


# --- any / all / exclude ---------------------------------------------------------------------


def test_all_needs_every_pattern() -> None:
    rule = SegmentRule(1, ("hotel", "jeju"), require=Require.ALL)
    assert _one(rule, "jeju hotel deals")
    assert not _one(rule, "seoul hotel deals")


def test_all_counts_patterns_that_normalise_alike_once() -> None:
    rule = SegmentRule(1, ("Hotel", "HOTEL", "ｈｏｔｅｌ"), require=Require.ALL)
    assert _one(rule, "hotel")


def test_exclusion_wins_over_inclusion() -> None:
    rule = SegmentRule(1, ("shoes",), exclude=("used", "중고"))
    assert _one(rule, "new shoes")
    assert not _one(rule, "used shoes")
    assert not _one(rule, "shoes 중고")


def test_many_segments_share_patterns() -> None:
    matcher = SegmentMatcher(
        [
            SegmentRule(3, ("shoes",)),
            SegmentRule(1, ("nike", "adidas")),
            SegmentRule(2, ("nike shoes",), require=Require.ALL),
            SegmentRule(4, ("nike",), exclude=("shoes",)),
            SegmentRule(5, ("ike",), mode=MatchMode.SUBSTRING),
        ]
    )
    assert matcher.match("Nike shoes") == [1, 2, 3, 5]
    assert matcher.match("nike hat") == [1, 4, 5]
    assert matcher.match("") == []
    assert matcher.match_many(["adidas", "bike"]) == [[1], [5]]


# --- hostile input is literal ----------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    ["'; DROP TABLE logs; --", "${hiveconf:x}", "a\\b", '"quoted"', ".*", "[a-z]+", "(?i)x"],
)
def test_hostile_patterns_are_matched_literally(pattern: str) -> None:
    rule = SegmentRule(1, (pattern,), mode=MatchMode.SUBSTRING)
    assert _one(rule, f"prefix {pattern} suffix")
    assert not _one(rule, "prefix suffix")


def test_ten_thousand_patterns_in_one_rule() -> None:
    rule = SegmentRule(1, tuple(f"kw{i}" for i in range(10_000)))
    assert _one(rule, "xx kw9999 yy")
    assert not _one(rule, "xx kw10000 yy")


# --- errors ----------------------------------------------------------------------------------


def test_pattern_without_letters_is_refused_with_its_segment() -> None:
    with pytest.raises(MatcherError, match=r"segment 9: pattern '!!!' has nothing to match in token mode"):
        SegmentMatcher([SegmentRule(9, ("ok", "!!!"))])


def test_empty_rule_and_duplicate_ids_are_refused() -> None:
    with pytest.raises(MatcherError, match="segment 1: patterns is empty"):
        SegmentMatcher([SegmentRule(1, ())])
    with pytest.raises(MatcherError, match="segment 2: defined twice"):
        SegmentMatcher([SegmentRule(2, ("a",)), SegmentRule(2, ("b",))])


def test_a_lone_surrogate_is_matched_as_a_character_of_its_own() -> None:
    # Broken input (half of a UTF-16 pair) must neither fail the line nor match a neighbour.
    assert _one(SegmentRule(1, ("a\ud800b",), mode=MatchMode.SUBSTRING), "xa\ud800by")
    assert not _one(SegmentRule(1, ("\ud800",), mode=MatchMode.SUBSTRING), "\ud801 ab")
    assert SegmentMatcher([SegmentRule(1, ("ab",))]).match("\udfff ab") == [1]


def test_matcher_survives_pickling() -> None:
    matcher = SegmentMatcher([SegmentRule(1, ("광고",)), SegmentRule(2, ("ad",), mode=MatchMode.SUBSTRING)])
    assert matcher.match("광고") == [1]  # remembered: the memory is not shipped with the matcher
    clone = pickle.loads(pickle.dumps(matcher))
    assert clone._memo == {}
    assert clone.match("광고 ads") == [1, 2]


def test_a_remembered_line_gives_the_same_answer_and_callers_cannot_change_it() -> None:
    matcher = SegmentMatcher([SegmentRule(1, ("nike",)), SegmentRule(2, ("shoes",))])
    first = matcher.match("Nike shoes")
    first.append(99)  # a caller's own list
    assert matcher.match("Nike shoes") == [1, 2]
    assert matcher.match("nike") == [1]


def test_the_memory_of_lines_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matcher_module, "MEMO_LINES", 3)
    matcher = SegmentMatcher([SegmentRule(1, ("a",))])
    for i in range(10):
        assert matcher.match(f"a {i}") == [1]
        assert len(matcher._memo) <= 3
    assert matcher.match("a 9") == [1]


# --- property: equal to a brute-force oracle -------------------------------------------------


@settings(max_examples=600, deadline=None)
@given(rules=rule_cases.rules(), lines=st.lists(rule_cases.line, min_size=1, max_size=5))
def test_matcher_equals_brute_force(rules: list[SegmentRule], lines: list[str]) -> None:
    matcher = SegmentMatcher(rules)
    for line in lines + lines:  # the second time from the matcher's memory
        assert matcher.match(line) == rule_cases.oracle(rules, line), line
