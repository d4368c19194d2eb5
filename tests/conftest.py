"""Shared fixtures: the stack's settings and a helper that starts the engines a test needs."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from adtarget.stack import registry
from adtarget.stack.config import StackSettings
from adtarget.stack.engines.airflow import airflow_env

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
