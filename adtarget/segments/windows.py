"""Window sketches: the union of a value's daily sketches over its last N days, kept ready.

An estimate over ``days`` = 30 would otherwise union 30 daily sketches per value (3,000 for a
100-keyword template). The daily sketch build also keeps, for each day, the union over the
trailing :data:`SPANS` ending on it, so a window is a few stored sketches whatever its length.

A window is covered by *pieces*: a daily sketch (span 1) or a window sketch (span N ending on
some day). Theta unions are idempotent (a user counted twice is one user), so pieces may
overlap each other; they may never reach outside the window. :func:`cover` picks the fewest
pieces among those that exist (an interval cover, greedy from the newest day: optimal).

A window piece exists for a day and span when its marker, the window of ``('user', 'all')``,
does; it holds a row for every value with at least :data:`MIN_USERS` users in the window.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass

#: The trailing windows kept for every day (days): the template defaults and the usual booking
#: windows are one piece each; any other length of 1..90 days takes at most a few pieces.
SPANS = (7, 14, 30, 60, 90)

#: The longest window a template may ask for (the ``days`` param's maximum).
LONGEST = max(SPANS)

#: Window sketches are kept only for values with at least this many users in the window: the
#: long tail (most keywords have a handful of users) would multiply the rows written every day,
#: and its few small daily sketches are cheap to read. An estimate reads the dailies of a value
#: that has no window row.
MIN_USERS = 256

#: Window sketches of one (kind, span, end) are stored in this many Cassandra partitions: an
#: estimate of 100 values reads at most this many partitions instead of 100 (a read costs per
#: partition far more than per byte), and a partition stays a few MB at most.
BUCKETS = 16


def bucket(value: str) -> int:
    """The bucket of a value's window sketches: crc32 of its UTF-8 bytes, mod :data:`BUCKETS`."""
    return zlib.crc32(value.encode()) % BUCKETS


@dataclass(frozen=True, order=True)
class Piece:
    """The union of the daily sketches of ``end - span + 1 .. end`` (span 1: the daily sketch)."""

    span: int
    end: dt.date

    @property
    def start(self) -> dt.date:
        return self.end - dt.timedelta(days=self.span - 1)

    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.span)]


def cover(
    first: dt.date,
    last: dt.date,
    built: Collection[dt.date],
    windows: Collection[Piece],
) -> list[Piece]:
    """The fewest pieces whose union is every built day of ``first..last``.

    ``built``: days whose daily sketches exist; ``windows``: the window pieces that exist (and
    are current). A day of the range that was never built is left out (it has no users to add).
    """
    by_end: dict[dt.date, list[int]] = {}
    for piece in windows:
        by_end.setdefault(piece.end, []).append(piece.span)
    pieces: list[Piece] = []
    day = last
    while day >= first:
        if day not in built:
            # Nothing to cover on a day never built. Choosing a window here would be choosing for
            # the wrong day: one that covers this day can reach less far back than one that
            # covers the built day before it (found by the property test: (7, d) was taken over
            # (7, d - 1) for an unbuilt day d, and one piece more was needed further back).
            day -= dt.timedelta(days=1)
            continue
        best: Piece | None = None
        # A window ending on or after ``day`` (not after ``last``) that starts no earlier than
        # ``first`` covers ``day``; the one reaching furthest back leaves the least to cover.
        for end in _days(day, min(last, day + dt.timedelta(days=LONGEST - 1))):
            for span in by_end.get(end, ()):
                piece = Piece(span, end)
                if piece.start >= first and piece.start < day and (best is None or piece.start < best.start):
                    best = piece
        if best is not None:
            pieces.append(best)
            day = best.start - dt.timedelta(days=1)
            continue
        pieces.append(Piece(1, day))
        day -= dt.timedelta(days=1)
    return pieces


def _days(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def affected(day: dt.date, ends: Iterable[dt.date]) -> list[Piece]:
    """The window pieces ending on ``ends`` whose union includes ``day`` (so a change of that
    day's sketches makes them stale), oldest end first."""
    return sorted(
        (Piece(span, end) for end in ends for span in SPANS if Piece(span, end).start <= day <= end),
        key=lambda p: (p.end, p.span),
    )
