"""Load-rate control: a token bucket, and an AIMD controller that backs off when reads slow down.

A bulk load shares Cassandra with the profile API. The fixed cap (:class:`RateLimiter`) keeps a
load below a rate known to be harmless; above it, :class:`AdaptiveRate` raises the rate step by
step while read latency stays near its idle baseline and halves it as soon as it does not
(additive increase, multiplicative decrease, as TCP does). Both are pure logic over an injected
clock, so they are tested without Cassandra.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


class RateLimiter:
    """A thread-safe token bucket: ``acquire(n)`` blocks until ``n`` tokens are there.

    ``rate`` is tokens (rows) per second and may be changed while in use; the bucket holds at
    most ``burst`` seconds' worth, so an idle spell does not turn into a flood.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 0.1,
        full: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate: {rate!r} must be above 0 rows/s")
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        # Empty at first (a load ramps up), or full (a server's bucket accepts its first burst).
        self._tokens = max(rate * burst, 1.0) if full else 0.0
        self._last = clock()
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        return self._rate

    def set_rate(self, rate: float) -> None:
        with self._lock:
            self._refill()
            self._rate = max(rate, 1.0)

    def _refill(self) -> None:
        now = self._clock()
        cap = max(self._rate * self._burst, 1.0)
        self._tokens = min(cap, self._tokens + (now - self._last) * self._rate)
        self._last = now

    def try_acquire(self, n: float = 1.0) -> bool:
        """Take ``n`` tokens if they are there now; never waits."""
        with self._lock:
            self._refill()
            if self._tokens < n:
                return False
            self._tokens -= n
            return True

    def acquire(self, n: float = 1.0) -> float:
        """Take ``n`` tokens, sleeping as long as needed; returns the seconds slept."""
        slept = 0.0
        with self._lock:
            self._refill()
            self._tokens -= n
            deficit = -self._tokens
            wait = deficit / self._rate if deficit > 0 else 0.0
        if wait > 0:
            self._sleep(wait)
            slept = wait
        return slept


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``samples`` by the nearest-rank method."""
    if not samples:
        raise ValueError("percentile of no samples")
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
    return ordered[rank]


@dataclass
class AdaptiveRate:
    """AIMD over read latency: call :meth:`update` once per interval with that interval's reads.

    The rate grows by ``step`` rows/s while the interval's p95 read latency stays under
    ``baseline * tolerance`` (and under ``ceiling``), and is halved when it does not, never
    below ``floor`` nor above ``maximum``.
    """

    rate: float
    floor: float
    maximum: float
    step: float
    baseline: float
    tolerance: float = 1.3
    ceiling: float = 0.020
    decrease: float = 0.5
    backoffs: int = 0

    def limit(self) -> float:
        """The latency above which the load is hurting reads."""
        return min(self.baseline * self.tolerance, self.ceiling)

    def update(self, latencies: Sequence[float]) -> float:
        """Adjust and return the rate from one interval's read latencies (seconds)."""
        if not latencies:
            return self.rate
        if percentile(latencies, 0.95) > self.limit():
            self.rate = max(self.floor, self.rate * self.decrease)
            self.backoffs += 1
        else:
            self.rate = min(self.maximum, self.rate + self.step)
        return self.rate
