"""The profile API's traffic over a day, from two samples of its Prometheus ``/metrics``.

The API keeps counters since its start, summed over its workers. The daily report samples them
once per report day and reads the day as the difference from the previous day's sample (what
Prometheus' ``increase()`` does); a counter that went down means the API restarted in between,
and then the day counts only what the new process served (``restarted`` says so).
"""

from __future__ import annotations

import math
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

REQUESTS = "profile_requests"
LATENCY = "profile_request_seconds"
TIMEOUTS = "profile_timeouts"
PARTIALS = "profile_partial"


@dataclass(frozen=True)
class Sample:
    """Counters of the profile routes at one moment: requests by status, partial answers,
    timeouts, and the latency histogram's cumulative bucket counts by upper bound."""

    requests: dict[str, float] = field(default_factory=dict)
    partials: float = 0.0
    timeouts: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "partials": self.partials,
            "timeouts": self.timeouts,
            # JSON keys are strings; "+Inf" survives as float("inf") on the way back.
            "buckets": {repr(le) if math.isfinite(le) else "+Inf": n for le, n in self.buckets.items()},
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Sample:
        return cls(
            requests={str(k): float(v) for k, v in raw["requests"].items()},
            partials=float(raw["partials"]),
            timeouts=float(raw["timeouts"]),
            buckets={float(k): float(v) for k, v in raw["buckets"].items()},
        )


def parse(text: str) -> Sample:
    """The profile routes' counters in a ``/metrics`` page (every route label summed)."""
    requests: dict[str, float] = {}
    buckets: dict[float, float] = {}
    partials = timeouts = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == f"{REQUESTS}_total":
                status = s.labels.get("status", "?")
                requests[status] = requests.get(status, 0.0) + s.value
            elif s.name == f"{LATENCY}_bucket":
                le = float(s.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + s.value
            elif s.name == f"{PARTIALS}_total":
                partials += s.value
            elif s.name == f"{TIMEOUTS}_total":
                timeouts += s.value
    return Sample(requests, partials, timeouts, dict(sorted(buckets.items())))


def scrape(url: str, timeout: float = 5.0) -> Sample:
    """A sample from the API's ``/metrics`` (``url``); an ``OSError`` when it does not answer."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - configured URL
        return parse(response.read().decode())


@dataclass(frozen=True)
class Traffic:
    """What the API served between two samples."""

    requests: int
    by_status: dict[str, int]
    partials: int
    timeouts: int
    #: Latency quantiles in milliseconds (None without requests).
    p50_ms: float | None
    p99_ms: float | None
    #: The API restarted between the samples: only the new process's traffic is counted.
    restarted: bool

    @property
    def timeout_ratio(self) -> float | None:
        return self.timeouts / self.requests if self.requests else None

    @property
    def partial_ratio(self) -> float | None:
        return self.partials / self.requests if self.requests else None

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_status": self.by_status,
            "partials": self.partials,
            "timeouts": self.timeouts,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "timeout_ratio": self.timeout_ratio,
            "partial_ratio": self.partial_ratio,
            "restarted": self.restarted,
        }


def between(before: Sample | None, after: Sample) -> Traffic:
    """The traffic from ``before`` to ``after`` (since the API's start without ``before``)."""
    restarted = before is not None and _went_down(before, after)
    base = Sample() if before is None or restarted else before
    statuses = sorted(set(after.requests) | set(base.requests))
    by_status = {s: round(after.requests.get(s, 0) - base.requests.get(s, 0)) for s in statuses}
    by_status = {s: n for s, n in by_status.items() if n}
    buckets = {le: after.buckets[le] - base.buckets.get(le, 0.0) for le in after.buckets}
    return Traffic(
        requests=sum(by_status.values()),
        by_status=by_status,
        partials=round(after.partials - base.partials),
        timeouts=round(after.timeouts - base.timeouts),
        p50_ms=_ms(quantile(0.5, buckets)),
        p99_ms=_ms(quantile(0.99, buckets)),
        restarted=restarted,
    )


def _went_down(before: Sample, after: Sample) -> bool:
    pairs = [(before.partials, after.partials), (before.timeouts, after.timeouts)]
    pairs += [(n, after.requests.get(s, 0.0)) for s, n in before.requests.items()]
    pairs += [(n, after.buckets.get(le, 0.0)) for le, n in before.buckets.items()]
    return any(new < old for old, new in pairs)


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """The ``q`` quantile of a cumulative histogram, interpolated inside its bucket as
    Prometheus' ``histogram_quantile`` does; the highest finite bound when it falls in +Inf."""
    ordered = sorted(buckets.items())
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)
