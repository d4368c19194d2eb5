"""Window pieces: the cover of a range of days and the stale windows of a day."""

from __future__ import annotations

import datetime as dt
import functools

from hypothesis import example, given, settings
from hypothesis import strategies as st

from adtarget.segments.windows import BUCKETS, SPANS, Piece, affected, bucket, cover

D0 = dt.date(2026, 1, 1)


def day(i: int) -> dt.date:
    return D0 + dt.timedelta(days=i)


def days(first: int, last: int) -> set[dt.date]:
    return {day(i) for i in range(first, last + 1)}


def test_without_windows_every_built_day_is_its_own_piece_newest_first() -> None:
    built = days(0, 9) - {day(4)}
    assert cover(day(2), day(6), built, set()) == [Piece(1, day(i)) for i in (6, 5, 3, 2)]


def test_a_window_of_the_exact_range_is_one_piece() -> None:
    windows = {Piece(30, day(40)), Piece(7, day(40)), Piece(14, day(40))}
    assert cover(day(11), day(40), days(0, 40), windows) == [Piece(30, day(40))]


def test_windows_may_overlap_each_other_but_never_reach_outside() -> None:
    windows = {Piece(7, day(20)), Piece(7, day(17)), Piece(14, day(22))}
    # 10 days 11..20: two overlapping 7-day windows; the 14-day window ends after the range.
    assert cover(day(11), day(20), days(0, 30), windows) == [Piece(7, day(20)), Piece(7, day(17))]


def test_a_window_ending_inside_the_range_serves_the_days_before_it() -> None:
    windows = {Piece(7, day(18))}
    assert cover(day(10), day(20), days(0, 30), windows) == [
        Piece(1, day(20)),
        Piece(1, day(19)),
        Piece(7, day(18)),
        Piece(1, day(11)),
        Piece(1, day(10)),
    ]


def test_affected_windows_are_those_whose_days_hold_the_day() -> None:
    found = affected(day(100), [day(100), day(106), day(107), day(189), day(190)])
    assert found == [
        *(Piece(s, day(100)) for s in SPANS),
        *(Piece(s, day(106)) for s in SPANS),
        *(Piece(s, day(107)) for s in SPANS if s > 7),
        Piece(90, day(189)),
    ]


def _fewest(first: int, last: int, built: set[dt.date], windows: set[Piece]) -> int:
    """Brute force: the fewest pieces covering the built days of first..last."""
    pieces = [Piece(1, d) for d in built] + list(windows)
    usable = [p for p in pieces if day(first) <= p.start and p.end <= day(last)]

    @functools.cache
    def need(j: int) -> float:  # pieces for the built days of first..j
        if j < first:
            return 0
        if day(j) not in built:
            return need(j - 1)
        return min(
            (need((p.start - D0).days - 1) + 1 for p in usable if p.start <= day(j) <= p.end),
            default=float("inf"),
        )

    return int(need(last))


@settings(max_examples=300, deadline=None)
# An unbuilt last day once drew a window ending on it over one ending the day before.
@example(first=40, length=95, holes={134}, windows={(7, 133), (7, 134)})
@given(
    first=st.integers(0, 60),
    length=st.integers(1, 95),
    holes=st.sets(st.integers(0, 160), max_size=20),
    windows=st.sets(st.tuples(st.sampled_from(SPANS), st.integers(0, 160)), max_size=40),
)
def test_the_cover_is_exactly_the_built_days_with_the_fewest_pieces(
    first: int, length: int, holes: set[int], windows: set[tuple[int, int]]
) -> None:
    last = first + length - 1
    built = days(0, 160) - {day(i) for i in holes}
    available = {Piece(s, day(e)) for s, e in windows}
    pieces = cover(day(first), day(last), built, available)
    covered = {d for p in pieces for d in p.days()}
    in_range = days(first, last)
    assert covered >= built & in_range
    assert covered <= in_range  # never a day outside the range
    assert all(p in available or (p.span == 1 and p.end in built) for p in pieces)
    assert len(pieces) == _fewest(first, last, built, available)


def test_a_value_s_bucket_is_crc32_of_its_utf8_bytes_and_never_changes() -> None:
    # Stored rows live in these buckets: a different function would hide every stored window.
    assert [bucket(v) for v in ("all", "nike", "운동화", "")] == [13, 8, 10, 0]
    assert BUCKETS == 16


def test_many_values_spread_over_every_bucket() -> None:
    counts = [0] * BUCKETS
    for i in range(1_600):
        counts[bucket(f"keyword-{i}")] += 1
    assert min(counts) > 60
    assert max(counts) < 140
