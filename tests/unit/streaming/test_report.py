"""The report's arithmetic against a brute-force count."""

from __future__ import annotations

import random
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from streaming.events import AdEvent
from streaming.report import WINDOW_MS, Report, Totals, WindowKey, is_late, window_of

T0 = 1_795_000_000_000 - 1_795_000_000_000 % WINDOW_MS


def _event(i: int, time_ms: int, kind: str = "click", campaign: int = 1, creative: int = 2) -> AdEvent:
    return AdEvent(f"e{i}", time_ms, kind, campaign, creative, 0, str(uuid.UUID(int=i)), 0.5)  # type: ignore[arg-type]


def test_windows_are_minutes() -> None:
    assert window_of(T0) == T0
    assert window_of(T0 + WINDOW_MS - 1) == T0
    assert window_of(T0 + WINDOW_MS) == T0 + WINDOW_MS


def test_lateness_is_measured_from_the_end_of_the_window() -> None:
    assert not is_late(T0, T0 + WINDOW_MS + 29_999, 30_000)
    assert is_late(T0, T0 + WINDOW_MS + 30_000, 30_000)


def test_duplicates_count_once_and_late_events_are_counted_as_late() -> None:
    report = Report(allowed_lateness_ms=10_000)
    assert report.add(_event(1, T0 + 5)) == WindowKey(T0, 1, 2)
    assert report.add(_event(1, T0 + 5)) is None  # the same event again
    report.add(_event(2, T0 + 3 * WINDOW_MS, kind="impression"))  # moves the watermark on
    report.add(_event(3, T0 + 10))  # its window closed two minutes ago
    assert report.rows[WindowKey(T0, 1, 2)] == Totals(clicks=1, spend=0.5, late=1)
    assert report.rows[WindowKey(T0 + 3 * WINDOW_MS, 1, 2)].impressions == 1
    assert report.duplicates == 1
    assert Totals(impressions=4, clicks=1).ctr == 0.25
    assert Totals().ctr is None


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5 * WINDOW_MS),  # time offset
            st.sampled_from(["impression", "click", "conversion"]),
            st.integers(0, 2),  # campaign
            st.integers(0, 1),  # creative
        ),
        max_size=60,
    ),
    st.randoms(use_true_random=False),
)
def test_in_order_streams_with_duplicates_equal_a_brute_force_count(
    rows: list[tuple[int, str, int, int]], rnd: random.Random
) -> None:
    events = [_event(i, T0 + t, k, c, cr) for i, (t, k, c, cr) in enumerate(sorted(rows))]
    stream = list(events)
    for e in events:  # resent duplicates arrive a little later, as after a bridge restart
        if rnd.random() < 0.3:
            stream.insert(min(len(stream), stream.index(e) + rnd.randint(1, 5)), e)
    report = Report(allowed_lateness_ms=WINDOW_MS)
    for e in stream:
        report.add(e)
    expected: dict[WindowKey, list[float]] = {}
    for e in events:
        row = expected.setdefault(
            WindowKey(window_of(e.time_ms), e.campaign_id, e.creative_id), [0, 0, 0, 0.0]
        )
        row[("impression", "click", "conversion").index(e.type)] += 1
        row[3] += e.cost
    got = {k: [v.impressions, v.clicks, v.conversions, v.spend] for k, v in report.rows.items()}
    assert got == expected  # sums of 0.5 are exact in binary floating point
    assert all(v.late == 0 for v in report.rows.values())  # in time order nothing is late
    assert report.duplicates == len(stream) - len(events)
