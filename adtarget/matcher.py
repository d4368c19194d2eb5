"""Match one log line against thousands of segments at once (Aho-Corasick, pure Python).

Each segment is a :class:`SegmentRule`: patterns (keywords, phrases, ids) to find in a line,
how to find them (whole tokens or substrings), whether any or all must be present, and
patterns that must be absent. :class:`SegmentMatcher` compiles every rule into one structure
per matching mode, so a line is scanned once however many segments there are; negation and
"all" are decided after the scan from the set of patterns found:

- substring patterns go into one Aho-Corasick automaton, searched over the line's UTF-8 bytes;
- whole-token patterns go into a trie of tokens (a dict of token sequences and their prefixes),
  walked from each token of the line. It is the automaton's trie over an alphabet of tokens;
  failure links are not needed, as a match can only start at a token.

Why not one character automaton for both: pyahocorasick finds a node's child by a linear scan
of its children. With thousands of patterns the root has thousands of children (every first
syllable of a Korean keyword), and each character of a line paid a scan of them: the benchmark's
bare matcher took 2.4x as long at 10,000 segments as at 100; now 1.8-1.9x, and its time is
1.1-1.2x shorter at 100 segments and 1.4-1.7x shorter from 1,000 up (runs of other days).
Over UTF-8 bytes a node has at most a few dozen children, and a token costs one hash lookup per
pattern prefix it starts.

Text and patterns are normalised the same way: Unicode NFKC, then case folding, so that
full-width and half-width forms, composed and decomposed Hangul, and upper and lower case match
as a user expects. Tokens are runs of Unicode word characters (letters, digits, underscore).

No Spark here: the UDTF and batch paths are thin adapters that build one matcher per worker.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import ahocorasick

#: Lines whose segments a matcher remembers. Search logs repeat their head queries: in the
#: benchmark's million synthetic queries 36 % are distinct, and a worker's Arrow batch of 10,000
#: rows holds ~6,000 distinct ones. The memory is emptied when full (cheaper than an LRU's
#: bookkeeping per line; the head queries come back within a few batches).
MEMO_LINES = 1 << 16

_TOKEN = re.compile(r"\w+")
#: "No such key" in the token trie (None there means "a prefix: walk on").
_ABSENT: Any = object()


class MatchMode(StrEnum):
    """How a pattern is found in a line."""

    #: The pattern's tokens appear as consecutive whole tokens of the line ("run" != "running").
    TOKEN = "token"  # noqa: S105 - a mode name, not a credential
    #: The pattern appears anywhere in the normalised line ("나이키" in "나이키운동화").
    SUBSTRING = "substring"


class Require(StrEnum):
    """How many of a rule's patterns must be found."""

    ANY = "any"
    ALL = "all"


class MatcherError(ValueError):
    """A rule cannot be matched as written; the message names the segment and the pattern."""


def normalize(text: str) -> str:
    """NFKC, case folding, NFKC again (folding can leave a string that is not NFKC)."""
    if text.isascii():  # NFKC leaves ASCII as it is, and folds its case as lower() does
        return text.lower()
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def tokens(text: str) -> list[str]:
    """The normalised tokens of ``text``."""
    return _TOKEN.findall(normalize(text))


def substring_text(text: str) -> str:
    """The normalised text that substring patterns are searched in: runs of space collapsed."""
    return _haystack(normalize(text), MatchMode.SUBSTRING)


@dataclass(frozen=True)
class SegmentRule:
    """What a log line must contain to make its user a member of ``segment_id``."""

    segment_id: int
    patterns: tuple[str, ...]
    mode: MatchMode = MatchMode.TOKEN
    require: Require = Require.ANY
    exclude: tuple[str, ...] = ()


def _haystack(normalized: str, mode: MatchMode) -> str:
    """What ``mode`` searches in a normalised line, and looks for of a normalised pattern.

    Token mode frames the tokens with spaces, so a key hits whole tokens only.
    """
    if mode is MatchMode.TOKEN:
        return " " + " ".join(_TOKEN.findall(normalized)) + " "
    return " ".join(normalized.split())  # what str.split() calls space is what regex \s is


def _bytes(text: str) -> str:
    """``text`` as its UTF-8 bytes, one character per byte (what the substring automaton reads).

    A pattern's bytes start with the first byte of a character and end with the last byte of
    one, and no last or middle byte of a character is the first byte of another: so the
    pattern's bytes are found in a line's exactly where the pattern is found in the line.
    Lone surrogates (broken input) are kept as their own bytes instead of failing.
    """
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


def _key(pattern: str, mode: MatchMode) -> str:
    """The string the automaton looks for: the pattern shaped exactly as lines are."""
    return _haystack(normalize(pattern), mode)


def haystack(text: str, mode: str) -> str:
    """``text`` normalised and shaped as ``mode`` searches it.

    A pattern is in a line when ``needle(pattern, mode)`` is a substring of
    ``haystack(line, mode)``: the rule the audience-size HiveQL applies through the
    ``adtarget_haystack`` function of the Thrift server, so sizing and extraction agree.
    """
    return _haystack(normalize(text), MatchMode(mode))


def needle(pattern: str, mode: str) -> str:
    """``pattern`` shaped as :func:`haystack` shapes lines (token mode: framed by spaces)."""
    return _key(pattern, MatchMode(mode))


#: What a pattern found in a line contributes: the pattern's key, the segments it makes members
#: outright, and the (rule index, is it an exclusion) pairs that are judged after the scan.
_Output = tuple[str, tuple[int, ...], tuple[tuple[int, bool], ...]]


class SegmentMatcher:
    """All rules compiled into one structure per mode; :meth:`match` gives a line's segments.

    Build it once per process (it is picklable, so Spark can ship it); matching a line costs one
    pass over the line per mode in use, plus the patterns found, unless the line was seen lately
    (see :data:`MEMO_LINES`).
    """

    def __init__(self, rules: Iterable[SegmentRule]) -> None:
        self._rules: list[SegmentRule] = []
        # For each rule: how many distinct include keys it has (all of them are needed for ALL).
        self._needed: list[int] = []
        # key -> list of (rule index, is_exclude); one key can serve many rules.
        outputs: dict[MatchMode, dict[str, list[tuple[int, bool]]]] = {}
        seen_ids: set[int] = set()
        for rule in rules:
            if rule.segment_id in seen_ids:
                raise MatcherError(f"segment {rule.segment_id}: defined twice")
            seen_ids.add(rule.segment_id)
            if not rule.patterns:
                raise MatcherError(f"segment {rule.segment_id}: patterns is empty; give at least one")
            index = len(self._rules)
            self._rules.append(rule)
            by_key = outputs.setdefault(rule.mode, {})
            include_keys = set()
            for pattern, is_exclude in [(p, False) for p in rule.patterns] + [
                (p, True) for p in rule.exclude
            ]:
                key = _key(pattern, rule.mode)
                if not key.strip():
                    raise MatcherError(
                        f"segment {rule.segment_id}: pattern {pattern!r} has nothing to match "
                        f"in {rule.mode.value} mode (no letters or digits)"
                    )
                entry = (index, is_exclude)
                targets = by_key.setdefault(key, [])
                if entry not in targets:
                    targets.append(entry)
                if not is_exclude:
                    include_keys.add(key)
            self._needed.append(len(include_keys))
        # Token mode: each pattern's tokens joined by one space -> its output; each shorter
        # prefix of a pattern -> None (walk on), unless it is a pattern itself.
        self._phrases: dict[str, _Output | None] = {}
        for key, targets in outputs.get(MatchMode.TOKEN, {}).items():
            words = key.split()
            for n in range(1, len(words)):
                self._phrases.setdefault(" ".join(words[:n]), None)
            self._phrases[" ".join(words)] = self._output(key, targets)
        self._substrings: ahocorasick.Automaton | None = None
        if MatchMode.SUBSTRING in outputs:
            automaton = ahocorasick.Automaton()
            for key, targets in outputs[MatchMode.SUBSTRING].items():
                automaton.add_word(_bytes(key), self._output(key, targets))
            automaton.make_automaton()
            self._substrings = automaton
        self._memo: dict[str, tuple[int, ...]] = {}

    def _output(self, key: str, targets: list[tuple[int, bool]]) -> _Output:
        # Most rules are "any pattern, nothing excluded": a hit makes them members, so their
        # segment ids go into the line's set in one C call per hit instead of a Python step per
        # rule (at 10,000 segments a hit serves ~2.4 rules; matching took 12-14 % less time at
        # 4,000 and 10,000). The other rules are judged after the scan.
        simple: list[int] = []
        judged: list[tuple[int, bool]] = []
        for index, is_exclude in targets:
            rule = self._rules[index]
            if rule.require is Require.ANY and not rule.exclude:
                simple.append(rule.segment_id)
            else:
                judged.append((index, is_exclude))
        return key, tuple(simple), tuple(judged)

    def __getstate__(self) -> dict[str, object]:
        return {name: value for name, value in self.__dict__.items() if name != "_memo"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._memo = {}

    def __len__(self) -> int:
        return len(self._rules)

    def match(self, line: str) -> list[int]:
        """Segment ids whose rule the line satisfies, in ascending order."""
        return list(self.segments(line))

    def segments(self, line: str) -> tuple[int, ...]:
        """:meth:`match` as a tuple, shared with the matcher's memory (no copy per call)."""
        memo = self._memo
        found = memo.get(line)
        if found is None:
            found = self._scan(line)
            if len(memo) >= MEMO_LINES:
                memo.clear()
            memo[line] = found
        return found

    def _scan(self, line: str) -> tuple[int, ...]:
        normalized = normalize(line)  # once per line, whatever the number of modes
        hits: list[_Output] = []
        phrases = self._phrases
        if phrases:
            words = _TOKEN.findall(normalized)
            last = len(words)
            for start, word in enumerate(words):
                # Walk the trie from this token while the tokens so far begin some pattern.
                run, end = word, start + 1
                output = phrases.get(run, _ABSENT)
                while output is not _ABSENT:
                    if output is not None:
                        hits.append(output)
                    if end == last:
                        break
                    run = run + " " + words[end]
                    end += 1
                    output = phrases.get(run, _ABSENT)
        if self._substrings is not None:
            text = _bytes(_haystack(normalized, MatchMode.SUBSTRING))
            hits.extend(output for _end, output in self._substrings.iter(text))
        if not hits:
            return ()
        members: set[int] = set()
        found: dict[int, set[str]] = {}  # judged rules: index -> include keys found
        excluded: set[int] = set()
        for key, simple, judged in hits:
            if simple:
                members.update(simple)
            for index, is_exclude in judged:
                if is_exclude:
                    excluded.add(index)
                else:
                    found.setdefault(index, set()).add(key)
        for index, keys in found.items():
            if index in excluded:
                continue
            rule = self._rules[index]
            if rule.require is Require.ALL and len(keys) < self._needed[index]:
                continue
            members.add(rule.segment_id)
        return tuple(sorted(members))

    def match_many(self, lines: Sequence[str]) -> list[list[int]]:
        """:meth:`match` for each line (the batch entry point of the Arrow/UDTF adapters)."""
        return [self.match(line) for line in lines]
