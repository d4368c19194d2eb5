"""The load throttle: token bucket and AIMD controller, on a fake clock."""

from __future__ import annotations

import pytest

from adtarget.profiles.throttle import AdaptiveRate, RateLimiter, percentile


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_bucket_holds_the_rate_over_time() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1000, clock=clock, sleep=clock.sleep)
    for _ in range(5000):
        limiter.acquire(1)
    assert clock.now == pytest.approx(5.0, rel=0.01)


def test_an_idle_spell_does_not_become_a_flood() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1000, burst=0.1, clock=clock, sleep=clock.sleep)
    clock.now = 60.0  # a minute idle
    start = clock.now
    for _ in range(1100):
        limiter.acquire(1)
    # At most 0.1 s worth (100 rows) came for free; the other 1,000 took a second.
    assert clock.now - start == pytest.approx(1.0, abs=0.01)


def test_the_rate_can_change_while_in_use() -> None:
    clock = FakeClock()
    limiter = RateLimiter(100, clock=clock, sleep=clock.sleep)
    limiter.set_rate(10_000)
    for _ in range(10_000):
        limiter.acquire(1)
    assert clock.now == pytest.approx(1.0, rel=0.02)


def test_a_bad_rate_names_itself() -> None:
    with pytest.raises(ValueError, match=r"rate: 0"):
        RateLimiter(0)


def test_percentile_nearest_rank() -> None:
    data = [float(i) for i in range(1, 101)]
    assert percentile(data, 0.95) == 95.0
    assert percentile(data, 0.5) == 50.0
    assert percentile([3.0], 0.99) == 3.0
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 0.5)


def test_aimd_grows_while_reads_are_fast_and_halves_when_they_slow() -> None:
    control = AdaptiveRate(rate=1000, floor=200, maximum=2000, step=250, baseline=0.002)
    fast = [0.002] * 50
    slow = [0.002] * 40 + [0.010] * 10
    assert [control.update(fast) for _ in range(5)] == [1250, 1500, 1750, 2000, 2000]
    assert control.update(slow) == 1000
    assert control.update(slow) == 500
    assert control.update(slow) == 250
    assert control.update(slow) == 200  # never below the floor
    assert control.backoffs == 4
    assert control.update([]) == 200  # no sample, no change


def test_the_absolute_ceiling_caps_a_slow_baseline() -> None:
    control = AdaptiveRate(rate=1000, floor=100, maximum=5000, step=100, baseline=0.050, ceiling=0.020)
    assert control.limit() == 0.020
    assert control.update([0.030] * 20) == 500


def test_try_acquire_never_waits_and_refuses_beyond_the_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, burst=1.0, full=True, clock=clock, sleep=clock.sleep)
    assert [limiter.try_acquire() for _ in range(12)] == [True] * 10 + [False] * 2
    assert clock.now == 0.0
    clock.now = 0.5
    assert sum(limiter.try_acquire() for _ in range(10)) == 5
