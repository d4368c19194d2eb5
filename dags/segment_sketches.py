"""Segment sketches: the day's theta sketches per attribute value, for instant audience estimates.

Daily. Waits (rescheduled, no slot held) until the day's user attributes are in the
warehouse, then ``spark/build_sketches.py`` builds one sketch of the users per keyword,
banner, app, domain, demographic value... into ``adtarget.attribute_sketch`` and Cassandra's
``attribute_sketches`` (through the ``cassandra_default`` connection). A re-run or a backfill
of a day writes the same sketches again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import CronDataIntervalTimetable, dag, task

from adtarget.alerts import failure_mail
from adtarget.stack.config import PROJECT_ROOT


@dag(
    dag_id="segment_sketches",
    # Data-interval days: the run of day D starts after D is over and works on D.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    # The earliest day a backfill or a manual run can name (a run before start_date has no tasks).
    start_date=datetime(2000, 1, 1),
    catchup=False,
    max_active_runs=2,
    tags=["segments", "spark", "cassandra"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "execution_timeout": timedelta(hours=3)},
    on_failure_callback=failure_mail("segment_sketches"),
)
def segment_sketches() -> None:
    @task.sensor(mode="reschedule", poke_interval=300, timeout=12 * 3600)
    def day_in_warehouse(ds: str | None = None) -> bool:
        from adtarget.profiles.task import day_in_warehouse

        return day_in_warehouse(ds)

    build_sketches = SparkSubmitOperator(
        task_id="build_sketches",
        conn_id="spark_default",
        application=str(PROJECT_ROOT / "spark" / "build_sketches.py"),
        application_args=["--day", "{{ ds }}"],
        name="adtarget-build-sketches-{{ ds }}",
        # The job writes Cassandra with ADTARGET_CASSANDRA_*: take them from the connection.
        env_vars={
            "ADTARGET_CASSANDRA_HOSTS": "{{ conn.cassandra_default.host }}",
            "ADTARGET_CASSANDRA_PORT": "{{ conn.cassandra_default.port }}",
            "ADTARGET_CASSANDRA_KEYSPACE": "{{ conn.cassandra_default.schema }}",
        },
        # Two days of one table written at once clash in Spark's staging folder.
        max_active_tis_per_dag=1,
    )
    sensor: Any = day_in_warehouse()
    sensor >> build_sketches


segment_sketches()
