"""The report's arithmetic against a brute-force count, and its replays after simulated crashes."""

from __future__ import annotations

import random
import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streaming.events import AdEvent
from streaming.report import (
    WINDOW_MS,
    Outcome,
    PartitionReport,
    Report,
    Seen,
    Totals,
    Watermark,
    WindowKey,
    is_late,
    window_of,
)

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


def test_duplicates_count_once_replays_not_at_all_and_late_events_are_counted_as_late() -> None:
    report = Report(allowed_lateness_ms=10_000)
    assert report.add(_event(1, T0 + 5), offset=0) is Outcome.COUNTED
    assert report.add(_event(1, T0 + 5), offset=1) is Outcome.DUPLICATE  # resent: another offset
    assert report.add(_event(1, T0 + 5), offset=0) is Outcome.REPLAYED  # the same record again
    assert report.add(_event(2, T0 + 3 * WINDOW_MS, kind="impression"), offset=2) is Outcome.COUNTED
    assert report.add(_event(3, T0 + 10), offset=3) is Outcome.LATE  # its window closed two minutes ago
    assert report.rows[WindowKey(T0, 1, 2)].counts() == (0, 1, 0, 500_000, 1)
    assert report.rows[WindowKey(T0 + 3 * WINDOW_MS, 1, 2)].impressions == 1
    assert Totals(impressions=4, clicks=1).ctr == 0.25
    assert Totals().ctr is None
    assert Totals(spend_micros=1_250_000).spend == 1.25


def test_ids_and_rows_expire_behind_the_watermark() -> None:
    rows: dict[WindowKey, Totals] = {}
    seen: dict[str, Seen] = {}
    part = PartitionReport(0, rows, seen, dedup_horizon_ms=WINDOW_MS, retention_ms=5 * WINDOW_MS)
    part.add(_event(1, T0), 0)
    part.add(_event(2, T0 + 3 * WINDOW_MS), 1)
    part.expire()
    assert set(seen) == {"e2"}  # e1's window ended two minutes before the watermark
    assert WindowKey(T0, 1, 2) in rows
    part.add(_event(3, T0 + 7 * WINDOW_MS), 2)
    part.expire()
    assert set(rows) == {WindowKey(T0 + 3 * WINDOW_MS, 1, 2), WindowKey(T0 + 7 * WINDOW_MS, 1, 2)}
    changes = part.take_changes()
    assert changes.rows[WindowKey(T0, 1, 2)] is None  # a deletion, for the changelog
    assert changes.seen["e1"] is None


def test_watermark_rewinds_to_the_batch_end_before_a_replayed_offset() -> None:
    w = Watermark()
    for offset, time_ms in [(9, 100), (19, 250), (29, 300)]:
        w = Watermark(offset, time_ms, w.history).checkpoint()
    assert w.rewind(30) == w  # not a replay
    assert w.rewind(20) == Watermark(19, 250, ((9, 100), (19, 250)))
    assert w.rewind(5) == Watermark()
    assert Watermark.from_json(w.to_json()) == w


def _brute_force(events: list[AdEvent], late_ids: set[str]) -> dict[WindowKey, tuple[int, ...]]:
    expected: dict[WindowKey, list[int]] = {}
    for e in events:
        row = expected.setdefault(WindowKey(window_of(e.time_ms), e.campaign_id, e.creative_id), [0] * 5)
        if e.event_id in late_ids:
            row[4] += 1
        else:
            row[("impression", "click", "conversion").index(e.type)] += 1
            row[3] += round(e.cost * 1_000_000)
    return {k: tuple(v) for k, v in expected.items()}


_streams = st.lists(
    st.tuples(
        st.integers(0, 5 * WINDOW_MS),  # time offset
        st.sampled_from(["impression", "click", "conversion"]),
        st.integers(0, 2),  # campaign
        st.integers(0, 1),  # creative
    ),
    max_size=80,
)


@settings(max_examples=200)
@given(_streams, st.randoms(use_true_random=False))
def test_in_order_streams_with_duplicates_equal_a_brute_force_count(
    rows: list[tuple[int, str, int, int]], rnd: random.Random
) -> None:
    events = [_event(i, T0 + t, k, c, cr) for i, (t, k, c, cr) in enumerate(sorted(rows))]
    stream = list(events)
    for e in events:  # resent duplicates arrive a little later, as after a bridge restart
        if rnd.random() < 0.3:
            stream.insert(min(len(stream), stream.index(e) + rnd.randint(1, 5)), e)
    report = Report(allowed_lateness_ms=WINDOW_MS)
    for offset, e in enumerate(stream):
        report.add(e, offset)
    assert {k: v.counts() for k, v in report.rows.items()} == _brute_force(events, set())
    assert report.outcomes[Outcome.LATE] == 0  # in time order nothing is late
    assert report.outcomes[Outcome.DUPLICATE] == len(stream) - len(events)


class _Changelog:
    """A table's changelog topic: messages in order; a crash keeps a prefix of them."""

    def __init__(self) -> None:
        self.messages: list[tuple[Any, Any]] = []
        self.flushed = 0  # what a commit made sure of (the producer is flushed before a commit)

    def restore(self, keep: int) -> dict[Any, Any]:
        del self.messages[keep:]
        state: dict[Any, Any] = {}
        for key, value in self.messages:
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        return state


@settings(max_examples=150, deadline=None)
@given(_streams, st.randoms(use_true_random=False))
def test_crashes_at_any_point_give_the_totals_of_one_clean_pass(
    rows: list[tuple[int, str, int, int]], rnd: random.Random
) -> None:
    """Kill the worker at random points, losing any unflushed suffix of each changelog."""
    events = [_event(i, T0 + t, k, c, cr) for i, (t, k, c, cr) in enumerate(sorted(rows))]
    stream = list(events)
    for i in range(len(events) // 4):  # late events (after the first one) and resent duplicates
        stream.insert(rnd.randrange(1, len(stream) + 1), _event(10_000 + i, T0 - 5 * WINDOW_MS, "impression"))
        again = rnd.choice(events)  # resent after the original, never before it
        stream.insert(rnd.randrange(stream.index(again) + 1, len(stream) + 1), again)
    options = {"allowed_lateness_ms": 0}  # the tightest: any watermark error shows

    clean = Report(**options)
    for offset, e in enumerate(stream):
        clean.add(e, offset)

    logs = {"rows": _Changelog(), "seen": _Changelog(), "watermark": _Changelog()}
    committed = 0  # the next offset to read after a restart
    crashes = 0
    while True:
        restored_rows = logs["rows"].restore(len(logs["rows"].messages))
        restored_seen = logs["seen"].restore(len(logs["seen"].messages))
        marks = logs["watermark"].restore(len(logs["watermark"].messages))
        part = PartitionReport(0, restored_rows, restored_seen, watermark=marks.get(0), **options)
        offset = committed
        crash_at = rnd.randrange(len(stream) + 1) if crashes < 3 else len(stream) + 1
        while offset < len(stream) and offset < crash_at:
            end = min(len(stream), offset + rnd.randint(1, 6))
            for o in range(offset, end):
                part.add(stream[o], o)
            offset = end
            changes = part.take_changes()  # a batch end: the worker sends the changelog
            logs["rows"].messages += list(changes.rows.items())
            logs["seen"].messages += list(changes.seen.items())
            logs["watermark"].messages.append((0, part.watermark))
            if rnd.random() < 0.4:  # a commit: producer flushed, then the offset committed
                for log in logs.values():
                    log.flushed = len(log.messages)
                committed = offset
        if offset >= len(stream):
            break
        crashes += 1  # kill -9: each changelog keeps what was flushed and some of the rest
        for log in logs.values():
            del log.messages[rnd.randint(log.flushed, len(log.messages)) :]
    final = {k: v.counts() for k, v in part.rows.items()}
    assert final == {k: v.counts() for k, v in clean.rows.items()}
    late_ids = {e.event_id for e in stream if e.time_ms < T0}
    assert final == _brute_force(events + [e for e in stream if e.event_id in late_ids], late_ids)
