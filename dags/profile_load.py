"""Profile load: one day of the warehouse into the Cassandra profile tables.

All tables but ``segment_memberships``, which the ``segment_extraction`` DAG loads after the
day's extraction.

Daily. ``spark/load_profiles.py`` reads the day's rows per table (``sql/profiles``), writes them
grouped per user with bounded concurrency and a rate cap, and checkpoints each chunk: a retry
of a run resumes where the failed try stopped, a re-run of the day leaves the tables as they were, and a
backfill of an older day does not overwrite a newer one. Cassandra is reached through the
``cassandra_default`` connection (host, port, schema = keyspace). The rate cap is the DAG param
``rate`` (rows/s, 0 = none); with ``adaptive`` (the default) the load starts at a quarter of it
and climbs towards it only while profile reads stay as fast as before the load, halving its rate
when they slow down. The checkpoint grain is the param ``chunks``; a manual run names its
day with the param ``day`` (``force`` loads it even if a newer day is loaded). The load waits
(rescheduled, no slot held) until the day's user attributes are in the warehouse; one load
writes at a time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from adtarget.alerts import failure_mail
from adtarget.profiles.loader import DEFAULT_CHUNKS


@dag(
    dag_id="profile_load",
    # Data-interval days: the run of day D starts after D is over and works on D.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2026, 11, 1),
    catchup=False,
    # Runs may wait for their day side by side; the load task itself runs one at a time.
    max_active_runs=3,
    tags=["profiles", "cassandra"],
    params={
        "day": Param(None, type=["null", "string"], format="date", description="day to load (default: ds)"),
        "rate": Param(20_000, type="number", minimum=0, description="rows/s cap for the load, 0: none"),
        "force": Param(False, type="boolean", description="load even if a newer day is loaded"),
        "adaptive": Param(
            True,
            type="boolean",
            description="below the rate cap, back off while profile reads are slower than before the load",
        ),
        "chunks": Param(
            DEFAULT_CHUNKS,
            type="integer",
            minimum=1,
            maximum=256,
            description="checkpointed chunks per table: a retry resumes after the last one written; "
            "each costs a Spark task, so a small day loads faster in fewer",
        ),
    },
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "execution_timeout": timedelta(hours=2),
    },
    on_failure_callback=failure_mail("profile_load"),
)
def profile_load() -> None:
    @task.sensor(mode="reschedule", poke_interval=300, timeout=12 * 3600)
    def day_in_warehouse(data_interval_start: Any = None, params: dict[str, Any] | None = None) -> bool:
        from adtarget.profiles.task import day_in_warehouse, run_day

        return day_in_warehouse(run_day(params, data_interval_start))

    @task(max_active_tis_per_dag=1)
    def load(
        run_id: str | None = None, data_interval_start: Any = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        from adtarget.profiles.task import PROFILE_LOAD_TABLES, load_day_task, run_day

        params = params or {}
        day = run_day(params, data_interval_start)
        rate, force = float(params.get("rate", 0)), bool(params.get("force"))
        return load_day_task(
            day,
            run_id=run_id or "manual",
            rate=rate,
            adaptive=bool(params.get("adaptive", True)),
            force=force,
            chunks=int(params.get("chunks", DEFAULT_CHUNKS)),
            tables=PROFILE_LOAD_TABLES,
        )

    day_in_warehouse() >> load()


profile_load()
