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

Many lines at once (the Arrow batch path, :meth:`SegmentMatcher.corpora`): each mode's
haystacks of all the lines are joined into one text and scanned by one automaton over UTF-8
bytes, whole-token patterns too (framed by spaces, in a second automaton made on first use).

Why not one character automaton for both: pyahocorasick finds a node's child by a linear scan
of its children. With thousands of patterns the root has thousands of children (every first
syllable of a Korean keyword), and each character of a line paid a scan of them: the benchmark's
bare matcher took 2.4x as long at 10,000 segments as at 100; over bytes and tokens its time
was 1.1-1.2x shorter at 100 segments and 1.4-1.7x shorter from 1,000 up (runs of 2026-11-30).
Over UTF-8 bytes a node has at most a few dozen children, and a token costs one hash lookup per
pattern prefix it starts.

Text and patterns are normalised the same way: Unicode NFKC, then case folding, so that
full-width and half-width forms, composed and decomposed Hangul, and upper and lower case match
as a user expects. Tokens are runs of Unicode word characters (letters, digits, underscore).

No Spark here: the UDTF and batch paths are thin adapters that build one matcher per worker.
"""

from __future__ import annotations

import gc
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import ahocorasick

#: Lines whose segments a matcher remembers when it matches line by line (the UDTF's path; the
#: batch path matches each distinct line of a batch once, see ``SegmentMatcher.corpora``).
#: Search logs repeat their head queries: in the benchmark's million synthetic queries 36 % are
#: distinct. The memory is emptied when full (cheaper than an LRU's bookkeeping per line; the
#: head queries come back soon).
MEMO_LINES = 1 << 16

_TOKEN = re.compile(r"\w+")
#: In the token trie: a prefix of patterns, not one itself (walk on); not in the trie at all.
_PREFIX = -1
_ABSENT = -2
#: What a matcher makes for itself when first needed, and does not pickle: its memory of lines,
#: and the token automaton of :meth:`SegmentMatcher.corpora`.
_LAZY = ("_memo", "_token_automaton")
_BUILDING = threading.Lock()


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


class SegmentMatcher:
    """All rules compiled into one structure per mode; :meth:`match` gives a line's segments.

    Build it once per process (it is picklable, so Spark can ship it); matching a line costs one
    pass over the line per mode in use, plus the patterns found, unless the line was seen lately
    (see :data:`MEMO_LINES`).

    Matching has two steps, public for the batch adapter: finding the patterns of lines
    (numbered in :attr:`pattern_segments`; the adapter scans many lines at once, see
    :meth:`corpora`), then :meth:`members` turns found patterns into segments. Most rules are
    "any pattern, nothing excluded": a found pattern makes them members outright, and
    :attr:`pattern_segments` lists them per pattern, so a batch can expand many lines' patterns
    into segments with array operations. The other rules are judged from the set of patterns
    found (:attr:`judged_patterns`, :meth:`judged_members`).
    """

    def __init__(self, rules: Iterable[SegmentRule]) -> None:
        # The build makes a few hundred thousand small objects and frees none: the cyclic
        # collector's passes over them took a quarter of its time at 10,000 segments. Builds
        # take turns, so that the one that switched the collector off switches it back on.
        with _BUILDING:
            collecting = gc.isenabled()
            gc.disable()
            try:
                self._build(rules)
            finally:
                if collecting:
                    gc.enable()
        self._memo: dict[str, tuple[int, ...]] = {}
        self._token_automaton: ahocorasick.Automaton | None = None

    def _build(self, rules: Iterable[SegmentRule]) -> None:
        self._rules: list[SegmentRule] = []
        # For each rule: how many distinct include patterns it has (all are needed for ALL).
        self._needed: list[int] = []
        # Per mode: pattern as written -> pattern number. Segments share keywords: each distinct
        # pattern is normalised once (the benchmark's 10,000 segments have 100,000 patterns,
        # 58,643 of them distinct), and patterns written differently but equal once normalised
        # share a number (through ``ids``: normalised key -> number).
        numbered: dict[MatchMode, dict[str, int]] = {mode: {} for mode in MatchMode}
        ids: dict[str, int] = {}
        keys: list[tuple[MatchMode, str]] = []
        simple: list[list[int]] = []  # pattern -> segment ids it makes members outright
        judged: list[list[tuple[int, bool]]] = []  # pattern -> (rule index, is it an exclusion)
        seen_ids: set[int] = set()

        def number_of(pattern: str, rule: SegmentRule) -> int:
            key = _key(pattern, rule.mode)
            if not key.strip():
                raise MatcherError(
                    f"segment {rule.segment_id}: pattern {pattern!r} has nothing to match "
                    f"in {rule.mode.value} mode (no letters or digits)"
                )
            # One dict for both modes: a key's shape tells its mode (token keys are framed by
            # spaces, substring keys are stripped).
            number = ids.get(key)
            if number is None:
                number = ids[key] = len(keys)
                keys.append((rule.mode, key))
                simple.append([])
                judged.append([])
            numbered[rule.mode][pattern] = number
            return number

        for rule in rules:
            segment_id = rule.segment_id
            if segment_id in seen_ids:
                raise MatcherError(f"segment {segment_id}: defined twice")
            seen_ids.add(segment_id)
            if not rule.patterns:
                raise MatcherError(f"segment {segment_id}: patterns is empty; give at least one")
            index = len(self._rules)
            self._rules.append(rule)
            numbers = numbered[rule.mode]
            if rule.require is Require.ANY and not rule.exclude:
                # Most rules: any pattern found makes the line's user a member outright.
                for pattern in rule.patterns:
                    number = numbers.get(pattern)
                    if number is None:
                        number = number_of(pattern, rule)
                    targets = simple[number]
                    # A rule's patterns are added one after another: a repeat is the last entry.
                    if not targets or targets[-1] != segment_id:
                        targets.append(segment_id)
                self._needed.append(0)
                continue
            include: set[int] = set()
            for pattern, is_exclude in [(p, False) for p in rule.patterns] + [
                (p, True) for p in rule.exclude
            ]:
                number = numbers.get(pattern)
                if number is None:
                    number = number_of(pattern, rule)
                entry = (index, is_exclude)
                if entry not in judged[number]:
                    judged[number].append(entry)
                if not is_exclude:
                    include.add(number)
            self._needed.append(len(include))
        #: Per pattern number: the segments it makes members outright, ascending.
        self.pattern_segments: list[tuple[int, ...]] = [tuple(sorted(t)) for t in simple]
        self._judged: list[tuple[tuple[int, bool], ...]] = [tuple(j) for j in judged]
        #: Per pattern number: whether rules are judged after the scan when it is found.
        self.judged_patterns: list[bool] = [bool(j) for j in judged]
        # Token mode: each pattern's tokens joined by one space -> its number; each shorter
        # prefix of a pattern -> _PREFIX (walk on), unless it is a pattern itself.
        self._phrases: dict[str, int] = {}
        automaton = ahocorasick.Automaton()
        for number, (mode, key) in enumerate(keys):
            if mode is MatchMode.TOKEN:
                phrase = key[1:-1]  # the tokens, joined by one space
                if " " in phrase:
                    words = phrase.split(" ")
                    for n in range(1, len(words)):
                        self._phrases.setdefault(" ".join(words[:n]), _PREFIX)
                self._phrases[phrase] = number
            else:
                automaton.add_word(_bytes(key), number)
        self._substrings: ahocorasick.Automaton | None = None
        if len(automaton):
            automaton.make_automaton()
            self._substrings = automaton

    def __getstate__(self) -> dict[str, object]:
        return {name: value for name, value in self.__dict__.items() if name not in _LAZY}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._memo = {}
        self._token_automaton = None

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def rules(self) -> tuple[SegmentRule, ...]:
        """The rules, in the order given."""
        return tuple(self._rules)

    def match(self, line: str) -> list[int]:
        """Segment ids whose rule the line satisfies, in ascending order."""
        return list(self.segments(line))

    def segments(self, line: str) -> tuple[int, ...]:
        """:meth:`match` as a tuple, shared with the matcher's memory (no copy per call)."""
        memo = self._memo
        found = memo.get(line)
        if found is None:
            found = self.members(self._find(line))
            if len(memo) >= MEMO_LINES:
                memo.clear()
            memo[line] = found
        return found

    def corpora(self, lines: Sequence[str]) -> list[tuple[ahocorasick.Automaton, list[str]]]:
        """``lines`` shaped for one automaton pass per matching mode in use, over all of them.

        Each entry is ``(automaton, haystacks)``, one haystack per line. Joined into one text
        and taken as UTF-8 bytes, one character per byte (see :func:`_bytes`), they are what
        ``automaton.iter`` scans: it gives ``(end, pattern)``, the pattern being in the line
        whose bytes hold ``end``. No pattern is found across two lines: token haystacks are
        framed by spaces, so two lines meet at two spaces, which no key holds; substring
        haystacks end with a newline, which no key holds either.

        Scanning a batch of lines as one text costs one Python step per pattern found instead of
        several per line and token: on the benchmark's lines, 25-40 % less time in the batch
        adapter than :meth:`segments` line by line (2026-12-02). Line by line, the token trie is
        the faster (by 15 %), so :meth:`segments` keeps it, and the token automaton over bytes
        is built on the first call here.
        """
        normalized = list(map(normalize, lines))
        found: list[tuple[ahocorasick.Automaton, list[str]]] = []
        if self._phrases:
            automaton = self._token_automaton
            if automaton is None:
                automaton = self._token_automaton = ahocorasick.Automaton()
                for phrase, number in self._phrases.items():
                    if number >= 0:
                        automaton.add_word(_bytes(f" {phrase} "), number)
                automaton.make_automaton()
            # _haystack's shapes, inlined (calling it per line took 45 % longer on the benchmark's
            # lines), then a newline after each substring haystack.
            findall = _TOKEN.findall
            found.append((automaton, [" " + " ".join(findall(n)) + " " for n in normalized]))
        if self._substrings is not None:
            found.append((self._substrings, [" ".join(n.split()) + "\n" for n in normalized]))
        return found

    def _find(self, line: str) -> list[int]:
        normalized = normalize(line)  # once per line, whatever the number of modes
        hits: list[int] = []
        phrases = self._phrases
        if phrases:
            words = _TOKEN.findall(normalized)
            last = len(words)
            for start, word in enumerate(words):
                # Walk the trie from this token while the tokens so far begin some pattern.
                run, end = word, start + 1
                number = phrases.get(run, _ABSENT)
                while number != _ABSENT:
                    if number >= 0:
                        hits.append(number)
                    if end == last:
                        break
                    run = run + " " + words[end]
                    end += 1
                    number = phrases.get(run, _ABSENT)
        if self._substrings is not None:
            text = " ".join(normalized.split())  # _haystack's substring shape, inlined: per line
            if not text.isascii():
                text = _bytes(text)
            hits += [number for _end, number in self._substrings.iter(text)]
        return hits

    def members(self, hits: Sequence[int]) -> tuple[int, ...]:
        """The segments (ascending) of a line in which the patterns ``hits`` were found."""
        if not hits:
            return ()
        simple, judged = self.pattern_segments, self._judged
        if len(hits) == 1 and not judged[hits[0]]:
            return simple[hits[0]]  # one pattern, no rule to judge: no set to build
        members: set[int] = set()
        for number in hits:
            members.update(simple[number])
        if any(judged[number] for number in hits):
            members.update(self.judged_members(hits))
        return tuple(sorted(members))

    def judged_members(self, hits: Sequence[int]) -> set[int]:
        """The segments of the rules judged after the scan (all patterns needed, or exclusions)
        that a line with the patterns ``hits`` satisfies."""
        found: dict[int, set[int]] = {}  # rule index -> include patterns found
        excluded: set[int] = set()
        for number in hits:
            for index, is_exclude in self._judged[number]:
                if is_exclude:
                    excluded.add(index)
                else:
                    found.setdefault(index, set()).add(number)
        members: set[int] = set()
        for index, numbers in found.items():
            if index in excluded:
                continue
            rule = self._rules[index]
            if rule.require is Require.ALL and len(numbers) < self._needed[index]:
                continue
            members.add(rule.segment_id)
        return members

    def match_many(self, lines: Sequence[str]) -> list[list[int]]:
        """:meth:`match` for each line, one after another."""
        return [self.match(line) for line in lines]
