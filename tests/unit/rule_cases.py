"""Random rules and lines, and the brute-force oracle that the matcher and its batch path must
agree with (shared by the matcher's and the batch path's property tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from adtarget.matcher import MatchMode, Require, SegmentRule, substring_text, tokens


def _contains_run(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def _oracle_hit(pattern: str, line: str, mode: MatchMode) -> bool:
    if mode is MatchMode.TOKEN:
        return _contains_run(tokens(line), tokens(pattern))
    return substring_text(pattern) in substring_text(line)


def oracle(rules: list[SegmentRule], line: str) -> list[int]:
    """One rule, one pattern at a time: what the matcher must agree with."""
    out = []
    for r in rules:
        hits = [_oracle_hit(p, line, r.mode) for p in r.patterns]
        ok = all(hits) if r.require is Require.ALL else any(hits)
        if ok and not any(_oracle_hit(p, line, r.mode) for p in r.exclude):
            out.append(r.segment_id)
    return sorted(out)


# A tiny alphabet so that patterns really collide with lines; with Hangul, full-width and case,
# and characters of two, three and four UTF-8 bytes that share their first bytes (가/각, é/ê,
# 𠀀/𠀁): the substring automaton reads bytes, and must find whole characters only.
_LETTERS = "abAB가나각Ａéê𠀀𠀁"
_ALPHABET = _LETTERS + "  -.,\t😀"
# Words from a small pool, so that lines made of them hold the patterns' phrases often enough
# for a wrong phrase walk to show; and random words, for the rest.
_POOL = ["a", "ab", "B", "가", "가나", "각", "Ａb", "é", "𠀀", "𠀁ê"]
_word = st.one_of(st.sampled_from(_POOL), st.text(alphabet=_LETTERS, min_size=1, max_size=3))
_pattern = st.lists(_word, min_size=1, max_size=3).map(" ".join)
_SEPARATORS = [" ", " ", "  ", "-", ", ", "", "\t"]
line = st.one_of(
    st.text(alphabet=_ALPHABET, max_size=40),
    st.lists(st.tuples(_word, st.sampled_from(_SEPARATORS)), max_size=8).map(
        lambda parts: "".join(word + sep for word, sep in parts)
    ),
)


@st.composite
def rules(draw: st.DrawFn) -> list[SegmentRule]:
    count = draw(st.integers(min_value=1, max_value=8))
    # Ids in any order and of any size: outputs are sorted by id, not by rule.
    ids = draw(st.lists(st.integers(0, 2**62), min_size=count, max_size=count, unique=True))
    return [
        SegmentRule(
            segment_id=ids[i],
            patterns=tuple(draw(st.lists(_pattern, min_size=1, max_size=4))),
            mode=draw(st.sampled_from(list(MatchMode))),
            require=draw(st.sampled_from(list(Require))),
            exclude=tuple(draw(st.lists(_pattern, max_size=2))),
        )
        for i in range(count)
    ]
