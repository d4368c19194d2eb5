"""Prometheus metrics of the profile API, shared by every uvicorn worker.

With several workers, ``PROMETHEUS_MULTIPROC_DIR`` must name an empty folder before the
workers start (``python -m serving`` sees to it); ``/metrics`` then sums every worker's files.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

#: Buckets around what matters: the 20 ms goal, the 90 ms deadline, the 100 ms timeout.
BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.09, 0.1, 0.15, 0.25, 0.5, 1.0)

REQUESTS = Counter("profile_requests_total", "Profile API requests by outcome", ["route", "status"])
LATENCY = Histogram("profile_request_seconds", "Profile API answer time", ["route"], buckets=BUCKETS)
TIMEOUTS = Counter("profile_timeouts_total", "Answers slower than the ad server's 100 ms")
PARTIALS = Counter("profile_partial_total", "Answers with a table missing or failed")
TABLE_LATENCY = Histogram(
    "profile_table_seconds", "Cassandra read time per table", ["table"], buckets=BUCKETS
)
TABLE_ERRORS = Counter("profile_table_errors_total", "Cassandra read errors per table", ["table"])
ESTIMATE_CACHE = Counter(
    "estimate_sketch_lookups_total", "Estimate sketches looked up in the worker's cache", ["outcome"]
)


def observe_table(table: str, seconds: float, failed: bool) -> None:
    TABLE_LATENCY.labels(table).observe(seconds)
    if failed:
        TABLE_ERRORS.labels(table).inc()


def observe_estimate_cache(hit: bool) -> None:
    ESTIMATE_CACHE.labels("hit" if hit else "miss").inc()


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, summed over workers when there are several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
