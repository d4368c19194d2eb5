"""Profile load: one day of the warehouse into the Cassandra profile tables.

Daily. ``spark/load_profiles.py`` reads the day's rows per table (``sql/profiles``), writes them
grouped per user with bounded concurrency and a rate cap, and checkpoints each chunk: a retry
resumes where the failed try stopped, a re-run of the day leaves the tables as they were, and a
backfill of an older day does not overwrite a newer one. Cassandra is reached through the
``cassandra_default`` connection (host, port, schema = keyspace). The rate cap is the DAG param
``rate`` (rows/s, 0 = none); a manual run names its day with the param ``day`` (``force``
loads it even if a newer day is loaded). A day with no rows in the warehouse fails the task,
which retries.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import Param, dag, task

ALERT_TO = "data-oncall@localhost"


@dag(
    dag_id="profile_load",
    schedule="@daily",
    start_date=datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,
    tags=["profiles", "cassandra"],
    params={
        "day": Param(None, type=["null", "string"], format="date", description="day to load (default: ds)"),
        "rate": Param(20_000, type="number", minimum=0, description="rows/s cap for the load, 0: none"),
        "force": Param(False, type="boolean", description="load even if a newer day is loaded"),
    },
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "execution_timeout": timedelta(hours=2),
    },
    on_failure_callback=SmtpNotifier(
        to=ALERT_TO,
        smtp_conn_id="smtp_default",
        subject="[adtarget] profile_load failed: {{ dag_run.run_id }}",
    ),
)
def profile_load() -> None:
    @task
    def load(data_interval_start: Any = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
        from adtarget.profiles.task import load_day_task

        params = params or {}
        # A scheduled run loads the day its interval covers (yesterday), never the running day.
        day = params.get("day") or (data_interval_start and data_interval_start.date().isoformat())
        return load_day_task(day, rate=float(params.get("rate", 0)), force=bool(params.get("force")))

    load()


profile_load()
