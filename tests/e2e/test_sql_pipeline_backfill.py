"""A backfill of a SQL-file pipeline through the REST API, run by the real scheduler and workers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from adtarget.airflow_client import AirflowClient
from adtarget.stack.config import StackSettings
from adtarget.stack.engines.airflow import ADMIN_USER, admin_password
from tests import audiences
from tests.warehouse import keyword_oracle, keyword_stats

pytestmark = pytest.mark.e2e

# The segment tests' generated days (once per session, by ``audience_logs``): no generation here.
FIRST = audiences.DAYS[0]
DAYS = len(audiences.DAYS)
DAG_ID = "sql_keyword_stats"


def test_backfill_of_two_days_fills_both_partitions(
    stack: Callable[..., None], settings: StackSettings, audience_logs: audiences.Logs
) -> None:
    stack()
    days = [FIRST + dt.timedelta(days=i) for i in range(DAYS)]
    with AirflowClient(
        f"http://{settings.host}:{settings.airflow_port}", ADMIN_USER, admin_password(settings)
    ) as api:
        api.wait_for_dag(DAG_ID, timeout=180)
        # Backfill runs are scheduled only for an active DAG (its latest daily run may start too).
        api.set_paused(DAG_ID, False)
        try:
            backfill = api.backfill(DAG_ID, days[0].isoformat(), days[-1].isoformat(), reprocess="completed")
            # Done when the scheduler marks the backfill complete (its runs may pre-exist from an
            # earlier test run: "completed" re-runs them).
            api.wait_for_backfill(backfill["id"], timeout=600)
            runs = api.dag_runs(
                DAG_ID,
                run_type="backfill",
                logical_date_gte=f"{days[0].isoformat()}T00:00:00Z",
                logical_date_lte=f"{days[-1].isoformat()}T00:00:00Z",
            )
        finally:
            api.set_paused(DAG_ID, True)
    assert sorted(r["logical_date"][:10] for r in runs) == [d.isoformat() for d in days]
    assert {r["state"] for r in runs} == {"success"}
    for day in days:
        expected = keyword_oracle(settings, day)
        assert expected
        assert keyword_stats(settings, day) == expected
