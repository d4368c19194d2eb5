"""The platform_health DAG, triggered through Airflow's REST API, reaches every engine."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adtarget.airflow_client import AirflowClient
from adtarget.stack.config import StackSettings
from adtarget.stack.engines.airflow import ADMIN_USER, admin_password

pytestmark = pytest.mark.e2e


def test_platform_health_run_succeeds_on_the_real_scheduler(
    stack: Callable[..., None], settings: StackSettings
) -> None:
    stack()  # the whole stack
    with AirflowClient(
        f"http://{settings.host}:{settings.airflow_port}", ADMIN_USER, admin_password(settings)
    ) as api:
        api.wait_for_dag("platform_health", timeout=180)
        api.set_paused("platform_health", False)
        run_id = api.trigger("platform_health")
        state = api.wait_for_run("platform_health", run_id, timeout=600)
        tasks = api.task_states("platform_health", run_id)
    assert tasks == {"hiveserver2": "success", "cassandra": "success", "kafka": "success", "smtp": "success"}
    assert state == "success"
