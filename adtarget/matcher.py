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

Many lines at once (the Arrow batch path, :func:`batch_shapes`): the batch
adapter scans all the lines' substring haystacks as one text, with one automaton pass, and looks
their tokens up in the token trie's levels with Arrow's hash lookups (``adtarget.match_udtf``).

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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

import ahocorasick

#: Lines whose segments a matcher remembers when it matches line by line (the UDTF's path; the
#: batch path matches each distinct line of a batch once, see :func:`batch_shapes`).
#: Search logs repeat their head queries: in the benchmark's million synthetic queries 36 % are
#: distinct. The memory is emptied when full (cheaper than an LRU's bookkeeping per line; the
#: head queries come back soon).
MEMO_LINES = 1 << 16

_TOKEN = re.compile(r"\w+")
#: In the token trie: a prefix of patterns, not one itself (walk on); not in the trie at all.
_PREFIX = -1
_ABSENT = -2
#: What a matcher makes for itself as it matches, and does not pickle: its memory of lines, and
#: the token trie it walks (see ``SegmentMatcher._phrases``).
_LAZY = ("_memo", "_trie")
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


def batch_shapes(
    lines: Sequence[str], *, tokens: bool, substrings: bool
) -> tuple[list[str] | None, list[str] | None]:
    """``(tokens, substring haystacks)`` of ``lines``, shaped for matching many lines at once.

    ``tokens`` (if asked for): each line's normalised tokens joined by one space, for lookups of
    the runs of :meth:`SegmentMatcher.token_trie`. ``substring haystacks`` (if asked for):
    each line as substring patterns are searched in it, then a newline, which no pattern holds:
    joined into one text and taken as UTF-8 bytes, they are what
    :attr:`SegmentMatcher.substring_automaton` scans, and no pattern is found across two lines.
    """
    normalized = list(map(normalize, lines))
    token_shapes = None
    if tokens:
        findall = _TOKEN.findall
        token_shapes = [" ".join(findall(n)) for n in normalized]
    substring_shapes = None
    if substrings:
        # _haystack's shape, inlined: calling it per line took 45 % longer (2026-12-02).
        substring_shapes = [" ".join(n.split()) + "\n" for n in normalized]
    return token_shapes, substring_shapes


class Judge:
    """The rules decided after the scan, from the set of patterns a line holds: rules that need
    all their patterns, and rules with exclusions.

    Its own small object, so that the batch path ships it without the rest of the matcher.
    """

    def __init__(
        self, patterns: dict[int, tuple[tuple[int, bool], ...]], rules: dict[int, tuple[int, int]]
    ) -> None:
        # Pattern number -> (rule index, is it an exclusion), for the patterns of judged rules.
        self._patterns = patterns
        # Rule index -> (segment id, how many distinct include patterns must be found).
        self._rules = rules

    def members(self, hits: Iterable[int]) -> set[int]:
        """The segments of the judged rules that a line with the patterns ``hits`` satisfies."""
        found: dict[int, set[int]] = {}  # rule index -> include patterns found
        excluded: set[int] = set()
        for number in hits:
            for index, is_exclude in self._patterns.get(number, ()):
                if is_exclude:
                    excluded.add(index)
                else:
                    found.setdefault(index, set()).add(number)
        members: set[int] = set()
        for index, numbers in found.items():
            segment_id, needed = self._rules[index]
            if index not in excluded and len(numbers) >= needed:
                members.add(segment_id)
        return members


class SegmentMatcher:
    """All rules compiled into one structure per mode; :meth:`match` gives a line's segments.

    Build it once per process (it is picklable, so Spark can ship it); matching a line costs one
    pass over the line per mode in use, plus the patterns found, unless the line was seen lately
    (see :data:`MEMO_LINES`).

    Matching has two steps, public for the batch adapter: finding the patterns of lines
    (numbered in :attr:`pattern_segments`; the adapter scans many lines at once, see
    :func:`batch_shapes`), then :meth:`members` turns found patterns into segments. Most rules are
    "any pattern, nothing excluded": a found pattern makes them members outright, and
    :attr:`pattern_segments` lists them per pattern, so a batch can expand many lines' patterns
    into segments with array operations. The other rules are judged from the set of patterns
    found (:attr:`judged_patterns`, :attr:`judge`).
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

    def _build(self, rules: Iterable[SegmentRule]) -> None:
        self._rules: list[SegmentRule] = []
        # Rules judged after the scan, by index: (segment id, distinct include patterns it needs
        # found: all of them for ALL, one for ANY).
        judged_rules: dict[int, tuple[int, int]] = {}
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
            judged_rules[index] = (segment_id, len(include) if rule.require is Require.ALL else 1)
        #: Per pattern number: the segments it makes members outright, ascending.
        self.pattern_segments: list[tuple[int, ...]] = [tuple(sorted(t)) for t in simple]
        #: The rules judged after the scan (all patterns needed, or exclusions).
        self.judge = Judge({n: tuple(j) for n, j in enumerate(judged) if j}, judged_rules)
        #: Per pattern number: whether rules are judged after the scan when it is found.
        self.judged_patterns: list[bool] = [bool(j) for j in judged]
        # Token mode: each pattern's tokens joined by one space -> its number.
        self._token_keys: dict[str, int] = {}
        automaton = ahocorasick.Automaton()
        for number, (mode, key) in enumerate(keys):
            if mode is MatchMode.TOKEN:
                self._token_keys[key[1:-1]] = number
            else:
                automaton.add_word(_bytes(key), number)
        self._trie: dict[str, int] | None = None  # made on first use: see _phrases
        self._substrings: ahocorasick.Automaton | None = None
        if len(automaton):
            automaton.make_automaton()
            self._substrings = automaton

    def __getstate__(self) -> dict[str, object]:
        return {name: value for name, value in self.__dict__.items() if name not in _LAZY}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._memo = {}
        self._trie = None

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

    def token_trie(self) -> Iterator[tuple[str, int, int]]:
        """The entries of the token trie, as ``(run, depth, number)``: a run of ``depth + 1``
        tokens joined by one space. For each whole-token pattern, each shorter run that begins
        it, with number -1, then the pattern, with its number. A run can come more than once,
        and be a pattern too. (The one place that takes patterns apart into runs: the line path
        walks them as one dict, the batch path by levels.)"""
        for phrase, number in self._token_keys.items():
            words = phrase.split(" ")
            for n in range(1, len(words)):
                yield " ".join(words[:n]), n - 1, _PREFIX
            yield phrase, len(words) - 1, number

    def _phrases(self) -> dict[str, int]:
        """The token trie that :meth:`match` walks: each pattern's tokens joined by one space ->
        its number; each shorter run that begins a pattern -> _PREFIX (walk on), unless it is a
        pattern itself. Made on the first line matched: the batch path walks the same trie by
        levels (``adtarget.match_udtf``), and a build for it need not make this one."""
        trie = self._trie
        if trie is None:
            trie = {}
            for run, _depth, number in self.token_trie():
                if number == _PREFIX:
                    trie.setdefault(run, _PREFIX)
                else:
                    trie[run] = number
            self._trie = trie
        return trie

    @property
    def substring_automaton(self) -> ahocorasick.Automaton | None:
        """The automaton of substring patterns over UTF-8 bytes (see :func:`_bytes`), whose values
        are pattern numbers; None when no rule is in substring mode."""
        return self._substrings

    def _find(self, line: str) -> list[int]:
        normalized = normalize(line)  # once per line, whatever the number of modes
        hits: list[int] = []
        phrases = self._phrases()
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
        simple, judged = self.pattern_segments, self.judged_patterns
        if len(hits) == 1 and not judged[hits[0]]:
            return simple[hits[0]]  # one pattern, no rule to judge: no set to build
        members: set[int] = set()
        for number in hits:
            members.update(simple[number])
        if any(judged[number] for number in hits):
            members.update(self.judge.members(hits))
        return tuple(sorted(members))

    def match_many(self, lines: Sequence[str]) -> list[list[int]]:
        """:meth:`match` for each line, one after another."""
        return [self.match(line) for line in lines]
