"""Segment extraction: every registered segment's members of the day, delivered to Cassandra.

Daily, for the day that just ended (data-interval days):

    wait_for_logs -> extract -> load_memberships -> publish_stats
                  -> build_sketches ------------/

- ``wait_for_logs`` waits (rescheduled, no slot held) until the day is in the warehouse;
- ``extract`` (:class:`SegmentExtractionOperator`, ``plugins/``) runs
  ``spark/extract_segments.py``: all segments matched in one pass per log (the Aho-Corasick
  matcher over Arrow batches for keywords), memberships into ``adtarget.segment_membership``;
- ``load_memberships`` writes them to Cassandra's ``segment_memberships`` (through
  ``cassandra_default``, rate-capped by the param ``rate`` and, with ``adaptive``, backing off
  below it while profile reads slow down; members who left are removed);
- ``build_sketches`` builds the day's theta sketches for instant audience estimates, and the
  window sketches ending on it (a backfilled day also rebuilds the later windows holding it);
- ``publish_stats`` copies the per-segment counts into the registry and returns the day's
  summary (biggest movers).

Each step updates an asset, so other DAGs can be scheduled on the data rather than the clock.
Every step replaces its day: a retry, a re-run or a backfill leaves the same state.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, task
from extraction_operator import SegmentExtractionOperator

from adtarget.alerts import failure_mail
from adtarget.stack.config import PROJECT_ROOT

MEMBERSHIPS = Asset("warehouse://adtarget/segment_membership")
PROFILE_MEMBERSHIPS = Asset("cassandra://adtarget/segment_memberships")
SKETCHES = Asset("warehouse://adtarget/attribute_sketch")
STATS = Asset("warehouse://adtarget/segment_stats")


@dag(
    dag_id="segment_extraction",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    # The earliest day a backfill can name (a run before start_date has no tasks).
    start_date=datetime(2000, 1, 1),
    catchup=False,
    max_active_runs=3,
    tags=["segments", "spark", "cassandra"],
    params={
        "rate": Param(
            20_000, type="number", minimum=0, description="rows/s cap for the Cassandra load, 0: none"
        ),
        "adaptive": Param(
            True,
            type="boolean",
            description="below the rate cap, back off while profile reads are slower than before the load",
        ),
        "force": Param(
            False,
            type="boolean",
            description="load Cassandra even if a newer day is loaded there (a backfill skips it)",
        ),
    },
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "execution_timeout": timedelta(hours=3)},
    on_failure_callback=failure_mail("segment_extraction"),
)
def segment_extraction() -> None:
    @task.sensor(mode="reschedule", poke_interval=300, timeout=12 * 3600)
    def wait_for_logs(ds: str | None = None) -> bool:
        from adtarget.profiles.task import day_in_warehouse

        return day_in_warehouse(ds)

    extract = SegmentExtractionOperator(task_id="extract", day="{{ ds }}", outlets=[MEMBERSHIPS])

    @task(outlets=[PROFILE_MEMBERSHIPS], max_active_tis_per_dag=1)
    def load_memberships(
        ds: str | None = None, run_id: str | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        from adtarget.profiles.task import load_day_task

        params = params or {}
        # A backfill of an older day leaves Cassandra on the newest day unless forced.
        return load_day_task(
            ds,
            run_id=run_id or "manual",
            rate=float(params.get("rate", 0)),
            adaptive=bool(params.get("adaptive", True)),
            force=bool(params.get("force")),
            tables=["segment_memberships"],
        )

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
        outlets=[SKETCHES],
        max_active_tis_per_dag=1,
    )

    @task(outlets=[STATS])
    def publish_stats(ds: str | None = None) -> dict[str, Any]:
        from adtarget.extraction.task import publish_stats

        return publish_stats(ds)

    logs: Any = wait_for_logs()
    loaded: Any = load_memberships()
    published: Any = publish_stats()
    logs >> extract >> loaded >> published
    logs >> build_sketches >> published


segment_extraction()
