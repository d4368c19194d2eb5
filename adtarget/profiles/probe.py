"""A read probe that steers a load's rate by the latency the profile API would see.

While a load runs, a background thread reads profiles the way the API does: one sample is the 12
profile tables' prepared single-partition SELECTs of one user, sent at once, and its latency is
the slowest of the 12 (the API answers when all have landed). Every ``interval`` it hands that
interval's samples to :class:`~adtarget.profiles.throttle.AdaptiveRate`, which sets the writer's
rate limit. The baseline is measured before the load starts, on the same keys.

A sample every 100 ms costs Cassandra 120 reads/s: a tenth of what the API alone sends at
100 requests/s on the dev machine, and nothing on a production ring.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from adtarget.profiles.tables import PROFILE_TABLES
from adtarget.profiles.throttle import AdaptiveRate, RateLimiter, percentile

if TYPE_CHECKING:
    from cassandra.cluster import Session

#: Samples taken before the load, whose p95 is the latency the load must not raise.
BASELINE_SAMPLES = 40


class ReadProbe:
    """Measures profile read latency on ``keys`` and adapts ``limiter``; use as a context manager.

    The limiter's rate when the probe starts is where the load begins (start low: the rate grows
    by ``maximum / 20`` per quiet interval and halves on a slow one, see
    :class:`~adtarget.profiles.throttle.AdaptiveRate`). ``baseline`` skips the
    measurement of an idle baseline (a worker that has measured one before its first load).
    """

    def __init__(
        self,
        session: Session,
        keys: Sequence[str],
        limiter: RateLimiter,
        *,
        maximum: float,
        floor: float = 200.0,
        interval: float = 2.0,
        period: float = 0.1,
        baseline: float | None = None,
        timeout: float = 1.0,
    ) -> None:
        if not keys:
            raise ValueError("keys: the probe needs at least one key to read")
        if maximum <= 0:
            raise ValueError(f"maximum: {maximum!r} rows/s must be above 0")
        self._session = session
        self._selects = [session.prepare(t.select) for t in PROFILE_TABLES]
        self._keys = list(keys)
        self._limiter = limiter
        self._interval = interval
        self._period = period
        self._timeout = timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="read-probe", daemon=True)
        if baseline is None:
            baseline = percentile([self.sample() for _ in range(BASELINE_SAMPLES)], 0.95)
        self.control = AdaptiveRate(
            rate=limiter.rate,
            floor=min(floor, maximum),
            maximum=maximum,
            step=max(maximum / 20, 1.0),
            baseline=baseline,
        )
        #: (monotonic time, the interval's p95 in seconds, the rate set) per interval.
        self.history: list[tuple[float, float, float]] = []

    def sample(self) -> float:
        """Seconds until all 12 reads of one random key have landed (``timeout`` if one fails)."""
        key = (random.choice(self._keys),)  # noqa: S311 - sampling, not crypto
        start = time.perf_counter()
        futures = [self._session.execute_async(s, key, timeout=self._timeout) for s in self._selects]
        try:
            for future in futures:
                future.result()
        except Exception:  # a failed read counts as the worst latency there is
            return max(self._timeout, time.perf_counter() - start)
        return time.perf_counter() - start

    def _run(self) -> None:
        window: list[float] = []
        next_update = time.monotonic() + self._interval
        while not self._stop.wait(self._period):
            window.append(self.sample())
            if time.monotonic() >= next_update:
                rate = self.control.update(window)
                self._limiter.set_rate(rate)
                self.history.append((time.monotonic(), percentile(window, 0.95), rate))
                window = []
                next_update = time.monotonic() + self._interval

    def __enter__(self) -> ReadProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def report(self) -> dict[str, object]:
        """What the probe saw and did, for a load's summary."""
        return {
            "read_p95_idle_ms": round(self.control.baseline * 1000, 2),
            "read_p95_limit_ms": round(self.control.limit() * 1000, 2),
            "backoffs": self.control.backoffs,
            "rate_history": [round(rate) for _, _, rate in self.history],
        }
