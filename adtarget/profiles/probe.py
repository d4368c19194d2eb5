"""A read probe that steers a load's rate by the latency the profile API would see.

While a load runs, a background thread reads profile rows the way the API does (one prepared
single-partition SELECT at a time) and, once per interval, hands the latencies to
:class:`~adtarget.profiles.throttle.AdaptiveRate`, which sets the writer's rate limit. The
baseline is measured before the load starts, on the same keys.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from adtarget.profiles.throttle import AdaptiveRate, RateLimiter, percentile

if TYPE_CHECKING:
    from cassandra.cluster import Session

PROBE_CQL = "SELECT segments FROM segment_memberships WHERE adid = ?"


class ReadProbe:
    """Measures read latency on ``keys`` and adapts ``limiter``; use as a context manager."""

    def __init__(
        self,
        session: Session,
        keys: Sequence[str],
        limiter: RateLimiter,
        *,
        maximum: float,
        floor: float = 500.0,
        interval: float = 1.0,
        period: float = 0.02,
    ) -> None:
        if not keys:
            raise ValueError("keys: the probe needs at least one key to read")
        self._session = session
        self._select = session.prepare(PROBE_CQL)
        self._keys = list(keys)
        self._limiter = limiter
        self._interval = interval
        self._period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="read-probe", daemon=True)
        baseline = percentile(self._sample(40), 0.95)
        self.control = AdaptiveRate(
            rate=limiter.rate, floor=floor, maximum=maximum, step=max(maximum / 20, 100.0), baseline=baseline
        )
        self.history: list[tuple[float, float, float]] = []  # (p95 seconds, rate) per interval

    def _read(self) -> float:
        start = time.perf_counter()
        self._session.execute(self._select, (random.choice(self._keys),))  # noqa: S311 - sampling, not crypto
        return time.perf_counter() - start

    def _sample(self, n: int) -> list[float]:
        return [self._read() for _ in range(n)]

    def _run(self) -> None:
        window: list[float] = []
        next_update = time.monotonic() + self._interval
        while not self._stop.wait(self._period):
            try:
                window.append(self._read())
            except Exception:  # a failed read counts as the worst latency there is
                window.append(self._interval)
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
