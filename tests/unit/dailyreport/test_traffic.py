"""The profile API's daily traffic from two /metrics samples: parsing, differences, restarts, p99."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from adtarget.dailyreport import traffic
from serving.metrics import BUCKETS


def _page(latencies: list[float], statuses: list[str], timeouts: int = 0, partials: int = 0) -> str:
    """A /metrics page as the profile API writes it, from the same metric names and buckets."""
    registry = CollectorRegistry()
    requests = Counter("profile_requests_total", "", ["route", "status"], registry=registry)
    latency = Histogram("profile_request_seconds", "", ["route"], buckets=BUCKETS, registry=registry)
    Counter("profile_timeouts_total", "", registry=registry).inc(timeouts)
    Counter("profile_partial_total", "", registry=registry).inc(partials)
    for i, (seconds, status) in enumerate(zip(latencies, statuses, strict=True)):
        route = ("adid", "bid")[i % 2]  # both routes count
        requests.labels(route, status).inc()
        latency.labels(route).observe(seconds)
    return generate_latest(registry).decode()


def test_parse_sums_routes_and_keeps_the_buckets() -> None:
    sample = traffic.parse(_page([0.001, 0.004, 0.2], ["200", "200", "404"], timeouts=1, partials=2))
    assert sample.requests == {"200": 2.0, "404": 1.0}
    assert (sample.timeouts, sample.partials) == (1.0, 2.0)
    assert sample.buckets[0.002] == 1
    assert sample.buckets[0.005] == 2
    assert sample.buckets[math.inf] == 3
    assert traffic.Sample.from_json(sample.as_json()) == sample


def test_the_day_is_the_difference_between_samples() -> None:
    before = traffic.parse(_page([0.001] * 10, ["200"] * 10))
    after = traffic.parse(_page([0.001] * 10 + [0.003] * 89 + [0.12], ["200"] * 99 + ["503"], timeouts=1))
    day = traffic.between(before, after)
    assert (day.requests, day.by_status, day.timeouts, day.restarted) == (90, {"200": 89, "503": 1}, 1, False)
    assert day.timeout_ratio == pytest.approx(1 / 90)
    # 89 of 90 fall in (2, 5] ms and one in (100, 150]: rank 0.99 * 90 = 89.1 is past the 89th
    assert 2 < (day.p50_ms or 0) < 5
    assert 100 < (day.p99_ms or 0) <= 150


def test_a_counter_going_down_means_a_restart_and_counts_the_new_process_only() -> None:
    before = traffic.parse(_page([0.001] * 50, ["200"] * 50))
    after = traffic.parse(_page([0.001] * 7, ["200"] * 7))
    day = traffic.between(before, after)
    assert (day.requests, day.restarted) == (7, True)


def test_without_a_sample_before_it_counts_since_the_start() -> None:
    day = traffic.between(None, traffic.parse(_page([0.03], ["200"])))
    assert day.requests == 1
    assert day.restarted is False
    assert 20 < (day.p99_ms or 0) <= 30


def test_quantile_matches_prometheus_histogram_quantile() -> None:
    buckets = {0.1: 10.0, 0.2: 30.0, math.inf: 40.0}
    assert traffic.quantile(0.25, buckets) == pytest.approx(0.1)  # rank 10: end of the first bucket
    assert traffic.quantile(0.5, buckets) == pytest.approx(0.15)  # rank 20: half way in (0.1, 0.2]
    assert traffic.quantile(0.99, buckets) == pytest.approx(0.2)  # in +Inf: the highest finite bound
    assert traffic.quantile(0.5, {0.1: 0.0, math.inf: 0.0}) is None
    empty = traffic.between(None, traffic.Sample())
    assert (empty.requests, empty.p99_ms, empty.timeout_ratio) == (0, None, None)
