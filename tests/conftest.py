"""Shared fixtures: the stack's settings and a helper that starts the engines a test needs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Generator, Iterator

import psycopg
import pytest

from adtarget.segments.settings import SegmentSettings
from adtarget.stack import registry
from adtarget.stack.config import StackSettings
from adtarget.stack.engines.airflow import airflow_env
from tests import audiences

# Test jobs are small: a driver JVM that only compiles with C1 starts them ~20% faster
# (measured 36 -> 27 s for a 3,000-user day). Jobs run through Airflow get it when the stack
# was started with it (.ci/run exports it before `make up`).
os.environ.setdefault("ADTARGET_SPARK_SUBMIT_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1")

# Airflow reads its configuration when first imported: point it at the stack before any test does.
os.environ.update(airflow_env(StackSettings()))


@pytest.fixture(scope="session")
def settings() -> StackSettings:
    return StackSettings()


#: Lines of each engine log shown under a failed test: enough for a traceback, short enough for CI.
LOG_TAIL = 25


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, object, object]:
    """Under a failed test, the tail of every engine log written while it ran: CI keeps only the
    output, and an engine's side of a failure (a worker that crashed, a query it refused) is there."""
    report = yield
    if call.excinfo is not None and isinstance(report, pytest.TestReport) and report.failed:
        logs = StackSettings().log_dir
        started = call.start - 5  # the engine may have written just before the test's own first step
        for log in sorted(logs.glob("*.log")) if logs.is_dir() else []:
            if log.stat().st_mtime >= started:
                lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL:]
                report.sections.append((f"engine log {log.name} (last {len(lines)} lines)", "\n".join(lines)))
    return report


@pytest.fixture(scope="session")
def stack(settings: StackSettings) -> Callable[..., None]:
    """``stack("kafka", ...)`` starts whichever of the named engines is not running (idempotent)."""

    def ensure(*names: str) -> None:
        registry.up(settings, names)

    return ensure


@pytest.fixture(scope="session")
def audience_logs(stack: Callable[..., None], settings: StackSettings) -> audiences.Logs:
    """Two generated days in the warehouse, with their sketches in the warehouse and Cassandra;
    returned as the brute-force oracle's rows. Built once for every segment test."""
    from adtarget import spark_submit, testdata

    stack("spark-thrift", "cassandra")
    first = audiences.DAYS[0]
    testdata.generate(
        settings,
        start=first,
        days=len(audiences.DAYS),
        users=audiences.USERS,
        seed=audiences.SEED,
        quiet=True,
    )
    # The newest day first, then the older one as a backfill: its build must also rebuild the
    # newer day's window sketches (tests/integration/test_segments.py checks it).
    for day in sorted(audiences.DAYS, reverse=True):
        spark_submit.submit(settings, "build_sketches.py", ["--day", day.isoformat()], quiet=True)
    return audiences.Logs(audiences.SEED, audiences.USERS, audiences.DAYS)


@pytest.fixture(scope="module")
def segment_settings(stack: Callable[..., None], settings: StackSettings) -> Iterator[SegmentSettings]:
    """A registry database of the test's own, dropped afterwards."""
    stack("postgres")
    name = f"adtarget_test_{uuid.uuid4().hex[:8]}"
    admin = f"postgresql://adtarget@{settings.host}:{settings.postgres_port}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield SegmentSettings(
        registry_url=f"postgresql://adtarget@{settings.host}:{settings.postgres_port}/{name}"
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
