"""Match one log line against thousands of segments at once (Aho-Corasick, pure Python).

Each segment is a :class:`SegmentRule`: patterns (keywords, phrases, ids) to find in a line,
how to find them (whole tokens or substrings), whether any or all must be present, and
patterns that must be absent. :class:`SegmentMatcher` compiles every rule into one structure
per matching mode, so a line is scanned once however many segments there are; negation and
"all" are decided after the scan from the set of patterns found:

- substring patterns go into one Aho-Corasick automaton, searched over the line's UTF-8 bytes;
- whole-token patterns go into a trie of tokens (token sequences and their prefixes, by
  depth), walked from each token of the line. It is the automaton's trie over an alphabet of
  tokens; failure links are not needed, as a match can only start at a token.

Many lines at once (the Arrow batch path, :func:`batch_shapes`): the batch
adapter scans all the lines' substring haystacks as one text, with one automaton pass, looks
their tokens up in the patterns' vocabulary with one Arrow hash lookup, and walks on to longer
runs of tokens by integer search in the token trie's levels (``adtarget.match_udtf``).

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

No Spark here (numpy and pyarrow, imported when a matcher is built): the UDTF and batch paths
are thin adapters that ship one matcher, compiled on the driver, to every worker.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple, NoReturn

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
_LAZY = ("_memo", "_lines")


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
    the runs of :attr:`SegmentMatcher.levels`. ``substring haystacks`` (if asked for):
    each line as substring patterns are searched in it, then a newline, which no pattern holds:
    joined into one text and taken as UTF-8 bytes, they are what
    :attr:`SegmentMatcher.substring_automaton` scans, and no pattern is found across two lines.
    """
    normalized = list(map(normalize, lines))
    token_shapes = _shapes(normalized, MatchMode.TOKEN) if tokens else None
    substring_shapes = _shapes(normalized, MatchMode.SUBSTRING, "\n") if substrings else None
    return token_shapes, substring_shapes


def _shapes(normalized: list[str], mode: MatchMode, end: str = "") -> list[str]:
    """Normalised texts shaped as ``mode`` searches them, as :func:`_haystack` does but with
    token mode unframed, each followed by ``end``: for many lines or patterns at once
    (calling _haystack per line took 45 % longer, 2026-12-02). Per line, not as one text: one
    NFKC and case fold of a batch's lines joined by newlines, then one regex substitution per
    shape, took 0.158-0.178 s against 0.142-0.176 s for 136,305 distinct lines (2026-12-03)."""
    if mode is MatchMode.TOKEN:
        findall = _TOKEN.findall
        return [" ".join(findall(n)) + end for n in normalized]
    return [" ".join(n.split()) + end for n in normalized]


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

    def __len__(self) -> int:
        """The number of judged rules."""
        return len(self._rules)

    def patterns(self) -> list[int]:
        """The numbers of the patterns of judged rules."""
        return list(self._patterns)

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

    Matching has two steps: finding the patterns of lines, then :meth:`members` turns found
    patterns into segments. The compiled form is columnar, for the batch adapter
    (``adtarget.match_udtf``), which scans many lines at once (see :func:`batch_shapes`) and
    turns their patterns into segments with array operations. Patterns are numbered, whole-token
    ones first, and:

    - :attr:`ids`: the segment ids, ascending; a segment's *rank* is its place here.
    - :attr:`sizes`, :attr:`starts`, :attr:`ranks`: for each pattern number, the ranks of the
      segments it makes members outright are ``ranks[starts[n]:starts[n] + sizes[n]]``,
      ascending. These are the rules of most segments: any pattern, nothing excluded.
    - :attr:`judged`, :attr:`judge`: the other rules (all patterns needed, or exclusions) are
      judged from the set of patterns found; ``judged[n]`` says whether pattern ``n`` has any.
    - :attr:`vocabulary`, :attr:`levels`: the token trie by depth, in integers, see
      :func:`_levels`.
    - :attr:`substring_automaton`: the substring patterns.

    Line by line, :meth:`match` walks the same trie and reads the same arrays, as Python dicts
    and tuples made on the first line matched.
    """

    def __init__(self, rules: Iterable[SegmentRule]) -> None:
        self._build(list(rules))
        self._memo: dict[str, tuple[int, ...]] = {}
        self._lines: _LineTables | None = None

    def _build(self, rules: list[SegmentRule]) -> None:
        """Compile into arrays, with C-level loops (pandas' factorize, numpy, Arrow) where a
        pattern's Python step used to be: at 10,000 segments (100,000 patterns, 58,643 distinct)
        the driver's compile, pickling included, takes 0.25 s where a loop per pattern and then
        a batch plan made from its output took 0.62 s (medians of 4, same host and hour,
        2026-12-02); later that evening the build alone took 0.10-0.20 s and pickling 0.02-0.03 s
        (mins of 7, at several times)."""
        import numpy as np

        seen: set[int] = set()
        simple: dict[MatchMode, list[SegmentRule]] = {mode: [] for mode in MatchMode}
        judged: dict[MatchMode, list[tuple[int, SegmentRule]]] = {mode: [] for mode in MatchMode}
        for index, rule in enumerate(rules):
            if rule.segment_id in seen:
                raise MatcherError(f"segment {rule.segment_id}: defined twice")
            seen.add(rule.segment_id)
            if not rule.patterns:
                raise MatcherError(f"segment {rule.segment_id}: patterns is empty; give at least one")
            if rule.require is Require.ANY and not rule.exclude:
                simple[rule.mode].append(rule)
            else:
                judged[rule.mode].append((index, rule))
        self.ids = np.array(sorted(seen), np.int64)

        # Per mode, every pattern as written, one entry per rule and pattern: the simple rules'
        # first, then the judged rules' includes and excludes, in the order of the loop below.
        numbers, segments = [], []
        first = 0
        keys: dict[MatchMode, list[str]] = {}
        judged_numbers: dict[MatchMode, list[int]] = {}
        for mode in MatchMode:
            written = [p for rule in simple[mode] for p in rule.patterns]
            simple_entries = len(written)
            written += [p for _index, rule in judged[mode] for p in (*rule.patterns, *rule.exclude)]
            numbered, keys[mode] = _numbered(written, mode, first)
            if "" in keys[mode]:
                _refuse(simple[mode], [rule for _index, rule in judged[mode]], mode)
            numbers.append(numbered[:simple_entries])
            segments.append(
                np.repeat(
                    np.array([r.segment_id for r in simple[mode]], np.int64),
                    np.array([len(r.patterns) for r in simple[mode]], np.int64),
                )
            )
            judged_numbers[mode] = numbered[simple_entries:].tolist()
            first += len(keys[mode])

        # Pattern -> the segments it makes members outright: distinct (pattern, rank) pairs, in
        # order, so that each pattern's ranks are ascending, and so are its segment ids.
        width = max(len(self.ids), 1)
        ranks = np.searchsorted(self.ids, np.concatenate(segments))
        pairs = np.sort(np.concatenate(numbers) * width + ranks)  # np.unique: 4x the time
        if len(pairs) > 1:  # a rule's patterns that are equal once shaped: one pair
            pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])]
        pattern, self.ranks = np.divmod(pairs, width)
        self.sizes = np.bincount(pattern, minlength=first)
        self.starts = np.cumsum(self.sizes) - self.sizes

        self.judge = _judge(judged, judged_numbers)
        self.judged = np.zeros(first, bool)
        self.judged[self.judge.patterns()] = True

        self.vocabulary, self.levels = _levels(keys[MatchMode.TOKEN])
        self._substrings: ahocorasick.Automaton | None = None
        if keys[MatchMode.SUBSTRING]:
            # Keys go in by number (first appearance in the rules). pyahocorasick finds a node's
            # child by a linear scan in insertion order; sorted, reverse sorted, shuffled and
            # byte-frequency orders all scanned the benchmark's lines slower at 10,000 segments
            # (0.101-0.116 s against 0.084 s, 2026-12-03).
            automaton = ahocorasick.Automaton()
            base = len(keys[MatchMode.TOKEN])
            for number, key in enumerate(keys[MatchMode.SUBSTRING], base):
                automaton.add_word(_bytes(key), number)
            automaton.make_automaton()
            self._substrings = automaton

    def __getstate__(self) -> dict[str, object]:
        return {name: value for name, value in self.__dict__.items() if name not in _LAZY}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._memo = {}
        self._lines = None

    def __len__(self) -> int:
        return len(self.ids)  # one segment per rule: a repeated id is refused

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

    def _tables(self) -> _LineTables:
        """What :meth:`match` reads, as Python objects: made from the arrays on the first line
        matched, so that a build for the batch path does not make them."""
        tables = self._lines
        if tables is None:
            trie: dict[str, int] = {}
            vocabulary = self.vocabulary.to_pylist() if self.levels else []
            texts = vocabulary  # the runs of a level as text, by place
            for depth, (runs, numbers, longer) in enumerate(self.levels):
                if depth:
                    node, token = divmod(runs, len(vocabulary))
                    pairs = zip(node.tolist(), token.tolist(), strict=True)
                    texts = [f"{texts[n]} {vocabulary[t]}" for n, t in pairs]
                for run, number, goes_on in zip(texts, numbers.tolist(), longer.tolist(), strict=True):
                    if number >= 0 or goes_on:
                        trie[run] = number if number >= 0 else _PREFIX
            ids = self.ids[self.ranks].tolist()
            outright = [
                tuple(ids[start : start + size])
                for start, size in zip(self.starts.tolist(), self.sizes.tolist(), strict=True)
            ]
            tables = self._lines = _LineTables(trie, outright, self.judged.tolist())
        return tables

    @property
    def substring_automaton(self) -> ahocorasick.Automaton | None:
        """The automaton of substring patterns over UTF-8 bytes (see :func:`_bytes`), whose values
        are pattern numbers; None when no rule is in substring mode."""
        return self._substrings

    def _find(self, line: str) -> list[int]:
        normalized = normalize(line)  # once per line, whatever the number of modes
        hits: list[int] = []
        phrases = self._tables().trie
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
        tables = self._tables()
        outright, judged = tables.outright, tables.judged
        if len(hits) == 1 and not judged[hits[0]]:
            return outright[hits[0]]  # one pattern, no rule to judge: no set to build
        members: set[int] = set()
        for number in hits:
            members.update(outright[number])
        if any(judged[number] for number in hits):
            members.update(self.judge.members(hits))
        return tuple(sorted(members))

    def match_many(self, lines: Sequence[str]) -> list[list[int]]:
        """:meth:`match` for each line, one after another."""
        return [self.match(line) for line in lines]


class _LineTables(NamedTuple):
    """The compiled matcher as :meth:`SegmentMatcher.match` reads it, line by line."""

    #: The token trie: each whole-token pattern's tokens joined by one space -> its number; each
    #: shorter run that begins a pattern, and is none itself -> _PREFIX (walk on).
    trie: dict[str, int]
    #: Per pattern number: the segment ids it makes members outright, ascending.
    outright: list[tuple[int, ...]]
    #: Per pattern number: whether rules are judged after the scan when it is found.
    judged: list[bool]


def _numbered(written: list[str], mode: MatchMode, first: int) -> tuple[Any, list[str]]:
    """``(numbers, keys)``: each pattern of ``written`` numbered from ``first`` by its key (the
    pattern shaped as ``mode`` searches lines, see :func:`_haystack`), and the keys by number.

    Segments share keywords: each distinct pattern as written is shaped once, and patterns
    written differently but equal once shaped share a number. An empty key is a pattern with
    nothing to match (the caller refuses it). Numbered by pandas' ``factorize`` over the Python
    strings, in the order first seen (Arrow's dictionary encoding would need valid UTF-8, and a
    pattern can hold a lone surrogate): at 10,000 segments 0.07-0.09 s for both modes, against
    0.10-0.11 s with dicts (min of 7, 2026-12-02).
    """
    import numpy as np
    import pandas as pd

    codes, distinct = pd.factorize(np.array(written, dtype=object))
    # normalize's ASCII case, inlined: most keywords are ASCII or Hangul, and a call per
    # pattern was a third of this loop's time.
    normalized = [p.lower() if p.isascii() else normalize(p) for p in distinct]
    shaped = _shapes(normalized, mode)  # token keys unframed: a key never has an edge space
    key_codes, keys = pd.factorize(np.array(shaped, dtype=object))
    return key_codes[codes].astype(np.int64) + first, list(keys)


def _judge(
    judged: dict[MatchMode, list[tuple[int, SegmentRule]]], numbers: dict[MatchMode, list[int]]
) -> Judge:
    """The :class:`Judge` of the ``judged`` rules (per mode, ``(index, rule)``), whose patterns,
    includes then excludes rule after rule, have the pattern ``numbers`` (per mode, in order)."""
    patterns: dict[int, list[tuple[int, bool]]] = {}
    rules: dict[int, tuple[int, int]] = {}
    for mode, judged_rules in judged.items():
        taken = iter(numbers[mode])
        for index, rule in judged_rules:
            include = {next(taken) for _ in rule.patterns}
            exclude = {next(taken) for _ in rule.exclude}
            for number, is_exclude in [(n, False) for n in include] + [(n, True) for n in exclude]:
                patterns.setdefault(number, []).append((index, is_exclude))
            rules[index] = (rule.segment_id, len(include) if rule.require is Require.ALL else 1)
    return Judge({n: tuple(j) for n, j in patterns.items()}, rules)


def _refuse(simple: list[SegmentRule], judged: list[SegmentRule], mode: MatchMode) -> NoReturn:
    """Raise for the first pattern of ``simple`` then ``judged`` (the order :func:`_numbered` was
    given them in) that has nothing to match in ``mode``."""
    entries = [(r, r.patterns) for r in simple] + [(r, (*r.patterns, *r.exclude)) for r in judged]
    for rule, patterns in entries:
        for pattern in patterns:
            if not _key(pattern, mode).strip():
                raise MatcherError(
                    f"segment {rule.segment_id}: pattern {pattern!r} has nothing to match "
                    f"in {mode.value} mode (no letters or digits)"
                )
    raise AssertionError("no pattern to refuse")  # pragma: no cover - the caller saw one


def _levels(keys: list[str]) -> tuple[Any, list[tuple[Any, Any, Any]]]:
    """``(vocabulary, levels)``: the token trie of whole-token patterns (``keys``: tokens joined
    by one space, numbered by position), by depth, in integers.

    The vocabulary holds every token of a pattern, as an Arrow string array; a token's number
    is its place there. Level k holds the runs of k + 1 tokens as ``(runs, numbers, longer)``:
    each run as an integer, ascending; its pattern number (-1: none); and whether it begins a
    longer pattern (numpy arrays). At level 0 a run is a token's number, every token of the
    vocabulary in order; deeper, the runs that are a pattern or begin one, a run being
    ``node * len(vocabulary) + token`` with ``node`` the place of its first k tokens in level
    k - 1. So a lookup past the first token is an integer search, with no string built.

    The one place that takes patterns apart into runs: the batch path looks runs up level by
    level, the line path walks them as one dict (see :meth:`SegmentMatcher._tables`).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not keys:
        return None, []
    lists = pc.split_pattern(pa.array(keys, pa.string()), " ")
    encoded = pc.dictionary_encode(lists.flatten())
    vocabulary = encoded.dictionary
    width = len(vocabulary)
    token = encoded.indices.to_numpy().astype(np.int64)
    lengths = pc.list_value_length(lists).to_numpy()
    first = np.cumsum(lengths) - lengths  # each key's first token in ``token``
    node = np.zeros(len(keys), np.int64)  # each key's run so far: its place in the last level
    levels = []
    for depth in range(int(lengths.max())):
        reach = np.flatnonzero(lengths > depth)
        if depth:
            runs, place = np.unique(node[reach] * width + token[first[reach] + depth], return_inverse=True)
        else:
            runs, place = np.arange(width, dtype=np.int64), token[first]
        ends = lengths[reach] == depth + 1
        numbers = np.full(len(runs), -1, np.int64)
        numbers[place[ends]] = reach[ends]  # distinct keys: at most one pattern per run
        longer = np.zeros(len(runs), bool)
        longer[place[~ends]] = True
        levels.append((runs, numbers, longer))
        node[reach] = place
    return vocabulary, levels
