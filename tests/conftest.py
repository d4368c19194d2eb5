"""Shared fixtures: the stack's settings and a helper that starts the engines a test needs."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from adtarget.stack import registry
from adtarget.stack.config import StackSettings
from adtarget.stack.engines.airflow import airflow_env
from tests import audiences

# Airflow reads its configuration when first imported: point it at the stack before any test does.
os.environ.update(airflow_env(StackSettings()))


@pytest.fixture(scope="session")
def settings() -> StackSettings:
    return StackSettings()


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
    spark_submit.submit(
        settings, "build_sketches.py", ["--day", *(d.isoformat() for d in audiences.DAYS)], quiet=True
    )
    return audiences.Logs(audiences.SEED, audiences.USERS, audiences.DAYS)
