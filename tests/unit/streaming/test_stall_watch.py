"""The stall watch on a hand-driven clock: what counts as stalled, and where reading resumes."""

from __future__ import annotations

import pytest

from streaming.stall_watch import StallWatch


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def watch(clock: Clock) -> StallWatch:
    w = StallWatch(10.0, clock)
    w.track([0, 1])
    return w


def test_a_partition_behind_its_end_and_handed_nothing_is_stalled_after_the_timeout(
    watch: StallWatch, clock: Clock
) -> None:
    watch.delivered(0, 41)
    watch.delivered(1, 7)
    clock.now += 9.9
    assert watch.stalled({0: 50, 1: 8}, {}) == {}
    clock.now += 0.1
    # Partition 1 is at its end (next offset 8 = end): waiting for records is not a stall.
    assert watch.stalled({0: 50, 1: 8}, {}) == {0: 42}
    assert watch.remedies(0) == 1


def test_records_keep_a_partition_alive(watch: StallWatch, clock: Clock) -> None:
    for offset in range(30):
        clock.now += 1
        watch.delivered(0, offset)
        assert watch.stalled({0: 1_000}, {}) == {}


def test_a_stall_is_reported_again_after_another_timeout_until_a_record_comes(
    watch: StallWatch, clock: Clock
) -> None:
    watch.delivered(0, 3)
    clock.now += 10
    assert watch.stalled({0: 9}, {}) == {0: 4}
    clock.now += 5
    assert watch.stalled({0: 9}, {}) == {}
    clock.now += 5
    assert watch.stalled({0: 9}, {}) == {0: 4}
    assert watch.remedies(0) == 2
    watch.delivered(0, 4)
    assert watch.remedies(0) == 0
    assert watch.stalls == {0: 2}  # the total stays


def test_without_a_record_since_the_assignment_reading_resumes_at_the_committed_offset(
    watch: StallWatch, clock: Clock
) -> None:
    clock.now += 10
    assert watch.stalled({0: 300, 1: 20}, {0: 255}) == {0: 255, 1: None}


def test_a_partition_at_its_committed_end_is_not_stalled(watch: StallWatch, clock: Clock) -> None:
    clock.now += 60
    assert watch.stalled({0: 255, 1: 0}, {0: 255}) == {}


def test_the_clock_restarts_when_the_partition_reaches_its_end(watch: StallWatch, clock: Clock) -> None:
    watch.delivered(0, 9)
    clock.now += 30
    assert watch.stalled({0: 10}, {}) == {}  # caught up: its clock restarts now
    clock.now += 5
    assert watch.stalled({0: 11}, {}) == {}  # a new record 5 s ago is not a stall yet
    clock.now += 5
    assert watch.stalled({0: 11}, {}) == {0: 10}


def test_holding_restarts_every_clock(watch: StallWatch, clock: Clock) -> None:
    clock.now += 9
    watch.hold()  # a rebalance or a table recovery
    clock.now += 9
    assert watch.stalled({0: 5, 1: 5}, {}) == {}
    clock.now += 1
    assert watch.stalled({0: 5, 1: 5}, {}) == {0: None, 1: None}


def test_a_revoked_partition_forgets_its_position(watch: StallWatch, clock: Clock) -> None:
    watch.delivered(0, 99)
    watch.forget([0])
    watch.track([0, 1])  # assigned again: reading restarts at the committed offset
    clock.now += 10
    assert watch.stalled({0: 200}, {0: 60}) == {0: 60}


def test_tracking_follows_the_assignment(watch: StallWatch, clock: Clock) -> None:
    watch.track([1, 2])
    clock.now += 10
    assert watch.stalled({0: 5, 1: 5, 2: 5}, {}) == {1: None, 2: None}
    assert watch.remedies(0) == 0


def test_a_partition_without_a_known_end_is_left_alone(watch: StallWatch, clock: Clock) -> None:
    clock.now += 10
    assert watch.stalled({}, {0: 3}) == {}


def test_the_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="stall timeout must be positive, got 0"):
        StallWatch(0)
